//! The deploy operation: a client's rendered plan as typed steps for the executor; on
//! success the rendered manifests become the environment's next revision. Nothing is
//! sent unless the whole plan renders; the run is a lease taken before the first
//! request; the verdict is stored even through a short catalog outage, and said when it
//! could not be.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use tenantry_core::ClientId;
use tenantry_core::template::{Method, TemplateName};
use tenantry_kube::{Cluster, KubeError, ObjectRef};
use tenantry_store::{Catalog, EnvState, Finish, RunEnd, RunKind, RunObject, Settled, StoreError};

use crate::exec::{DeployOptions, Executed, Execution};
use crate::lease;
use crate::plan::{PlanError, PlannedRequest, render_plans};
use crate::pods::pod_state;
use crate::record::with_retries;
use crate::step::{Action, RevisionEntry, Step, StepReport, Until, Verdict};

pub use tenantry_core::drift::CONFIG_HASH;

/// How an operation ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub run: i64,
    pub kind: RunKind,
    pub client: ClientId,
    pub namespace: String,
    pub status: Verdict,
    pub reason: Option<String>,
    pub elapsed_ms: u64,
    pub requests: i64,
    pub steps: Vec<StepReport>,
    /// The revision a successful deploy stored.
    pub revision: Option<i64>,
    /// Why the verdict could not be stored in the catalog, when it could not: the
    /// cluster's verdict above still holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The operation does not apply to the environment as it is; the text says why.
    #[error("{0}")]
    Refused(String),
}

/// Deploys `client` to namespace `ns`; `progress` hears of every step change.
pub async fn deploy(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    opts: &DeployOptions,
    progress: &(dyn Fn(&StepReport) + Send + Sync),
) -> Result<Outcome, DeployError> {
    prepare(catalog, client, ns, opts)
        .await?
        .execute(opts, progress)
        .await
}

/// The catalog's namespace target and a client of its cluster.
pub(crate) async fn connect(
    catalog: &Catalog,
    ns: &str,
) -> Result<(tenantry_store::Namespace, Cluster), DeployError> {
    let namespace = catalog.namespace(ns).await?;
    let cluster = Cluster::connect(
        &namespace.api_root_url,
        &namespace.token,
        namespace.ca_bundle.as_ref(),
    )?;
    Ok((namespace, cluster))
}

/// The same, for reads a person waits on (a page, `status`, a preview): a cluster that
/// does not answer is said within seconds, not after the minute a deploy's retries take.
pub(crate) async fn connect_to_read(
    catalog: &Catalog,
    ns: &str,
) -> Result<(tenantry_store::Namespace, Cluster), DeployError> {
    let (namespace, mut cluster) = connect(catalog, ns).await?;
    cluster.retry = tenantry_kube::RetryPolicy {
        max_retries: 2,
        budget: std::time::Duration::from_secs(5),
    };
    Ok((namespace, cluster))
}

/// An operation whose steps are known and whose run has started, before anything is
/// sent. Splitting here lets a server answer "run N started" (or why it could not
/// start) at once and carry on in the background.
#[derive(Debug)]
pub struct Prepared {
    pub(crate) catalog: Catalog,
    pub(crate) cluster: Cluster,
    pub(crate) run: i64,
    pub(crate) kind: RunKind,
    pub(crate) client: ClientId,
    pub(crate) namespace: String,
    pub(crate) steps: Vec<Step>,
    pub(crate) started: Instant,
    pub(crate) read_first: bool,
    /// What a success leaves the environment as.
    pub(crate) leaves: Leaves,
}

/// What a successful operation records of the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaves {
    /// Deployed with these replicas; the applied objects become the next revision.
    Deployed { replicas: i64 },
    /// Suspended, to come back with these replicas.
    Suspended { replicas: i64 },
    /// Deployed while suspended: it stays at zero, to come back with the replicas now
    /// rendered; the objects are a revision as rendered.
    StillSuspended { replicas: i64 },
    /// Its objects gone; its generated secrets forgotten too if asked.
    Decommissioned { forget_secrets: bool },
}

/// Renders the plan (nothing is sent unless all of it renders), connects, and starts the
/// run — taking over an abandoned one (its process gone, or unheard for
/// `opts.stale_after`), which marks that one interrupted.
pub async fn prepare(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    opts: &DeployOptions,
) -> Result<Prepared, DeployError> {
    let started = Instant::now();
    let (plan, masked) = render_plans(catalog, client, ns).await?;
    let (_, cluster) = connect(catalog, ns).await?;
    let read_first = catalog
        .latest_runs(&[client])
        .await?
        .iter()
        .any(|r| r.namespace == ns);
    let run = lease::start(catalog, client, ns, RunKind::Deploy, opts.stale_after).await?;
    let mut steps = steps_of(with_config_hash(plan), masked);
    let leaves = deploying(catalog, client, ns, &mut steps).await?;
    Ok(Prepared {
        catalog: catalog.clone(),
        cluster,
        run: run.id,
        kind: RunKind::Deploy,
        client,
        namespace: ns.to_owned(),
        steps,
        started,
        read_first,
        leaves,
    })
}

