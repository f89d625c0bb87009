//! Deploying a client environment: the plan's steps in waves (a wave's steps at once),
//! each applied idempotently (created, or brought to the rendered state, never touching
//! what tenantry does not own), then waited for by the health rules; the run and every
//! request are recorded; the outcome names what failed, where and why.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use tenantry_core::ClientId;
use tenantry_core::default_templates::{CLIENT_LABEL, MANAGED_BY};
use tenantry_core::health::{
    Failure, Health, PodRules, deployment_health, fatal_event, is_creating, job_health,
    object_name, pod_health,
};
use tenantry_core::template::{Method, TemplateName, WaitFor};
use tenantry_kube::{Cluster, KubeError};
use tenantry_store::{Catalog, StoreError};
use tokio::sync::Mutex;

use crate::plan::{PlanError, PlannedRequest, render_plans};

/// An annotation with the hash of what tenantry rendered, to tell "unchanged" from
/// "changed" without comparing against server defaults.
pub const SPEC_HASH: &str = "tenantry.io/spec-hash";
/// On the pod template: the hash of the env vars and secrets the pods read, so that a
/// change to them rolls the pods (Kubernetes does not restart pods on a ConfigMap change).
pub const CONFIG_HASH: &str = "tenantry.io/config-hash";

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The whole deploy's deadline.
    pub timeout: Duration,
    /// How often a step that waits looks again.
    pub poll: Duration,
    pub rules: PodRules,
    /// How often a running deploy says it is alive.
    pub heartbeat: Duration,
    /// How long a run's owner may go unheard before another process takes the run over
    /// (on this host, a run whose process is gone is taken over at once).
    pub stale_after: Duration,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            poll: Duration::from_millis(500),
            rules: PodRules::default(),
            heartbeat: Duration::from_secs(5),
            stale_after: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub template: TemplateName,
    pub status: StepStatus,
    /// What happened: "created, Job complete", or the failure.
    pub detail: String,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub run: i64,
    pub client: ClientId,
    pub namespace: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    pub elapsed_ms: u64,
    pub requests: i64,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kube(#[from] KubeError),
}

fn hash(v: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What this process is called in the runs table: host and pid.
fn owner() -> String {
    format!("{}:{}", owner_host(), std::process::id())
}

/// Why a running run is abandoned, if it is: its process on this host is gone, or its
/// owner has not been heard from for longer than `stale_after`.
fn abandoned(run: &tenantry_store::RunRecord, stale_after: Duration) -> Option<String> {
    let owner = &run.owner;
    let me = owner_host();
    if let Some((host, pid)) = owner.rsplit_once(':')
        && host == me
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
    {
        return Some(format!("its process ({owner}) is gone"));
    }
    match run.heartbeat_age() {
        Some(age) if age > stale_after => Some(format!(
            "its process ({owner}) was last heard from {}s ago",
            age.as_secs()
        )),
        _ => None,
    }
}

fn owner_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// What the run's writer task stores, in order, off the deploy's critical path.
enum Write {
    Request {
        seq: i64,
        method: String,
        path: String,
        status: i64,
        duration_ms: i64,
        excerpt: String,
    },
    Report(Value),
}

/// Stores the run's request records and step reports as they come; ends when every
/// sender is gone and all is written.
fn writer(
    catalog: Catalog,
    run: i64,
) -> (
    tokio::sync::mpsc::UnboundedSender<Write>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
    let task = tokio::spawn(async move {
        while let Some(w) = rx.recv().await {
            let result = match w {
                Write::Request {
                    seq,
                    method,
                    path,
                    status,
                    duration_ms,
                    excerpt,
                } => {
                    let record = tenantry_store::NewRequest {
                        seq,
                        method: &method,
                        path: &path,
                        status,
                        duration_ms,
                        excerpt: &excerpt,
                    };
                    catalog.record_request(run, &record).await
                }
                Write::Report(report) => catalog.save_run_report(run, &report).await,
            };
            if let Err(e) = result {
                tracing::warn!("cannot record the progress of run {run}: {e}");
            }
        }
    });
    (tx, task)
}

struct Ctx<'a> {
    writes: tokio::sync::mpsc::UnboundedSender<Write>,
    cluster: Cluster,
    seq: AtomicI64,
    client: ClientId,
    opts: &'a DeployOptions,
    /// Masked bodies by template, for the request records.
    masked: BTreeMap<TemplateName, Option<Value>>,
    /// Pods whose Events were read while they were being created: each is read once.
    peeked: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// An earlier run deployed this client to this namespace: its objects are read
    /// before they are created.
    deployed_before: bool,
}

