//! What an environment's page shows besides health and drift, read when it is shown:
//! the Kubernetes Events of its objects and pods, and the tail of each pod's log.

use serde::Serialize;
use serde_json::Value;
use tenantry_core::Redactor;
use tenantry_kube::{ListSpec, ObjectRef, Op};
use tenantry_store::Catalog;

use crate::deploy::{DeployError, connect_to_read};

/// One Event, as a timeline shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    /// The last time it happened (RFC 3339), or when it was first seen.
    pub at: String,
    /// `Normal` or `Warning`.
    pub kind: String,
    /// `Pod/lms-deployment-c1-…`.
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: i64,
}

fn event_line(e: &Value) -> EventLine {
    let s = |p: &str| {
        e.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let at = [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| s(p))
    .find(|t| !t.is_empty())
    .unwrap_or_default();
    EventLine {
        at,
        kind: s("/type"),
        object: format!(
            "{}/{}",
            s("/involvedObject/kind"),
            s("/involvedObject/name")
        ),
        reason: s("/reason"),
        message: s("/message"),
        count: e.pointer("/count").and_then(Value::as_i64).unwrap_or(1),
    }
}

/// The Events of the named objects (`names`: object names in the namespace), newest
/// first, at most `limit`; messages masked.
pub async fn events_of(
    catalog: &Catalog,
    ns: &str,
    names: &[String],
    redactor: &Redactor,
    limit: usize,
) -> Result<Vec<EventLine>, DeployError> {
    let (namespace, cluster) = connect_to_read(catalog, ns).await?;
    let k8s_ns = namespace.k8s_namespace.as_str();
    let calls = names.iter().map(|n| {
        let list = ListSpec::new(format!("api/v1/namespaces/{k8s_ns}/events"))
            .fields(format!("involvedObject.name={n}"));
        let cluster = &cluster;
        async move { cluster.call(Op::List(&list)).await }
    });
    let mut out = Vec::new();
    for answer in futures_util::future::join_all(calls).await {
        let answer = answer?;
        out.extend(
            answer["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(event_line),
        );
    }
    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.object.cmp(&b.object)));
    out.truncate(limit);
    for e in &mut out {
        e.message = redactor.text(&e.message);
    }
    Ok(out)
}

/// The end of one pod's log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct LogTail {
    pub pod: String,
    /// The log's last lines (of the instance before, when the current one has written
    /// nothing yet), masked; or why it could not be read.
    pub text: String,
    pub readable: bool,
}

/// The last `lines` lines of each pod's log, masked.
pub async fn log_tails(
    catalog: &Catalog,
    ns: &str,
    pods: &[String],
    lines: u32,
    redactor: &Redactor,
) -> Result<Vec<LogTail>, DeployError> {
    let (namespace, cluster) = connect_to_read(catalog, ns).await?;
    let k8s_ns = namespace.k8s_namespace.as_str();
    let calls = pods.iter().map(|p| {
        let cluster = &cluster;
        let pod = ObjectRef::new(format!("api/v1/namespaces/{k8s_ns}/pods"), p.clone());
        async move {
            let r = cluster.pod_log_tail(&pod, lines).await;
            let (text, readable) = match r {
                Ok(t) => (t, true),
                Err(e) => (e.to_string(), false),
            };
            LogTail {
                pod: p.clone(),
                text: redactor.text(&text),
                readable,
            }
        }
    });
    Ok(futures_util::future::join_all(calls).await)
}
