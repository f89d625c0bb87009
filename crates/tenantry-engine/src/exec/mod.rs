//! The executor: runs an operation's typed steps wave by wave (a wave's requests at
//! once, then its waits at once on watches its steps share), records every request and
//! every step's progress, keeps the run's lease alive, and ends with a typed verdict.
//! Deploy is an operation on it; so are the lifecycle operations that follow.

pub(crate) mod apply;
mod evidence;
mod wait;
mod waiters;
pub(crate) mod watch;

pub(crate) use waiters::match_labels;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tenantry_core::ClientId;
use tenantry_core::health::PodRules;
use tenantry_core::template::TemplateName;
use tenantry_kube::Cluster;
use tenantry_store::Catalog;

use crate::record::{RunLog, writer};
use crate::step::{Said, Step, StepReport, StepStatus, Touched, detail_of};

/// How an operation runs.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The whole operation's deadline.
    pub timeout: Duration,
    /// How often a step that waits looks again.
    pub poll: Duration,
    pub rules: PodRules,
    /// How often a running operation says it is alive.
    pub heartbeat: Duration,
    /// How long a run's owner may go unheard before another process takes the run over
    /// (on this host, a run whose process is gone is taken over at once).
    pub stale_after: Duration,
    /// How long the verdict is tried to be stored when the catalog is away.
    pub finish_budget: Duration,
    /// How long a deleted object may take to go (its finalizers) before it is named.
    pub delete_grace: Duration,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            poll: Duration::from_millis(500),
            rules: PodRules::default(),
            heartbeat: Duration::from_secs(5),
            stale_after: Duration::from_secs(60),
            finish_budget: Duration::from_secs(120),
            delete_grace: Duration::from_secs(60),
        }
    }
}

/// What the steps of a running operation share.
pub(crate) struct Ctx<'a> {
    /// The cluster, recording every attempt in the run's log.
    pub(crate) cluster: Cluster,
    pub(crate) client: ClientId,
    pub(crate) opts: &'a DeployOptions,
    /// Pods whose Events were read while they were being created: each is read once.
    pub(crate) peeked: Mutex<BTreeSet<String>>,
    /// An earlier run deployed this client here: its objects are read before they are
    /// created.
    pub(crate) read_first: bool,
}

/// What the executor did: the failure if any, and what it touched.
#[derive(Debug)]
pub(crate) struct Executed {
    pub(crate) failure: Option<String>,
    pub(crate) steps: Vec<StepReport>,
    pub(crate) requests: i64,
    pub(crate) touched: Vec<Touched>,
    /// The pods the steps last saw, by name (a later step's view over an earlier's).
    pub(crate) pods: BTreeMap<String, Value>,
}

type Progress<'a> = &'a (dyn Fn(&StepReport) + Send + Sync);

/// The steps' reports, shared by the waves' tasks.
struct Reports<'a> {
    all: Mutex<Vec<StepReport>>,
    log: &'a RunLog,
    progress: Progress<'a>,
}

impl Reports<'_> {
    fn set(&self, t: &TemplateName, status: StepStatus, said: Vec<Said>, since: Instant) {
        let snapshot = {
            let Ok(mut all) = self.all.lock() else { return };
            let Some(s) = all.iter_mut().find(|s| &s.template == t) else {
                return;
            };
            s.status = status;
            s.detail = detail_of(&said);
            s.said = said;
            s.elapsed_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
            let snap = s.clone();
            self.log
                .report(serde_json::to_value(&*all).unwrap_or(Value::Null));
            snap
        };
        (self.progress)(&snapshot);
    }

    fn snapshot(&self) -> Vec<StepReport> {
        self.all.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// After a failure: the steps not started are skipped, and those still waiting say
    /// they were stopped.
    fn stop_after_failure(&self) {
        let changed: Vec<StepReport> = {
            let Ok(mut all) = self.all.lock() else { return };
            all.iter_mut()
                .filter_map(|s| {
                    match s.status {
                        StepStatus::Pending => s.said = vec![Said::NotRun],
                        StepStatus::Running => {
                            s.said.retain(|p| *p != Said::Waiting);
                            s.said.push(Said::Stopped);
                        }
                        _ => return None,
                    }
                    s.detail = detail_of(&s.said);
                    s.status = StepStatus::Skipped;
                    Some(s.clone())
                })
                .collect()
        };
        for s in &changed {
            (self.progress)(s);
        }
    }

    /// What is still pending, for a verdict at the deadline.
    fn pending(&self) -> String {
        self.snapshot()
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Pending | StepStatus::Running))
            .map(|s| {
                if s.detail.is_empty() {
                    s.template.to_string()
                } else {
                    format!("{} ({})", s.template, s.detail)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One run of an operation's steps.
pub(crate) struct Execution<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) cluster: &'a Cluster,
    pub(crate) run: i64,
    pub(crate) client: ClientId,
    pub(crate) steps: &'a [Step],
    pub(crate) read_first: bool,
    /// Masks the run's secrets in its records.
    pub(crate) redactor: tenantry_core::Redactor,
}

impl Execution<'_> {
    /// Runs the steps under the run's lease and deadline.
    pub(crate) async fn run(self, opts: &DeployOptions, progress: Progress<'_>) -> Executed {
        let (writes, written) = writer(self.catalog.clone(), self.run);
        let log = Arc::new(RunLog::new(writes, self.redactor.clone()));
        let ctx = Ctx {
            cluster: self.cluster.recorded(log.clone()),
            client: self.client,
            opts,
            peeked: Mutex::default(),
            read_first: self.read_first,
        };
        let reports = Reports {
            all: Mutex::new(
                self.steps
                    .iter()
                    .map(|s| StepReport {
                        template: s.template.clone(),
                        status: StepStatus::Pending,
                        detail: String::new(),
                        said: Vec::new(),
                        elapsed_ms: 0,
                    })
                    .collect(),
            ),
            log: &log,
            progress,
        };
        log.report(serde_json::to_value(reports.snapshot()).unwrap_or(Value::Null));
        // Says the run is alive; ends when another process has taken the run over.
        let mut heartbeat = {
            let catalog = self.catalog.clone();
            let every = opts.heartbeat;
            let run = self.run;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Ok(false) = catalog.heartbeat_run(run).await {
                        return;
                    }
                }
            })
        };
        let found = Found::default();
        let work =
            tokio::time::timeout(opts.timeout, run_waves(&ctx, self.steps, &reports, &found));
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
            Some(Err(_)) => Some(format!(
                "timed out after {:.0?}; still pending: {}{}",
                opts.timeout,
                reports.pending(),
                log.last_error()
                    .map_or(String::new(), |e| format!("; the last error: {e}"))
            )),
        };
        heartbeat.abort();
        let requests = log.requests();
        let steps = reports.snapshot();
        drop(reports);
        drop(ctx);
        drop(log);
        // Every record is stored before the run is finished.
        let _ = written.await;
        let Found { touched, pods } = found;
        Executed {
            failure,
            steps,
            requests,
            touched: touched.into_inner().unwrap_or_default(),
            pods: pods.into_inner().unwrap_or_default(),
        }
    }
}

