//! The operations after day one, on the same executor as deploy: suspend (the
//! Deployment to zero replicas through `/scale`, pods gone), resume (back to the
//! replicas it had, pods ready), and roll back (an earlier revision's manifests
//! deployed again, as a new run and a new revision). Each is a run with its steps and
//! records, taken as a lease like deploy, and idempotent.

use std::time::Instant;

use serde_json::{Value, json};
use tenantry_core::ClientId;
use tenantry_kube::ObjectRef;
use tenantry_store::{Catalog, EnvState, RunKind};

use crate::deploy::{DeployError, Leaves, Prepared, connect, deploying};
use crate::exec::DeployOptions;
use crate::lease;
use crate::step::{Action, RevisionEntry, Step, Until};
use tenantry_core::template::TemplateName;

/// The environment's Deployment, as its latest revision has it, and the replicas it is
/// to run with: those a suspension kept, or those rendered.
async fn deployment(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<(ObjectRef, i64), DeployError> {
    let revisions = catalog.revisions(client, ns).await?;
    let latest = revisions.last().ok_or_else(|| {
        DeployError::Refused(format!(
            "{client} has no revision in {ns}: deploy it first (`tenantry deploy {client} --namespace {ns}`)"
        ))
    })?;
    let target = latest
        .manifests
        .iter()
        .filter_map(|m| serde_json::from_value::<RevisionEntry>(m.clone()).ok())
        .find(|e| e.body["kind"] == "Deployment")
        .and_then(|e| {
            let name = e.body.pointer("/metadata/name")?.as_str()?.to_owned();
            let replicas = e
                .body
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            Some((ObjectRef::new(e.path.as_str(), name), replicas))
        })
        .ok_or_else(|| {
            DeployError::Refused(format!(
                "{client}'s environment in {ns} has no Deployment to scale"
            ))
        })?;
    Ok(match catalog.environment(client, ns).await? {
        Some(env) if env.state == EnvState::Suspended => (target.0, env.replicas),
        _ => target,
    })
}

/// A scaling: which run, to how many replicas, what it leaves, of which Deployment.
struct Scaling {
    kind: RunKind,
    replicas: i64,
    leaves: Leaves,
    target: ObjectRef,
}

/// A one-step operation: scale the environment's Deployment to `replicas` and wait
/// until it has exactly that many pods, ready.
async fn scale_operation(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    scaling: Scaling,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    let Scaling {
        kind,
        replicas,
        leaves,
        target,
    } = scaling;
    let started = Instant::now();
    let (_, cluster) = connect(catalog, ns).await?;
    let run = lease::start(catalog, client, ns, kind, opts.stale_after).await?;
    let step = Step {
        template: tenantry_core::template::TemplateName::parse("deployment")
            .map_err(|e| DeployError::Refused(e.to_string()))?,
        path: target.collection.clone(),
        target: Some(target),
        action: Action::Scale { replicas },
        until: Until::ScaledTo(replicas),
        after: Vec::new(),
    };
    Ok(Prepared {
        catalog: catalog.clone(),
        cluster,
        run: run.id,
        kind,
        client,
        namespace: ns.to_owned(),
        steps: vec![step],
        started,
        read_first: true,
        leaves,
    })
}

/// Prepares a suspend: the Deployment to zero, pods gone; the environment recorded as
/// suspended with the replicas to bring back.
pub async fn prepare_suspend(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    let (target, replicas) = deployment(catalog, client, ns).await?;
    let scaling = Scaling {
        kind: RunKind::Suspend,
        replicas: 0,
        leaves: Leaves::Suspended { replicas },
        target,
    };
    scale_operation(catalog, client, ns, scaling, opts).await
}

/// Prepares a resume: the Deployment back to the replicas it had, every pod ready.
pub async fn prepare_resume(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    let (target, replicas) = deployment(catalog, client, ns).await?;
    let scaling = Scaling {
        kind: RunKind::Resume,
        replicas,
        leaves: Leaves::Deployed { replicas },
        target,
    };
    scale_operation(catalog, client, ns, scaling, opts).await
}

/// Prepares a rollback to revision `to` (by default the one before the latest): its
/// manifests deployed again, converging as a deploy does, as a new run and revision.
/// The client's generated secrets in the catalog are not touched.
pub async fn prepare_rollback(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    to: Option<i64>,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    let started = Instant::now();
    let revisions = catalog.revisions(client, ns).await?;
    let target = match to {
        Some(n) => revisions.iter().find(|r| r.number == n).ok_or_else(|| {
            DeployError::Refused(format!(
                "{client} has no revision {n} in {ns}; `tenantry history {client} --namespace {ns}` lists them"
            ))
        })?,
        None if revisions.len() >= 2 => &revisions[revisions.len() - 2],
        None => {
            return Err(DeployError::Refused(format!(
                "{client} has no earlier revision in {ns} to roll back to"
            )));
        }
    };
    let entries: Vec<RevisionEntry> = target
        .manifests
        .iter()
        .map(|m| serde_json::from_value(m.clone()))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            DeployError::Refused(format!(
                "revision {} of {client} in {ns} was stored before rollbacks were possible; roll back to a later one",
                target.number
            ))
        })?;
    let (_, cluster) = connect(catalog, ns).await?;
    let run = lease::start(catalog, client, ns, RunKind::Rollback, opts.stale_after).await?;
    let number = target.number;
    let mut steps: Vec<Step> = entries
        .into_iter()
        .map(|e| {
            let name = e
                .body
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            // The records show what was sent again, not the values: they hold secrets.
            let shown = json!({
                "apiVersion": e.body["apiVersion"],
                "kind": e.body["kind"],
                "metadata": {"name": name, "namespace": e.body.pointer("/metadata/namespace")},
                "from": format!("revision {number}"),
            });
            Step {
                template: e.template,
                target: Some(ObjectRef::new(e.path.as_str(), name)),
                path: e.path,
                action: Action::Apply {
                    body: e.body,
                    shown,
                },
                until: e.wait.into(),
                after: e.after,
            }
        })
        .collect();
    let leaves = deploying(catalog, client, ns, &mut steps).await?;
    Ok(Prepared {
        catalog: catalog.clone(),
        cluster,
        run: run.id,
        kind: RunKind::Rollback,
        client,
        namespace: ns.to_owned(),
        steps,
        started,
        read_first: true,
        leaves,
    })
}