/// What deploying `steps` leaves: a suspended environment stays at zero (its steps
/// changed so), any other is deployed with the replicas rendered.
pub(crate) async fn deploying(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    steps: &mut [Step],
) -> Result<Leaves, DeployError> {
    let replicas = replicas_of(steps);
    Ok(match catalog.environment(client, ns).await? {
        Some(env) if env.state == EnvState::Suspended => {
            keep_suspended(steps);
            Leaves::StillSuspended { replicas }
        }
        _ => Leaves::Deployed { replicas },
    })
}

/// The replicas the environment's Deployment asks for (1 when it does not say).
fn replicas_of(steps: &[Step]) -> i64 {
    steps
        .iter()
        .find_map(|s| match &s.action {
            Action::Apply { body, .. } if body["kind"] == "Deployment" => Some(
                body.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
            ),
            _ => None,
        })
        .unwrap_or(1)
}

/// A suspended environment deployed again stays at zero replicas: the Deployment is
/// applied with none and waited for until it has none, and no pods are awaited.
fn keep_suspended(steps: &mut [Step]) {
    for s in steps {
        match &mut s.action {
            Action::Apply { body, shown } if body["kind"] == "Deployment" => {
                body["spec"]["replicas"] = json!(0);
                shown["spec"]["replicas"] = json!(0);
                s.until = Until::ScaledTo(0);
            }
            _ if s.until == Until::PodsReady => s.until = Until::Nothing,
            _ => {}
        }
    }
}

/// The plan's requests as steps: a POST with a body applies its object; a GET reads; any
/// other request is sent as written.
fn steps_of(plan: Vec<PlannedRequest>, masked: Vec<PlannedRequest>) -> Vec<Step> {
    let mut shown: BTreeMap<TemplateName, Option<Value>> =
        masked.into_iter().map(|r| (r.template, r.body)).collect();
    plan.into_iter()
        .map(|r| {
            let shown = shown.remove(&r.template).flatten();
            let action = match (r.method, r.body) {
                (Method::Post, Some(body)) => Action::Apply {
                    shown: shown.unwrap_or(Value::Null),
                    body,
                },
                (Method::Get, _) => Action::Read,
                (method, body) => Action::Send {
                    method,
                    body,
                    shown,
                },
            };
            let target = match &action {
                Action::Apply { body, .. } => body
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(|n| ObjectRef::new(r.path.as_str(), n)),
                _ => None,
            };
            Step {
                template: r.template,
                path: r.path,
                target,
                action,
                until: r.wait.into(),
                after: r.after,
            }
        })
        .collect()
}

/// Adds to the Deployment's pod template the hash of the ConfigMap and Secret it reads.
pub(crate) fn with_config_hash(mut plan: Vec<PlannedRequest>) -> Vec<PlannedRequest> {
    let config_hash =
        tenantry_core::drift::config_hash(plan.iter().filter_map(|r| r.body.as_ref()));
    for body in plan.iter_mut().filter_map(|r| r.body.as_mut()) {
        if body["kind"] == "Deployment" {
            body["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH] = json!(config_hash);
        }
    }
    plan
}

/// The image the environment's Deployment runs (its first container's).
fn image_of(steps: &[Step]) -> String {
    steps
        .iter()
        .find_map(|s| match &s.action {
            Action::Apply { body, .. } if body["kind"] == "Deployment" => body
                .pointer("/spec/template/spec/containers/0/image")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        })
        .unwrap_or_default()
}

impl Prepared {
    pub fn run_id(&self) -> i64 {
        self.run
    }

    /// Sends the steps wave by wave, waits, and finishes the run with its verdict and,
    /// on success, what it leaves: the next revision, the environment's state.
    pub async fn execute(
        self,
        opts: &DeployOptions,
        progress: &(dyn Fn(&StepReport) + Send + Sync),
    ) -> Result<Outcome, DeployError> {
        // Without the secrets to mask (the catalog does not answer), nothing is masked
        // beyond what rendering masked already; the run goes on.
        let redactor = crate::plan::redactor(&self.catalog, self.client, &self.namespace)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read the secrets to mask in run {}: {e}", self.run);
                tenantry_core::Redactor::default()
            });
        let mut executed = Execution {
            catalog: &self.catalog,
            cluster: &self.cluster,
            run: self.run,
            client: self.client,
            steps: &self.steps,
            read_first: self.read_first,
            redactor: redactor.clone(),
        }
        .run(opts, progress)
        .await;
        executed.failure = executed.failure.map(|f| redactor.text(&f));
        for s in &mut executed.steps {
            s.detail = redactor.text(&s.detail);
        }
        let mut entries = RevisionEntry::of_steps(&self.steps);
        if let Leaves::StillSuspended { replicas } = self.leaves {
            // The revision holds what was rendered, not the suspension's zero.
            for e in &mut entries {
                if e["body"]["kind"] == "Deployment" {
                    e["body"]["spec"]["replicas"] = json!(replicas);
                }
            }
        }
        let image = image_of(&self.steps);
        // An operation that deployed objects (a deploy, a rollback) makes a revision of
        // them; one that scaled or removed them does not.
        let deploys = matches!(
            self.leaves,
            Leaves::Deployed { .. } | Leaves::StillSuspended { .. }
        );
        let revision =
            (deploys && !entries.is_empty()).then_some((image.as_str(), entries.as_slice()));
        let state = match self.leaves {
            Leaves::Deployed { replicas } => Some((EnvState::Deployed, replicas)),
            Leaves::Suspended { replicas } | Leaves::StillSuspended { replicas } => {
                Some((EnvState::Suspended, replicas))
            }
            Leaves::Decommissioned { .. } => Some((EnvState::Decommissioned, 0)),
        };
        let mut outcome = finish(
            &self.catalog,
            Finished {
                run: self.run,
                kind: self.kind,
                client: self.client,
                namespace: &self.namespace,
                started: self.started,
                executed,
                revision,
                state,
            },
            opts,
        )
        .await;
        if let Leaves::Decommissioned {
            forget_secrets: true,
        } = self.leaves
            && outcome.status == Verdict::Succeeded
        {
            let ns = tenantry_core::NamespaceName::parse(&self.namespace)
                .map_err(|e| DeployError::Refused(e.to_string()))?;
            if let Err(e) = self.catalog.forget_client_secrets(self.client, &ns).await {
                outcome.unrecorded =
                    Some(format!("the generated secrets could not be forgotten: {e}"));
            }
        }
        Ok(outcome)
    }
}

