//! The pods of a client's environment as a person reads them: as a run left them (its
//! stored snapshot), or as the cluster has them now.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenantry_core::ClientId;
use tenantry_kube::{ListSpec, Op, Selector};
use tenantry_store::Catalog;

use crate::deploy::{DeployError, connect_to_read};

/// One pod as the run page shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PodState {
    pub name: String,
    pub phase: String,
    /// Ready containers of all, e.g. `1/1`.
    pub ready: String,
    pub restarts: u64,
    /// Why a container waits or ended, with the kubelet's message.
    pub reason: String,
    /// When it was created (RFC 3339): its age. Absent in snapshots stored before.
    #[serde(default)]
    pub created: Option<String>,
}

/// A pod, as a [`PodState`].
pub fn pod_state(p: &Value) -> PodState {
    let statuses: Vec<&Value> = p
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let total = p
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(statuses.len(), Vec::len);
    let ready = statuses.iter().filter(|s| s["ready"] == true).count();
    let restarts = statuses
        .iter()
        .filter_map(|s| s["restartCount"].as_u64())
        .sum();
    let reason = statuses
        .iter()
        .find_map(|s| {
            let st = s
                .pointer("/state/waiting")
                .or_else(|| s.pointer("/state/terminated"))?;
            let r = st["reason"].as_str()?;
            Some(match st["message"].as_str() {
                Some(m) if !m.is_empty() => format!("{r}: {m}"),
                _ => r.to_owned(),
            })
        })
        .unwrap_or_default();
    let s = |ptr: &str, default: &str| {
        p.pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    PodState {
        name: s("/metadata/name", ""),
        phase: s("/status/phase", "Pending"),
        ready: format!("{ready}/{total}"),
        restarts,
        reason,
        created: p
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The pods a finished run left, from its snapshot (`None` for a run still going, or
/// one stored before snapshots were kept).
pub fn pods_of_run(run: &tenantry_store::RunRecord) -> Option<Vec<PodState>> {
    serde_json::from_value(run.pods.clone()?).ok()
}

/// The pods of a client's environment in a namespace as the cluster has them now, found
/// by the selectors its plan waits on (each Job's `job-name`, each Deployment's
/// selector). Reads only: nothing is generated or stored.
pub async fn pod_states(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<Vec<PodState>, DeployError> {
    let plan = crate::plan::render_preview(catalog, client, ns).await?;
    let (namespace, cluster) = connect_to_read(catalog, ns).await?;
    let k8s_ns = namespace.k8s_namespace.as_str();
    let mut out = Vec::new();
    for body in plan.iter().filter_map(|r| r.body.as_ref()) {
        let selector: Selector = match body["kind"].as_str() {
            Some("Job") => [(
                "job-name".to_owned(),
                body.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )]
            .into_iter()
            .collect(),
            Some("Deployment") => crate::exec::match_labels(body).into_iter().collect(),
            _ => continue,
        };
        if selector.selects_all() {
            continue;
        }
        let list = ListSpec::new(format!("api/v1/namespaces/{k8s_ns}/pods")).labels(selector);
        let answer = cluster.call(Op::List(&list)).await?;
        out.extend(
            answer["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(pod_state),
        );
    }
    Ok(out)
}