/// What the steps found: the objects they touched and the pods they last saw.
#[derive(Default)]
struct Found {
    touched: Mutex<Vec<Touched>>,
    pods: Mutex<BTreeMap<String, Value>>,
}

/// Runs the steps wave by wave: a wave's requests at once, then its waits at once on
/// watches its steps share. Returns the first failure; a failure stops the wave's other
/// waits at once rather than after they end.
async fn run_waves(
    ctx: &Ctx<'_>,
    steps: &[Step],
    reports: &Reports<'_>,
    found: &Found,
) -> Option<String> {
    let waves = tenantry_core::template::waves_by(steps, |s| &s.template, |s| &s.after);
    for wave in waves {
        let since = Instant::now();
        let sent = futures_util::future::join_all(wave.iter().map(|s| async move {
            reports.set(&s.template, StepStatus::Running, Vec::new(), since);
            let result = apply::send_step(ctx, s).await;
            match &result {
                Ok((applied, object)) => {
                    if let Some(t) = Touched::of(object, applied, s)
                        && let Ok(mut all) = found.touched.lock()
                    {
                        all.push(t);
                    }
                    reports.set(
                        &s.template,
                        StepStatus::Running,
                        vec![Said::Applied(applied.clone()), Said::Waiting],
                        since,
                    );
                }
                Err(reason) => reports.set(
                    &s.template,
                    StepStatus::Failed,
                    vec![Said::Failed {
                        reason: reason.clone(),
                        explained: None,
                    }],
                    since,
                ),
            }
            result.map(|(applied, object)| (*s, applied, object))
        }))
        .await;
        let sent = match sent.into_iter().collect::<Result<Vec<_>, String>>() {
            Ok(sent) => sent,
            Err(reason) => {
                reports.stop_after_failure();
                return Some(reason);
            }
        };
        let objects: Vec<(&Step, Value)> = sent.iter().map(|(s, _, o)| (*s, o.clone())).collect();
        let (waiters, pumps) = waiters::waiters(&objects);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let pumping = futures_util::future::join_all(pumps.into_iter().map(|(shared, w)| {
            let stopped = stopped.clone();
            async move { watch::pump(ctx, &shared, w, stopped).await }
        }));
        let waits = futures_util::future::try_join_all(sent.iter().zip(waiters).map(
            |((s, applied, object), mut waiter)| async move {
                let mut seen = Vec::new();
                let waited =
                    wait::wait(ctx, s, since, object, waiter.as_mut(), applied, &mut seen).await;
                if let Ok(mut all) = found.pods.lock() {
                    for p in seen {
                        all.insert(watch::name_of(&p), p);
                    }
                }
                let (status, said, result) = match waited {
                    Ok(Some(w)) => (
                        StepStatus::Done,
                        vec![Said::Applied(applied.clone()), Said::Waited(w)],
                        Ok(()),
                    ),
                    Ok(None) => (
                        StepStatus::Done,
                        vec![Said::Applied(applied.clone())],
                        Ok(()),
                    ),
                    Err(reason) => (
                        StepStatus::Failed,
                        vec![Said::Failed {
                            reason: reason.to_string(),
                            explained: reason.explained(),
                        }],
                        Err(reason.to_string()),
                    ),
                };
                reports.set(&s.template, status, said, since);
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
            reports.stop_after_failure();
            return Some(reason);
        }
    }
    None
}