/// An operation's run, done in the cluster, to be stored.
pub(crate) struct Finished<'a> {
    pub(crate) run: i64,
    pub(crate) kind: RunKind,
    pub(crate) client: ClientId,
    pub(crate) namespace: &'a str,
    pub(crate) started: Instant,
    pub(crate) executed: Executed,
    /// On success, the image and manifests to store as the next revision.
    pub(crate) revision: Option<(&'a str, &'a [Value])>,
    /// On success, the environment's state and replicas.
    pub(crate) state: Option<(EnvState, i64)>,
}

/// Stores the run's end (and, on success, its revision), retrying while the catalog is
/// away, within `opts.finish_budget`; the outcome says if it could not.
pub(crate) async fn finish(catalog: &Catalog, f: Finished<'_>, opts: &DeployOptions) -> Outcome {
    let Executed {
        failure,
        steps,
        requests,
        touched,
        pods,
    } = f.executed;
    let report = serde_json::to_value(&steps).unwrap_or(Value::Null);
    let objects: Vec<RunObject> = touched
        .into_iter()
        .map(|t| RunObject {
            kind: t.kind,
            namespace: t.namespace,
            name: t.name,
            uid: t.uid,
            resource_version: t.resource_version,
            action: t.action.to_owned(),
        })
        .collect();
    let pods: Vec<_> = pods.values().map(pod_state).collect();
    let pods = serde_json::to_value(pods).unwrap_or(Value::Null);
    let succeeded = failure.is_none();
    let mut unrecorded = None;
    let end = RunEnd {
        succeeded,
        reason: failure.as_deref(),
        report: &report,
        objects: &objects,
        pods: &pods,
        // A revision is what a run that still owned its lease deployed; stored with
        // its verdict.
        settled: f.state.map(|(state, replicas)| Settled {
            client: f.client,
            namespace: f.namespace,
            state,
            replicas,
            revision: f.revision,
        }),
    };
    let mut revision = None;
    let owned = match with_retries(opts.finish_budget, || catalog.finish_run(f.run, &end)).await {
        Ok(Finish::Stored { revision: r }) => {
            revision = r;
            true
        }
        Ok(Finish::NotOwned) => false,
        Err(e) => {
            unrecorded = Some(format!(
                "the catalog could not store the verdict of run {} within {:.0?}: {e}",
                f.run, opts.finish_budget
            ));
            false
        }
    };
    if !succeeded && owned {
        let data = json!({
            "run": f.run,
            "kind": f.kind.as_str(),
            "client": f.client.to_string(),
            "namespace": f.namespace,
            "reason": failure,
        });
        if let Err(e) = catalog
            .notify(tenantry_core::webhook::Event::RunFailed, &data)
            .await
        {
            tracing::warn!("cannot queue the run.failed webhooks of run {}: {e}", f.run);
        }
    }
    Outcome {
        run: f.run,
        kind: f.kind,
        client: f.client,
        namespace: f.namespace.to_owned(),
        status: if succeeded {
            Verdict::Succeeded
        } else {
            Verdict::Failed
        },
        reason: failure,
        elapsed_ms: u64::try_from(f.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        requests,
        steps,
        revision,
        unrecorded,
    }
}
