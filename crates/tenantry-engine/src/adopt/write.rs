//! What adopting one environment writes, in this order: the client and its generated
//! values into the catalog (sealed, before anything uses them); a run of kind adopt
//! under the client's lease; tenantry's labels on each object (a merge patch with the
//! resource version read, so an object changed meanwhile is refused, not overwritten);
//! on success the environment's state and revision 0, the objects as they now are.
//! Run again after a crash, it picks up where it stopped: every write is idempotent.

use std::time::Instant;

use serde_json::{Value, json};
use tenantry_core::adopt::{Found, Shape, as_recorded, is_ours, ownership_patch};
use tenantry_core::default_templates::{CLIENT_LABEL, MANAGED_BY};
use tenantry_core::drift::{ADOPTED_CONFIG_HASH, config_hash};
use tenantry_core::template::Method;
use tenantry_core::{ClientId, NamespaceName, OrgName, Redactor};
use tenantry_kube::Cluster;
use tenantry_store::{Catalog, EnvState, RunKind, StoreError};

use super::{AdoptStatus, Surveyed, Why};
use crate::deploy::{Finished, finish};
use crate::exec::{DeployOptions, Execution};
use crate::lease;
use crate::step::{Action, RevisionEntry, Step, Until, Verdict};

/// The config hash of the live ConfigMaps and Secrets, in the plan's order: what the
/// running pods were started with, as a deploy would hash it.
pub(crate) fn live_config_hash(found: &Found, plan: &[crate::plan::PlannedRequest]) -> String {
    config_hash(
        plan.iter()
            .filter_map(|r| found.objects.get(r.template.as_str())),
    )
}

/// `live` as the ownership patch leaves it.
pub(crate) fn as_owned(live: &Value, client: ClientId, hash: Option<&str>) -> Value {
    let mut o = live.clone();
    o["metadata"]["labels"][MANAGED_BY.0] = json!(MANAGED_BY.1);
    o["metadata"]["labels"][CLIENT_LABEL] = json!(client.to_string());
    if let Some(h) = hash {
        o["metadata"]["annotations"][ADOPTED_CONFIG_HASH] = json!(h);
    }
    o
}

/// Adopts one surveyed environment; its report says how it went.
pub(crate) async fn adopt_one(
    catalog: &Catalog,
    cluster: &Cluster,
    ns: &str,
    shapes: &[Shape],
    s: &mut Surveyed,
    opts: &DeployOptions,
) {
    let id = s.report.client;
    if let Err((why, text)) = write(catalog, cluster, ns, shapes, s, opts).await {
        s.report.status = AdoptStatus::Failed;
        s.report.reason = Some(text);
        s.report.why = Some(why);
    }
    tracing::info!(client = %id, namespace = ns, status = ?s.report.status, "adoption");
}

/// A failure, typed and in English.
type Failure = (Why, String);

fn failed(text: impl ToString) -> Failure {
    let text = text.to_string();
    (Why::Failed(text.clone()), text)
}

async fn write(
    catalog: &Catalog,
    cluster: &Cluster,
    ns: &str,
    shapes: &[Shape],
    s: &mut Surveyed,
    opts: &DeployOptions,
) -> Result<(), Failure> {
    let started = Instant::now();
    let id = s.report.client;
    let namespace = NamespaceName::parse(ns).map_err(failed)?;
    let org = OrgName::parse(&s.report.organisation).map_err(failed)?;
    catalog.adopt_client(id, &org).await.map_err(failed)?;
    catalog
        .adopt_client_secrets(id, &namespace, &s.values)
        .await
        .map_err(|e| match &e {
            StoreError::SecretsDiffer { names, .. } => {
                (Why::SecretsDiffer(names.clone()), e.to_string())
            }
            _ => failed(e),
        })?;
    let run = lease::start(catalog, id, ns, RunKind::Adopt, opts.stale_after)
        .await
        .map_err(failed)?;
    s.report.run = Some(run.id);

    let hash = live_config_hash(&s.found, &s.plan);
    let mut steps = Vec::new();
    let mut entries = Vec::new();
    let mut image = String::new();
    let mut replicas = None;
    for r in &s.plan {
        let Some(live) = s.found.objects.get(r.template.as_str()) else {
            continue;
        };
        let Some(shape) = shapes.iter().find(|x| x.template == r.template.as_str()) else {
            continue;
        };
        let deployment = shape.kind == "Deployment";
        let h = deployment.then_some(hash.as_str());
        let name = live
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if deployment {
            image = live
                .pointer("/spec/template/spec/containers/0/image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            replicas = Some(
                live.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
            );
        }
        let adopted_hash = live
            .pointer(&format!(
                "/metadata/annotations/{}",
                ADOPTED_CONFIG_HASH.replace('/', "~1")
            ))
            .and_then(Value::as_str);
        if !is_ours(live, id) || (deployment && adopted_hash != h) {
            let patch = ownership_patch(live, id, h);
            steps.push(Step {
                template: r.template.clone(),
                path: format!("{}/{name}", r.path),
                target: None,
                action: Action::Send {
                    method: Method::Patch,
                    body: Some(patch.clone()),
                    shown: Some(patch),
                },
                until: Until::Nothing,
                after: Vec::new(),
            });
        }
        let entry = RevisionEntry {
            template: r.template.clone(),
            path: r.path.clone(),
            wait: r.wait,
            after: r.after.clone(),
            body: as_recorded(shape, live, id, h),
        };
        entries.push(serde_json::to_value(entry).map_err(failed)?);
    }
    let redactor = Redactor::new(&s.values.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>());
    let executed = Execution {
        catalog,
        cluster,
        run: run.id,
        client: id,
        steps: &steps,
        read_first: false,
        redactor,
    }
    .run(opts, &|_| {})
    .await;
    let rendered = s
        .plan
        .iter()
        .filter_map(|r| r.body.as_ref())
        .find(|b| b["kind"] == "Deployment")
        .and_then(|b| b.pointer("/spec/replicas"))
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let state = match replicas {
        Some(0) => (EnvState::Suspended, rendered),
        Some(n) => (EnvState::Deployed, n),
        None => (EnvState::Deployed, rendered),
    };
    let outcome = finish(
        catalog,
        Finished {
            run: run.id,
            kind: RunKind::Adopt,
            client: id,
            namespace: ns,
            started,
            executed,
            revision: None,
            state: Some(state),
        },
        opts,
    )
    .await;
    if outcome.status != Verdict::Succeeded {
        return Err(failed(
            outcome
                .reason
                .unwrap_or_else(|| "the labels could not be set".into()),
        ));
    }
    if let Some(why) = outcome.unrecorded {
        return Err(failed(why));
    }
    let revision = catalog
        .add_adopted_revision(id, ns, run.id, &image, &entries)
        .await
        .map_err(failed)?;
    s.report.revision = Some(revision);
    s.report.status = AdoptStatus::Adopted;
    Ok(())
}