impl Ctx<'_> {
    /// Sends a request and records each attempt (method, path, status, time, masked
    /// excerpt; a retried failure says when it was tried again).
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        masked: Option<&Value>,
    ) -> Result<Value, KubeError> {
        let masked = masked.map(ToString::to_string).unwrap_or_default();
        self.cluster
            .send_observed(method, path, body, &mut |a: tenantry_kube::Attempt<'_>| {
                let (status, excerpt) = match a.result {
                    Ok(_) if method == "POST" => (201, masked.clone()),
                    Ok(_) => (200, masked.clone()),
                    Err(e) => (
                        i64::from(e.code().unwrap_or(0)),
                        match a.retry_in {
                            Some(wait) => format!("{e}; tried again after {wait:.1?}"),
                            None => e.to_string(),
                        },
                    ),
                };
                self.record(method, path, status, a.took, excerpt);
            })
            .await
    }

    /// Records a request the run sent.
    fn record(&self, method: &str, path: &str, status: i64, took: Duration, mut excerpt: String) {
        excerpt.truncate(
            excerpt
                .char_indices()
                .nth(300)
                .map_or(excerpt.len(), |(i, _)| i),
        );
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
        let _ = self.writes.send(Write::Request {
            seq,
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            duration_ms: ms,
            excerpt,
        });
    }
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
async fn connect(
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

/// A deploy whose plan has rendered and whose run has started, before anything is sent.
/// Splitting here lets a server answer "run N started" (or why it could not start) at
/// once and carry on in the background.
#[derive(Debug)]
pub struct Prepared {
    catalog: Catalog,
    cluster: Cluster,
    run: i64,
    client: ClientId,
    namespace: String,
    plan: Vec<PlannedRequest>,
    masked: BTreeMap<TemplateName, Option<Value>>,
    started: Instant,
    deployed_before: bool,
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
    let (plan, masked_plan) = render_plans(catalog, client, ns).await?;
    let (_, cluster) = connect(catalog, ns).await?;
    let deployed_before = catalog
        .latest_runs(&[client])
        .await?
        .iter()
        .any(|r| r.namespace == ns);
    let run = match catalog.start_run(client, ns, &owner()).await {
        Ok(r) => r,
        Err(StoreError::RunActive {
            client,
            namespace,
            run,
            started_at,
            owner,
        }) => {
            let why = abandoned(&catalog.run(run).await?, opts.stale_after);
            let Some(why) = why else {
                return Err(StoreError::RunActive {
                    client,
                    namespace,
                    run,
                    started_at,
                    owner,
                }
                .into());
            };
            catalog
                .interrupt_run(run, &format!("{why}; resumed by a new run"))
                .await?;
            catalog.start_run(client, ns, &self::owner()).await?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Prepared {
        catalog: catalog.clone(),
        cluster,
        run: run.id,
        client,
        namespace: ns.to_owned(),
        plan: with_hashes(plan),
        masked: masked_plan
            .into_iter()
            .map(|r| (r.template, r.body))
            .collect(),
        started,
        deployed_before,
    })
}

/// Runs left `running` by a process that is gone (a crash, a kill -9; on another host,
/// unheard for `stale_after`): what a restarted server resumes.
pub async fn orphaned_runs(
    catalog: &Catalog,
    stale_after: Duration,
) -> Result<Vec<tenantry_store::RunRecord>, StoreError> {
    let mut runs = catalog.running_runs().await?;
    runs.retain(|r| abandoned(r, stale_after).is_some());
    Ok(runs)
}

impl Prepared {
    pub fn run_id(&self) -> i64 {
        self.run
    }

    /// Sends the plan wave by wave, waits, and finishes the run with its verdict.
    pub async fn execute(
        self,
        opts: &DeployOptions,
        progress: &(dyn Fn(&StepReport) + Send + Sync),
    ) -> Result<Outcome, DeployError> {
        let Self {
            catalog,
            cluster,
            run,
            client,
            namespace: ns,
            plan,
            masked,
            started,
            deployed_before,
        } = self;
        let catalog = &catalog;
        let (writes, written) = writer(catalog.clone(), run);
        let ctx = Ctx {
            writes,
            cluster,
            seq: AtomicI64::new(0),
            client,
            opts,
            masked,
            peeked: std::sync::Mutex::default(),
            deployed_before,
        };
        let steps: Arc<Mutex<Vec<StepReport>>> = Arc::new(Mutex::new(
            plan.iter()
                .map(|r| StepReport {
                    template: r.template.clone(),
                    status: StepStatus::Pending,
                    detail: String::new(),
                    elapsed_ms: 0,
                })
                .collect(),
        ));
        let initial = serde_json::to_value(&*steps.lock().await).unwrap_or(Value::Null);
        catalog.save_run_report(run, &initial).await?;
        // Says the run is alive; ends when another process has taken the run over.
        let mut heartbeat = {
            let catalog = catalog.clone();
            let every = opts.heartbeat;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Ok(false) = catalog.heartbeat_run(run).await {
                        return;
                    }
                }
            })
        };
        let work = tokio::time::timeout(opts.timeout, run_waves(&ctx, &plan, &steps, progress));
        let ended = tokio::select! {
            ended = work => Some(ended),
            _ = &mut heartbeat => None,
        };
        let failure = match ended {
            None => Some(
                "stopped: another process took this run over (it was not heard from in time)"
                    .to_owned(),
            ),
            Some(Ok(f)) => f,
            Some(Err(_)) => {
                let pending: Vec<String> = steps
                    .lock()
                    .await
                    .iter()
                    .filter(|s| matches!(s.status, StepStatus::Pending | StepStatus::Running))
                    .map(|s| {
                        if s.detail.is_empty() {
                            s.template.to_string()
                        } else {
                            format!("{} ({})", s.template, s.detail)
                        }
                    })
                    .collect();
                Some(format!(
                    "timed out after {:.0?}; still pending: {}",
                    opts.timeout,
                    pending.join(", ")
                ))
            }
        };
        heartbeat.abort();
        let requests = ctx.seq.load(Ordering::Relaxed);
        drop(ctx);
        // Every record is stored before the run is finished.
        let _ = written.await;
        let steps = steps.lock().await.clone();
        let report = serde_json::to_value(&steps).unwrap_or(Value::Null);
        catalog
            .finish_run(run, failure.is_none(), failure.as_deref(), &report)
            .await?;
        Ok(Outcome {
            run,
            client,
            namespace: ns,
            status: if failure.is_none() {
                "succeeded".into()
            } else {
                "failed".into()
            },
            reason: failure,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            requests,
            steps,
        })
    }
}