/// What a decommission also does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decommission {
    /// Run the teardown Jobs that drop the client's databases, once its objects are gone.
    pub drop_databases: bool,
    /// Forget the client's generated secrets in this namespace afterwards.
    pub forget_secrets: bool,
}

/// The order objects are deleted in: traffic first, then what serves it, then what it
/// reads, then the setup Jobs; whatever else last.
fn deletion_wave(kind: &str) -> usize {
    match kind {
        "Ingress" => 0,
        "Service" => 1,
        "Deployment" | "StatefulSet" | "DaemonSet" => 2,
        "ConfigMap" | "Secret" => 3,
        "Job" => 4,
        _ => 5,
    }
}

fn name_for(prefix: &str, template: &str) -> Result<TemplateName, DeployError> {
    TemplateName::parse(&format!("{prefix}{template}"))
        .or_else(|_| TemplateName::parse(template))
        .map_err(|e| DeployError::Refused(e.to_string()))
}

/// Prepares a decommission: every object of the environment that is tenantry's is
/// deleted (foreground, only the object read: its uid as precondition) in the order
/// [`deletion_wave`] gives, each waited for until it is gone; objects of the names
/// that are not tenantry's are left untouched and named. With `drop_databases`, the
/// teardown Jobs then run, and are deleted once complete.
pub async fn prepare_decommission(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    what: Decommission,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    let started = Instant::now();
    // The objects: those of the plan as it renders now, and those the latest revision
    // deployed (a template renamed since still has its object removed).
    let mut objects: Vec<(String, ObjectRef, String)> = Vec::new();
    let mut add = |template: String, path: &str, body: &Value| {
        let (Some(kind), Some(name)) = (
            body["kind"].as_str(),
            body.pointer("/metadata/name").and_then(Value::as_str),
        ) else {
            return;
        };
        let target = ObjectRef::new(path, name);
        if !objects.iter().any(|(_, o, _)| *o == target) {
            objects.push((template, target, kind.to_owned()));
        }
    };
    for r in crate::plan::render_preview(catalog, client, ns).await? {
        if let (tenantry_core::template::Method::Post, Some(body)) = (r.method, &r.body) {
            add(r.template.to_string(), &r.path, body);
        }
    }
    if let Some(latest) = catalog.revisions(client, ns).await?.last() {
        for e in latest
            .manifests
            .iter()
            .filter_map(|m| serde_json::from_value::<RevisionEntry>(m.clone()).ok())
        {
            add(e.template.to_string(), &e.path, &e.body);
        }
    }
    let teardown = if what.drop_databases {
        crate::plan::render_teardown(catalog, client, ns).await?
    } else {
        (Vec::new(), Vec::new())
    };
    if what.drop_databases && teardown.0.is_empty() {
        return Err(DeployError::Refused(format!(
            "there are no teardown templates (stage \"decommission\") to drop {client}'s databases with: restore them with `tenantry template reset-defaults`, or decommission without --drop-databases"
        )));
    }
    let (_, cluster) = connect(catalog, ns).await?;
    let run = lease::start(catalog, client, ns, RunKind::Decommission, opts.stale_after).await?;
    // Each wave waits for the one before it to be gone.
    let mut waves: std::collections::BTreeMap<usize, Vec<(String, ObjectRef)>> =
        std::collections::BTreeMap::new();
    for (template, target, kind) in objects {
        waves
            .entry(deletion_wave(&kind))
            .or_default()
            .push((template, target));
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut previous: Vec<TemplateName> = Vec::new();
    for wave in waves.into_values() {
        let mut this = Vec::new();
        for (template, target) in wave {
            let name = name_for("delete-", &template)?;
            steps.push(Step {
                template: name.clone(),
                path: target.collection.clone(),
                target: Some(target),
                action: Action::Delete,
                until: Until::Gone,
                after: previous.clone(),
            });
            this.push(name);
        }
        previous = this;
    }
    let deleted: Vec<TemplateName> = steps.iter().map(|s| s.template.clone()).collect();
    let (revealed, masked) = teardown;
    for (r, shown) in revealed.into_iter().zip(masked) {
        let Some(body) = r.body else { continue };
        let name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let target = ObjectRef::new(r.path.as_str(), name);
        steps.push(Step {
            template: r.template.clone(),
            path: r.path.clone(),
            target: Some(target.clone()),
            action: Action::Apply {
                body,
                shown: shown.body.unwrap_or(Value::Null),
            },
            until: Until::JobComplete,
            after: deleted.clone(),
        });
        // Each run of a decommission runs its teardown afresh.
        steps.push(Step {
            template: name_for("remove-", r.template.as_str())?,
            path: r.path,
            target: Some(target),
            action: Action::Delete,
            until: Until::Gone,
            after: vec![r.template],
        });
    }
    Ok(Prepared {
        catalog: catalog.clone(),
        cluster,
        run: run.id,
        kind: RunKind::Decommission,
        client,
        namespace: ns.to_owned(),
        steps,
        started,
        read_first: true,
        leaves: Leaves::Decommissioned {
            forget_secrets: what.forget_secrets,
        },
    })
}

/// An operation on a client's environment, as the CLI and the API name it.
#[derive(Debug, Clone, Copy)]
pub enum Operation {
    Deploy,
    Suspend,
    Resume,
    /// To this revision, or the one before the latest.
    Rollback(Option<i64>),
    Decommission(Decommission),
}

impl Operation {
    /// Its word in messages: `deploy`, `suspend`, …
    pub fn noun(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Rollback(_) => "rollback",
            Self::Decommission(_) => "decommission",
        }
    }
}

/// Prepares `op` on `client` in `ns`: its steps known and its run started.
pub async fn prepare_operation(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    op: Operation,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    match op {
        Operation::Deploy => crate::deploy::prepare(catalog, client, ns, opts).await,
        Operation::Suspend => prepare_suspend(catalog, client, ns, opts).await,
        Operation::Resume => prepare_resume(catalog, client, ns, opts).await,
        Operation::Rollback(to) => prepare_rollback(catalog, client, ns, to, opts).await,
        Operation::Decommission(what) => {
            prepare_decommission(catalog, client, ns, what, opts).await
        }
    }
}