/// Adds the spec hash to every object, and to the Deployment's pod template the hash of
/// the ConfigMap and Secret it reads.
fn with_hashes(mut plan: Vec<PlannedRequest>) -> Vec<PlannedRequest> {
    let config: String = plan
        .iter()
        .filter_map(|r| r.body.as_ref())
        .filter(|b| matches!(b["kind"].as_str(), Some("ConfigMap" | "Secret")))
        .map(|b| b["data"].to_string())
        .collect();
    let config_hash = hash(&config);
    for r in &mut plan {
        let Some(body) = r.body.as_mut() else {
            continue;
        };
        if body["kind"] == "Deployment" {
            body["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH] = json!(config_hash);
        }
        let h = hash(&body.to_string());
        body["metadata"]["annotations"][SPEC_HASH] = json!(h);
    }
    plan
}

async fn set_step(
    ctx: &Ctx<'_>,
    steps: &Mutex<Vec<StepReport>>,
    t: &TemplateName,
    status: StepStatus,
    detail: String,
    since: Instant,
    progress: &(dyn Fn(&StepReport) + Send + Sync),
) {
    let snapshot = {
        let mut all = steps.lock().await;
        let Some(s) = all.iter_mut().find(|s| &s.template == t) else {
            return;
        };
        s.status = status;
        s.detail = detail;
        s.elapsed_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
        let snap = s.clone();
        let report = serde_json::to_value(&*all).unwrap_or(Value::Null);
        drop(all);
        let _ = ctx.writes.send(Write::Report(report));
        snap
    };
    progress(&snapshot);
}

/// Runs the steps wave by wave: a wave's requests at once, then its waits at once on
/// watches its steps share. Returns the first failure; a failure stops the wave's other
/// waits at once rather than after they end.
async fn run_waves(
    ctx: &Ctx<'_>,
    plan: &[PlannedRequest],
    steps: &Mutex<Vec<StepReport>>,
    progress: &(dyn Fn(&StepReport) + Send + Sync),
) -> Option<String> {
    let waves = tenantry_core::template::waves_by(plan, |r| &r.template, |r| &r.after);
    for wave in waves {
        let since = Instant::now();
        let sent = futures_util::future::join_all(wave.iter().map(|r| async move {
            set_step(
                ctx,
                steps,
                &r.template,
                StepStatus::Running,
                String::new(),
                since,
                progress,
            )
            .await;
            let result = send_step(ctx, r).await;
            let (status, detail) = match &result {
                Ok((applied, _)) => (StepStatus::Running, format!("{applied}, waiting")),
                Err(reason) => (StepStatus::Failed, reason.clone()),
            };
            set_step(ctx, steps, &r.template, status, detail, since, progress).await;
            result.map(|(applied, object)| (*r, applied, object))
        }))
        .await;
        let sent = match sent.into_iter().collect::<Result<Vec<_>, String>>() {
            Ok(sent) => sent,
            Err(reason) => {
                stop_after_failure(steps, progress).await;
                return Some(reason);
            }
        };
        let (waiters, pumps) = waiters(&sent);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let pumping = futures_util::future::join_all(pumps.into_iter().map(|(shared, w)| {
            let stopped = stopped.clone();
            async move { pump(ctx, &shared, w, stopped).await }
        }));
        let waits = futures_util::future::try_join_all(sent.iter().zip(waiters).map(
            |((r, applied, object), mut waiter)| async move {
                let (status, detail, result) = match wait(
                    ctx,
                    r,
                    since,
                    object,
                    waiter.as_mut(),
                    applied.starts_with("created"),
                )
                .await
                {
                    Ok(Some(w)) => (StepStatus::Done, format!("{applied}, {w}"), Ok(())),
                    Ok(None) => (StepStatus::Done, applied.clone(), Ok(())),
                    Err(reason) => (StepStatus::Failed, reason.clone(), Err(reason)),
                };
                set_step(ctx, steps, &r.template, status, detail, since, progress).await;
                result
            },
        ));
        // The waits end (all done, or the first failure); then the pumps stop.
        let waits = async {
            let waited = waits.await;
            let _ = stop.send(true);
            waited
        };
        let (waited, _) = tokio::join!(waits, pumping);
        if let Err(reason) = waited {
            stop_after_failure(steps, progress).await;
            return Some(reason);
        }
    }
    None
}

/// After a failure: the steps not started are skipped, and those still waiting say
/// they were stopped.
async fn stop_after_failure(
    steps: &Mutex<Vec<StepReport>>,
    progress: &(dyn Fn(&StepReport) + Send + Sync),
) {
    let changed: Vec<StepReport> = {
        let mut all = steps.lock().await;
        all.iter_mut()
            .filter_map(|s| {
                match s.status {
                    StepStatus::Pending => s.detail = "not run: an earlier step failed".into(),
                    StepStatus::Running => {
                        let sent = s.detail.trim_end_matches(", waiting").to_owned();
                        s.detail = if sent.is_empty() {
                            "stopped: another step failed".into()
                        } else {
                            format!("{sent}; stopped waiting: another step failed")
                        };
                    }
                    _ => return None,
                }
                s.status = StepStatus::Skipped;
                Some(s.clone())
            })
            .collect()
    };
    for s in &changed {
        progress(s);
    }
}

/// Sends one step's request: what happened ("created", "unchanged", …) and the object
/// the API answered.
async fn send_step(ctx: &Ctx<'_>, r: &PlannedRequest) -> Result<(String, Value), String> {
    let masked = ctx.masked.get(&r.template).cloned().flatten();
    match (r.method, &r.body) {
        (Method::Post, Some(body)) => apply(ctx, r, body, masked.as_ref()).await,
        (Method::Get, _) => {
            let got = ctx
                .call("GET", &r.path, None, None)
                .await
                .map_err(|e| e.to_string())?;
            Ok(("read".to_owned(), got))
        }
        (m, body) => {
            let got = ctx
                .call(m.as_str(), &r.path, body.as_ref(), masked.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            Ok(("sent".to_owned(), got))
        }
    }
}

fn item_path(r: &PlannedRequest, name: &str) -> String {
    let base = r
        .path
        .split('?')
        .next()
        .unwrap_or(&r.path)
        .trim_end_matches('/');
    format!("{base}/{name}")
}

fn labels_say_ours(obj: &Value, client: ClientId) -> bool {
    let l = obj.pointer("/metadata/labels");
    l.and_then(|l| l.get(MANAGED_BY.0)).and_then(Value::as_str) == Some(MANAGED_BY.1)
        && l.and_then(|l| l.get(CLIENT_LABEL)).and_then(Value::as_str) == Some(&client.to_string())
}

/// A request about `what` failed: the API's answer, and what to do when it says.
fn request_failed(what: &str, e: &KubeError) -> String {
    let mut out = format!("{what}: {e}");
    if let KubeError::Api(a) = e
        && a.code == 404
        && a.message.starts_with("namespaces \"")
    {
        out.push_str(". The Kubernetes namespace does not exist in the cluster: have the cluster's owners create it, or point the namespace target at one that exists (`tenantry namespace edit NAME --k8s-namespace NS`)");
    }
    out
}

/// Creates the object, or brings an existing one of ours to the rendered state.
async fn apply(
    ctx: &Ctx<'_>,
    r: &PlannedRequest,
    body: &Value,
    masked: Option<&Value>,
) -> Result<(String, Value), String> {
    let kind = body["kind"].as_str().unwrap_or("object").to_owned();
    let name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let what = object_name(&kind, body);
    let path = item_path(r, &name);
    // Where this client was deployed before, its objects most likely exist: read first
    // (one request for an unchanged object, not a refused create and a read).
    let mut existing = None;
    if ctx.deployed_before {
        match ctx.call("GET", &path, None, None).await {
            Ok(found) => existing = Some(found),
            Err(e) if e.code() == Some(404) => {}
            Err(e) => return Err(request_failed(&what, &e)),
        }
    }
    let existing = match existing {
        Some(found) => found,
        None => {
            match ctx.call("POST", &r.path, Some(body), masked).await {
                Ok(created) => return Ok(("created".into(), created)),
                Err(e) if e.code() == Some(409) => {}
                Err(e) => return Err(request_failed(&what, &e)),
            }
            // It exists (made since, or by an earlier attempt whose answer was lost).
            ctx.call("GET", &path, None, None)
                .await
                .map_err(|e| request_failed(&what, &e))?
        }
    };
    // It exists: ours, unchanged or changed, or someone else's.
    if !labels_say_ours(&existing, ctx.client) {
        let labels = existing
            .pointer("/metadata/labels")
            .map_or("none".into(), ToString::to_string);
        return Err(format!(
            "{what} already exists and is not tenantry's for {} (labels: {labels}); it was left untouched. Remove it, or label it {}={} and {}={} to let tenantry manage it",
            ctx.client, MANAGED_BY.0, MANAGED_BY.1, CLIENT_LABEL, ctx.client
        ));
    }
    let same = existing.pointer(&format!(
        "/metadata/annotations/{}",
        SPEC_HASH.replace('/', "~1")
    )) == body.pointer(&format!(
        "/metadata/annotations/{}",
        SPEC_HASH.replace('/', "~1")
    ));
    if kind == "Job" {
        let failed = matches!(job_health(&existing), Health::Failed(_));
        if same && !failed {
            return Ok(("unchanged".into(), existing));
        }
        // A Job's template cannot change, and a failed one does not run again: replace it.
        let opts =
            json!({"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"});
        ctx.call("DELETE", &path, Some(&opts), None)
            .await
            .map_err(|e| request_failed(&what, &e))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match ctx.cluster.send_once("GET", &path, None).await {
                Err(e) if e.code() == Some(404) => break,
                _ if Instant::now() > deadline => {
                    return Err(format!("{what}: the old Job was not deleted within 60 s"));
                }
                _ => tokio::time::sleep(ctx.opts.poll).await,
            }
        }
        let created = ctx
            .call("POST", &r.path, Some(body), masked)
            .await
            .map_err(|e| request_failed(&what, &e))?;
        let detail = if failed && same {
            "re-created (the previous one had failed)"
        } else {
            "re-created (changed)"
        };
        return Ok((detail.into(), created));
    }
    if same {
        return Ok(("unchanged".into(), existing));
    }
    let mut next = body.clone();
    next["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"].clone();
    let updated = ctx
        .call("PUT", &path, Some(&next), masked)
        .await
        .map_err(|e| request_failed(&what, &e))?;
    Ok(("updated".into(), updated))
}

/// A Deployment's `matchLabels`: the labels its pods carry.
fn match_labels(dep: &Value) -> BTreeMap<String, String> {
    dep.pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `k=v,…` for a label selector.
fn selector_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn selector_of(dep: &Value) -> String {
    selector_text(&match_labels(dep))
}

fn has_labels(obj: &Value, labels: &BTreeMap<String, String>) -> bool {
    labels.iter().all(|(k, v)| {
        obj.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v)
    })
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Adds the log tail or the Events a failure points at.
async fn explain(ctx: &Ctx<'_>, ns: &str, f: &Failure, since: Instant) -> String {
    let mut out = format!("{f} (after {:.1}s)", since.elapsed().as_secs_f64());
    if let Some(pod) = &f.log_of
        && let Ok(log) = ctx.cluster.pod_log_tail(ns, pod, 10).await
        && !log.trim().is_empty()
    {
        out.push_str("\nlast log lines:\n");
        out.push_str(log.trim_end());
    }
    if let Some(pod) = &f.events_of
        && let Some(events) = pod_events(ctx, ns, pod).await
    {
        out.push_str(&warnings_text(&events));
    }
    out
}

/// A pod's Events (`None` when they cannot be read).
async fn pod_events(ctx: &Ctx<'_>, ns: &str, pod: &str) -> Option<Vec<Value>> {
    let path = format!(
        "api/v1/namespaces/{ns}/events?fieldSelector={}",
        encode(&format!("involvedObject.name={pod}"))
    );
    let list = ctx.call("GET", &path, None, None).await.ok()?;
    Some(list["items"].as_array().cloned().unwrap_or_default())
}

/// The Warning Events, one per line under an `events:` heading; empty when none.
fn warnings_text(events: &[Value]) -> String {
    let lines: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "Warning")
        .map(|e| {
            format!(
                "  {}: {}",
                e["reason"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("\nevents:\n{}", lines.join("\n"))
    }
}

fn pods_path(ns: &str, selector: &str) -> String {
    format!(
        "api/v1/namespaces/{ns}/pods?labelSelector={}",
        encode(selector)
    )
}

/// The first pod that the health rules say has failed, explained.
async fn pods_verdict(
    ctx: &Ctx<'_>,
    ns: &str,
    pods: &[&Value],
    since: Instant,
    skip_finished: bool,
) -> Option<String> {
    for p in pods {
        let phase = p
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        if skip_finished && matches!(phase, "Failed" | "Succeeded") {
            continue;
        }
        let mut with_ns = (*p).clone();
        with_ns["metadata"]["namespace"] = json!(ns);
        if let Health::Failed(f) = pod_health(&with_ns, since.elapsed(), &ctx.opts.rules) {
            return Some(explain(ctx, ns, &f, since).await);
        }
        // Still being created a while after the step began: its Events may already say
        // it never will be (a mount of a Secret that does not exist). Read once a pod.
        let name = name_of(p);
        if is_creating(p)
            && since.elapsed() > ctx.opts.rules.events_peek
            && ctx
                .peeked
                .lock()
                .is_ok_and(|mut seen| seen.insert(name.clone()))
            && let Some(events) = pod_events(ctx, ns, &name).await
            && let Some(f) = fatal_event(&with_ns, &events)
        {
            // The other warnings, if any: the one that decided is in the reason.
            let others: Vec<Value> = events
                .into_iter()
                .filter(|e| e["message"].as_str() != Some(f.message.as_str()))
                .collect();
            return Some(format!(
                "{f} (after {:.1}s){}",
                since.elapsed().as_secs_f64(),
                warnings_text(&others)
            ));
        }
    }
    None
}

fn version_of(v: &Value) -> String {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn name_of(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The objects of one list (its selectors in the path), kept current by a watch that
/// resumes from the last version seen. One request opens it, however long it stays
/// open; a version too old to watch from lists again. A cluster that refuses the watch
/// is listed every `poll` instead.
struct Watched {
    path: String,
    objects: BTreeMap<String, Value>,
    version: String,
    stream: Option<tenantry_kube::ChangeStream>,
    polling: bool,
}

impl Watched {
    fn new(path: String, objects: impl IntoIterator<Item = Value>, version: String) -> Self {
        Self {
            path,
            objects: objects.into_iter().map(|o| (name_of(&o), o)).collect(),
            version,
            stream: None,
            polling: false,
        }
    }

    /// From a list response.
    fn from_list(path: String, list: &Value) -> Self {
        let items = list["items"].as_array().cloned().unwrap_or_default();
        Self::new(path, items, version_of(list))
    }

    async fn list(ctx: &Ctx<'_>, path: String) -> Result<Self, String> {
        let list = ctx
            .call("GET", &path, None, None)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self::from_list(path, &list))
    }

    fn items(&self) -> Vec<&Value> {
        let mut v: Vec<&Value> = self.objects.values().collect();
        v.sort_by_key(|o| {
            (
                o.pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                name_of(o),
            )
        });
        v
    }

    /// Opens the watch if it is not open. Done outside any `select!`, so an open watch
    /// is never dropped half-recorded.
    async fn open(&mut self, ctx: &Ctx<'_>, tick: Duration) -> Result<(), String> {
        if self.stream.is_some() || self.polling {
            return Ok(());
        }
        let started = Instant::now();
        match ctx.cluster.watch(&self.path, &self.version).await {
            Ok(s) => {
                self.stream = Some(s);
                ctx.record("WATCH", &self.path, 200, started.elapsed(), String::new());
            }
            Err(e) => {
                let code = i64::from(e.code().unwrap_or(0));
                let transient = e.retry_after(0).is_some();
                let next = if transient {
                    format!("{e}; tried again after {tick:.1?}")
                } else {
                    format!("{e}; listed every {tick:.1?} instead")
                };
                ctx.record("WATCH", &self.path, code, started.elapsed(), next);
                if transient {
                    tokio::time::sleep(tick).await;
                } else {
                    tracing::info!(path = %self.path, "cannot watch, polling instead: {e}");
                    self.polling = true;
                }
            }
        }
        Ok(())
    }

    /// Waits up to `tick` for what comes next (the watch must be open). Cancel-safe:
    /// nothing is sent, and nothing received is lost if it is dropped.
    async fn next_event(&mut self, tick: Duration) -> Event {
        use futures_util::StreamExt;
        if self.polling {
            tokio::time::sleep(tick).await;
            return Event::Poll;
        }
        let Some(stream) = self.stream.as_mut() else {
            tokio::time::sleep(tick).await;
            return Event::Nothing;
        };
        match tokio::time::timeout(tick, stream.next()).await {
            Err(_) => Event::Nothing,
            Ok(None | Some(Err(_))) => Event::Closed,
            Ok(Some(Ok(change))) => Event::Change(change),
        }
    }

    /// Takes in what [`next_event`](Self::next_event) gave (listing again when the
    /// watch's version is too old, or when polling); says whether the objects changed.
    async fn take_in(&mut self, ctx: &Ctx<'_>, event: Event) -> Result<bool, String> {
        use tenantry_kube::Change;
        match event {
            Event::Nothing => Ok(false),
            Event::Closed => {
                // Closed by the server or the network: resume from the last version.
                self.stream = None;
                Ok(false)
            }
            Event::Poll => {
                *self = Self {
                    polling: true,
                    ..Self::list(ctx, self.path.clone()).await?
                };
                Ok(true)
            }
            Event::Change(Change::Upsert(o)) => {
                self.version = version_of(&o);
                self.objects.insert(name_of(&o), o);
                Ok(true)
            }
            Event::Change(Change::Deleted(o)) => {
                self.version = version_of(&o);
                self.objects.remove(&name_of(&o));
                Ok(true)
            }
            Event::Change(Change::Bookmark(v)) => {
                self.version = v;
                Ok(false)
            }
            Event::Change(Change::Gone) => {
                *self = Self::list(ctx, self.path.clone()).await?;
                Ok(true)
            }
        }
    }

    async fn next(&mut self, ctx: &Ctx<'_>, tick: Duration) -> Result<(), String> {
        self.open(ctx, tick).await?;
        let event = self.next_event(tick).await;
        self.take_in(ctx, event).await.map(drop)
    }
}

/// What a [`Watched`] list heard next.
enum Event {
    /// A tick passed.
    Nothing,
    /// The watch ended.
    Closed,
    /// Polling: time to list again.
    Poll,
    Change(tenantry_kube::Change),
}

/// The objects of a shared list as last seen, or why it could not be kept.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    objects: Arc<Vec<Value>>,
    error: Option<String>,
}

impl Snapshot {
    fn of(w: &Watched) -> Self {
        Self {
            objects: Arc::new(w.items().into_iter().cloned().collect()),
            error: None,
        }
    }
}

/// A list several steps of a wave wait on. One [`pump`] keeps it current from the
/// first time a step wants a change; every step reads the newest [`Snapshot`].
struct Shared {
    tx: tokio::sync::watch::Sender<Snapshot>,
    wanted: tokio::sync::Notify,
}

/// One step's view of a [`Shared`] list.
struct Feed {
    shared: Arc<Shared>,
    rx: tokio::sync::watch::Receiver<Snapshot>,
}

impl Feed {
    /// The newest snapshot, marked seen.
    fn snapshot(&mut self) -> Result<Arc<Vec<Value>>, String> {
        let s = self.rx.borrow_and_update();
        match &s.error {
            Some(e) => Err(e.clone()),
            None => Ok(s.objects.clone()),
        }
    }
}

/// A shared list and the watch that will keep it current.
type Pump = (Arc<Shared>, Watched);

impl Shared {
    /// A list starting as `w` holds it now.
    fn new(w: &Watched) -> Arc<Self> {
        Arc::new(Self {
            tx: tokio::sync::watch::channel(Snapshot::of(w)).0,
            wanted: tokio::sync::Notify::new(),
        })
    }

    /// A step's view of the list.
    fn feed(self: &Arc<Self>) -> Feed {
        Feed {
            shared: self.clone(),
            rx: self.tx.subscribe(),
        }
    }
}

/// Keeps a shared list current, from the first time a step wants a change until
/// `stop`. A watch being opened is opened and recorded before it stops; a failure to
/// keep the list is published for the steps to report.
async fn pump(
    ctx: &Ctx<'_>,
    shared: &Shared,
    mut w: Watched,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let tick = ctx.opts.poll;
    tokio::select! {
        _ = stop.wait_for(|s| *s) => return,
        () = shared.wanted.notified() => {}
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let _ = w.open(ctx, tick).await;
        let event = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            e = w.next_event(tick) => e,
        };
        match w.take_in(ctx, event).await {
            Ok(true) => {
                shared.tx.send_replace(Snapshot::of(&w));
            }
            Ok(false) => {}
            Err(e) => {
                shared.tx.send_modify(|s| s.error = Some(e));
                let _ = stop.wait_for(|s| *s).await;
                return;
            }
        }
    }
}

/// What a waiting step of a wave watches, shared with the wave's steps that wait for
/// the same kind of object: the objects' list and their pods' list.
struct Waiter {
    ns: String,
    name: String,
    /// The labels its pods carry (`job-name`, or the Deployment's `matchLabels`).
    pod_labels: BTreeMap<String, String>,
    objects: Feed,
    /// None when its pods cannot be told by labels (a selector of expressions only): the
    /// object's own status is all there is to judge, rather than every pod around.
    pods: Option<Feed>,
}

fn namespace_of(r: &PlannedRequest) -> String {
    r.body
        .as_ref()
        .and_then(|b| b.pointer("/metadata/namespace"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            r.path
                .split("namespaces/")
                .nth(1)
                .and_then(|s| s.split('/').next())
                .unwrap_or("default")
                .to_owned()
        })
}

/// The watches of a wave's waits. Steps that wait for the same kind of object in the
/// same place share one watch on the objects (by the labels they all carry) and one on
/// their pods (`key in (…)` when their pods differ by one label's value); a step that
/// cannot share watches its object by name and its pods by their labels. Every watch
/// starts without a version, so it first tells the current state: nothing that
/// happened between the request and the watch is missed, and nothing is listed first.
fn waiters(sent: &[(&PlannedRequest, String, Value)]) -> (Vec<Option<Waiter>>, Vec<Pump>) {
    struct Want {
        base: String,
        ns: String,
        name: String,
        labels: BTreeMap<String, String>,
        pod_labels: BTreeMap<String, String>,
    }
    let wants: Vec<Option<Want>> = sent
        .iter()
        .map(|(r, _, object)| {
            let name = r
                .body
                .as_ref()
                .and_then(|b| b.pointer("/metadata/name"))
                .and_then(Value::as_str)?
                .to_owned();
            let pod_labels = match r.wait {
                WaitFor::JobComplete => BTreeMap::from([("job-name".to_owned(), name.clone())]),
                WaitFor::RolloutReady => match_labels(object),
                WaitFor::None | WaitFor::PodsReady => return None,
            };
            let labels = r
                .body
                .as_ref()
                .and_then(|b| b.pointer("/metadata/labels"))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            Some(Want {
                base: r.path.split('?').next().unwrap_or("").to_owned(),
                ns: namespace_of(r),
                name,
                labels,
                pod_labels,
            })
        })
        .collect();
    let mut out: Vec<Option<Waiter>> = wants.iter().map(|_| None).collect();
    let mut pumps: Vec<Pump> = Vec::new();
    let mut share = |w: Watched| {
        let list = Shared::new(&w);
        pumps.push((list.clone(), w));
        list
    };
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, w) in wants.iter().enumerate() {
        if let Some(w) = w {
            groups
                .entry((w.base.clone(), w.ns.clone()))
                .or_default()
                .push(i);
        }
    }
    let seed = |members: &[usize]| {
        members
            .iter()
            .map(|&i| sent[i].2.clone())
            .collect::<Vec<_>>()
    };
    for members in groups.into_values() {
        let ws: Vec<&Want> = members.iter().filter_map(|&i| wants[i].as_ref()).collect();
        // Labels every object of the group carries, and the one pod label they vary by.
        let common: BTreeMap<String, String> = ws[0]
            .labels
            .iter()
            .filter(|(k, v)| ws.iter().all(|w| w.labels.get(*k) == Some(v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let pod_key = ws[0].pod_labels.keys().next().cloned().filter(|k| {
            ws.iter()
                .all(|w| w.pod_labels.len() == 1 && w.pod_labels.contains_key(k))
        });
        let lists = match pod_key {
            Some(key) if ws.len() > 1 && !common.is_empty() => {
                let values: std::collections::BTreeSet<&str> =
                    ws.iter().map(|w| w.pod_labels[&key].as_str()).collect();
                let values: Vec<&str> = values.into_iter().collect();
                Some((
                    format!(
                        "{}?labelSelector={}",
                        ws[0].base,
                        encode(&selector_text(&common))
                    ),
                    pods_path(&ws[0].ns, &format!("{key} in ({})", values.join(","))),
                ))
            }
            _ => None,
        };
        if let Some((objects_path, pods_path)) = lists {
            let objects = share(Watched::new(objects_path, seed(&members), String::new()));
            let pods = share(Watched::new(pods_path, [], String::new()));
            for (&i, w) in members.iter().zip(&ws) {
                out[i] = Some(Waiter {
                    ns: w.ns.clone(),
                    name: w.name.clone(),
                    pod_labels: w.pod_labels.clone(),
                    objects: objects.feed(),
                    pods: Some(pods.feed()),
                });
            }
        } else {
            for (&i, w) in members.iter().zip(&ws) {
                let objects_path = format!(
                    "{}?fieldSelector={}",
                    w.base,
                    encode(&format!("metadata.name={}", w.name))
                );
                let objects = share(Watched::new(objects_path, seed(&[i]), String::new()));
                let pods = (!w.pod_labels.is_empty()).then(|| {
                    share(Watched::new(
                        pods_path(&w.ns, &selector_text(&w.pod_labels)),
                        [],
                        String::new(),
                    ))
                    .feed()
                });
                out[i] = Some(Waiter {
                    ns: w.ns.clone(),
                    name: w.name.clone(),
                    pod_labels: w.pod_labels.clone(),
                    objects: objects.feed(),
                    pods,
                });
            }
        }
    }
    (out, pumps)
}

impl Waiter {
    /// The step's object and its pods, as last seen (marked seen).
    fn state(&mut self) -> Result<(Value, Vec<Value>), String> {
        let objects = self.objects.snapshot()?;
        let pods = match &mut self.pods {
            Some(pods) => pods.snapshot()?,
            None => Arc::default(),
        };
        let object = objects
            .iter()
            .find(|o| name_of(o) == self.name)
            .cloned()
            .unwrap_or(Value::Null);
        let pods = pods
            .iter()
            .filter(|p| has_labels(p, &self.pod_labels))
            .cloned()
            .collect();
        Ok((object, pods))
    }

    /// Waits for a change of the object or of its pods, or a tick (time-based rules
    /// are looked at again).
    async fn changed(&mut self, tick: Duration) {
        let Self { objects, pods, .. } = self;
        objects.shared.wanted.notify_one();
        let pods_changed = async {
            match pods {
                Some(p) => {
                    p.shared.wanted.notify_one();
                    if p.rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = objects.rx.changed() => {
                if r.is_err() {
                    tokio::time::sleep(tick).await;
                }
            }
            () = pods_changed => {}
            () = tokio::time::sleep(tick) => {}
        }
    }
}

/// Waits as the template says; `Some(text)` tells what was awaited. `object` is what
/// the step's request answered; `waiter` what it watches (for Jobs and Deployments);
/// `created` says the object is new, so every pod it has is of this deploy.
async fn wait(
    ctx: &Ctx<'_>,
    r: &PlannedRequest,
    since: Instant,
    object: &Value,
    waiter: Option<&mut Waiter>,
    created: bool,
) -> Result<Option<String>, String> {
    // A changed Deployment's current ReplicaSet (its `pod-template-hash`), once needed.
    let mut current: Option<String> = None;
    match (r.wait, waiter) {
        (WaitFor::None, _) => Ok(None),
        (WaitFor::JobComplete, Some(w)) => loop {
            let (job, pods) = w.state()?;
            // A re-created Job's name is its predecessor's, whose pods may not be gone yet:
            // only this Job's pods (by its uid) count.
            let pods: Vec<&Value> = pods.iter().filter(|p| of_job(p, &job)).collect();
            match job_health(&job) {
                Health::Ready => {
                    return Ok(Some(format!(
                        "Job complete in {:.1}s",
                        since.elapsed().as_secs_f64()
                    )));
                }
                Health::Failed(f) => {
                    // The Job's own pods say why: the newest one's log.
                    let newest = pods.last().map(|p| name_of(p));
                    let f = Failure {
                        log_of: newest.or(f.log_of.clone()),
                        ..f
                    };
                    return Err(explain(ctx, &w.ns, &f, since).await);
                }
                Health::Progressing(_) => {
                    if let Some(reason) = pods_verdict(ctx, &w.ns, &pods, since, true).await {
                        return Err(reason);
                    }
                }
            }
            w.changed(ctx.opts.poll).await;
        },
        (WaitFor::RolloutReady, Some(w)) => loop {
            let (dep, pods) = w.state()?;
            let pods: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
            let pods = if created {
                pods
            } else {
                rollout_pods(ctx, w, &dep, pods, &mut current, since).await
            };
            match deployment_health(&dep) {
                Health::Ready => {
                    return Ok(Some(format!(
                        "rolled out in {:.1}s",
                        since.elapsed().as_secs_f64()
                    )));
                }
                Health::Failed(f) => {
                    // Say where it stuck: the first pod that is not ready, and its Events.
                    let stuck = pods.iter().find_map(|p| {
                        match pod_health(p, since.elapsed(), &ctx.opts.rules) {
                            Health::Progressing(why) => Some((name_of(p), why)),
                            _ => None,
                        }
                    });
                    let f = match stuck {
                        Some((pod, why)) => Failure {
                            message: format!("{}; {why}", f.message.trim_end_matches('.')),
                            events_of: Some(pod),
                            ..f
                        },
                        None => f,
                    };
                    return Err(explain(ctx, &w.ns, &f, since).await);
                }
                Health::Progressing(_) => {
                    if let Some(reason) = pods_verdict(ctx, &w.ns, &pods, since, false).await {
                        return Err(reason);
                    }
                }
            }
            w.changed(ctx.opts.poll).await;
        },
        (WaitFor::JobComplete | WaitFor::RolloutReady, None) => Err(format!(
            "{}: the template waits for an object, but its body has no metadata.name",
            r.template
        )),
        (WaitFor::PodsReady, _) => {
            let ns = namespace_of(r);
            // The step's own GET listed them: watch on from that list.
            let mut pods = if object["items"].is_array() {
                Watched::from_list(r.path.clone(), object)
            } else {
                Watched::list(ctx, r.path.clone()).await?
            };
            loop {
                // Pods being deleted (an old ReplicaSet's, after a rollout) are going away.
                let items: Vec<&Value> = pods
                    .items()
                    .into_iter()
                    .filter(|p| !terminating(p))
                    .collect();
                if let Some(reason) = pods_verdict(ctx, &ns, &items, since, false).await {
                    return Err(reason);
                }
                let all_ready = !items.is_empty()
                    && items.iter().all(|p| {
                        matches!(
                            pod_health(p, since.elapsed(), &ctx.opts.rules),
                            Health::Ready
                        )
                    });
                if all_ready {
                    return Ok(Some(format!("{} pod(s) running and ready", items.len())));
                }
                pods.next(ctx, ctx.opts.poll).await?;
            }
        }
    }
}

/// Whether a pod is this Job's (its controller-uid label, where it has one).
fn of_job(pod: &Value, job: &Value) -> bool {
    let label = |k: &str| {
        pod.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
    };
    let owner = label("batch.kubernetes.io/controller-uid").or_else(|| label("controller-uid"));
    match (owner, job.pointer("/metadata/uid").and_then(Value::as_str)) {
        (Some(owner), Some(uid)) => owner == uid,
        _ => true,
    }
}

fn terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// The pods of a changed Deployment that its rollout is judged by. While it rolls out,
/// the old ReplicaSets' pods stay (and may be failing: that is often why it was
/// changed); only the current ReplicaSet's count. Which one that is, is read once, when
/// a pod looks failed and the controller has seen the latest change; before then a
/// failing pod is an old one.
async fn rollout_pods<'p>(
    ctx: &Ctx<'_>,
    w: &Waiter,
    dep: &Value,
    pods: Vec<&'p Value>,
    current: &mut Option<String>,
    since: Instant,
) -> Vec<&'p Value> {
    let hash_of = |p: &Value| {
        p.pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if current.is_none() {
        let failing = pods.iter().any(|p| {
            matches!(
                pod_health(p, since.elapsed(), &ctx.opts.rules),
                Health::Failed(_)
            )
        });
        if !failing {
            return pods;
        }
        let n = |p: &str| dep.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        if n("/status/observedGeneration") < n("/metadata/generation") {
            return Vec::new();
        }
        *current = current_template_hash(ctx, w, dep).await;
        if current.is_none() {
            // Cannot tell which is current: judge them all.
            return pods;
        }
    }
    pods.into_iter()
        .filter(|p| hash_of(p) == *current)
        .collect()
}

/// The `pod-template-hash` of a Deployment's newest ReplicaSet (highest revision).
async fn current_template_hash(ctx: &Ctx<'_>, w: &Waiter, dep: &Value) -> Option<String> {
    let uid = dep.pointer("/metadata/uid").and_then(Value::as_str)?;
    let path = format!(
        "apis/apps/v1/namespaces/{}/replicasets?labelSelector={}",
        w.ns,
        encode(&selector_text(&w.pod_labels))
    );
    let list = ctx.call("GET", &path, None, None).await.ok()?;
    let revision = |rs: &Value| {
        rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(0)
    };
    list["items"]
        .as_array()?
        .iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(|o| o["uid"] == uid))
        })
        .max_by_key(|rs| revision(rs))?
        .pointer("/metadata/labels/pod-template-hash")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// One pod of a client's environment as the run page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PodState {
    pub name: String,
    pub phase: String,
    /// Ready containers of all, e.g. `1/1`.
    pub ready: String,
    pub restarts: u64,
    /// Why a container waits or ended, with the kubelet's message.
    pub reason: String,
}

fn pod_state(p: &Value) -> PodState {
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
    PodState {
        name: p
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        phase: p
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("Pending")
            .to_owned(),
        ready: format!("{ready}/{total}"),
        restarts,
        reason,
    }
}

/// The pods of a client's environment in a namespace, found by the selectors its plan
/// waits on (each Job's `job-name`, each Deployment's selector).
pub async fn pod_states(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<Vec<PodState>, DeployError> {
    let plan =
        crate::plan::render_plan(catalog, client, ns, tenantry_core::render::Secrets::Mask).await?;
    let (namespace, cluster) = connect(catalog, ns).await?;
    let k8s_ns = namespace.k8s_namespace.as_str();
    let mut out = Vec::new();
    for body in plan.iter().filter_map(|r| r.body.as_ref()) {
        let selector = match body["kind"].as_str() {
            Some("Job") => format!(
                "job-name={}",
                body.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            Some("Deployment") => selector_of(body),
            _ => continue,
        };
        if selector.is_empty() {
            continue;
        }
        let list = cluster
            .send(
                "GET",
                &format!(
                    "api/v1/namespaces/{k8s_ns}/pods?labelSelector={}",
                    encode(&selector)
                ),
                None,
            )
            .await?;
        out.extend(
            list["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(pod_state),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_pods_are_told_from_its_predecessors_by_uid() {
        let job = json!({"metadata": {"name": "j", "uid": "new"}});
        let pod = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(of_job(
            &pod(json!({"job-name": "j", "batch.kubernetes.io/controller-uid": "new"})),
            &job
        ));
        assert!(!of_job(
            &pod(json!({"job-name": "j", "controller-uid": "old"})),
            &job
        ));
        // Without the label (older clusters, simulators) a pod of the name counts.
        assert!(of_job(&pod(json!({"job-name": "j"})), &job));
    }
}
