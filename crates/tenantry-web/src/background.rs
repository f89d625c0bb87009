//! What a server does in the background: resume runs a crashed peer abandoned, prune
//! the audit log, and heal drift in the namespaces that ask for it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tenantry_core::ClientId;
use tenantry_core::fleet::SyncState;
use tenantry_store::{RunKind, RunStatus};

use crate::{AppState, WebError};

/// When each environment was last healed (client, namespace): self-heal deploys one at
/// most once per [`heal_gap`](crate::Config::heal_gap).
pub type Healed = std::sync::Mutex<HashMap<(ClientId, String), Instant>>;

/// Whether each environment (client, namespace, revision) was drifted when this
/// process last looked: only changes reach the catalog's notices.
pub type DriftTold = std::sync::Mutex<HashMap<(ClientId, String, Option<i64>), bool>>;

/// At most this many self-heal deploys start per namespace in one pass.
const HEALS_PER_PASS: usize = 5;

impl AppState {
    /// Looks every `every` for runs a crashed peer abandoned, and resumes them: servers
    /// sharing a catalog take over each other's runs (one wins each, by the database).
    pub fn sweep_abandoned_runs(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = state.resume_orphaned_runs().await {
                    tracing::warn!("cannot look for abandoned runs: {e}");
                }
            }
        })
    }

    /// Drops audit entries older than the retention now and every hour after.
    pub fn prune_audit_hourly(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                match state
                    .catalog
                    .prune_audit(state.config.audit_retention_days)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        "dropped {n} audit entries older than {} days",
                        state.config.audit_retention_days
                    ),
                    Err(e) => tracing::warn!("cannot prune the audit log: {e}"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        })
    }

    /// Resumes the runs a crashed process left running (of this host, or unheard for the
    /// deploy options' `stale_after`).
    pub async fn resume_orphaned_runs(&self) -> Result<Vec<i64>, WebError> {
        let mut resumed = Vec::new();
        let stale_after = self.config.deploy.stale_after;
        for r in tenantry_engine::orphaned_runs(&self.catalog, stale_after).await? {
            let opts = self.config.deploy.clone();
            let (catalog, client, ns) = (&self.catalog, r.client, r.namespace.as_str());
            // Each kind resumes as itself; a rollback's target was not kept, and an
            // adoption is run again as a whole (it resumes where it stopped), so those
            // are marked interrupted for an operator to run again.
            let prepared = match r.kind {
                RunKind::Deploy => tenantry_engine::prepare(catalog, client, ns, &opts).await,
                RunKind::Suspend => {
                    tenantry_engine::prepare_suspend(catalog, client, ns, &opts).await
                }
                RunKind::Resume => {
                    tenantry_engine::prepare_resume(catalog, client, ns, &opts).await
                }
                RunKind::Rollback | RunKind::Decommission | RunKind::Adopt => {
                    let why = format!(
                        "its process went away; run the {} of {client} in {ns} again",
                        r.kind
                    );
                    if self.catalog.interrupt_run(r.id, &why).await? {
                        tracing::warn!("run {} ({}) was abandoned: {why}", r.id, r.kind);
                    }
                    continue;
                }
            };
            match prepared.map(|p| self.carry_on(p, r.client, opts)) {
                // A peer took it over first.
                Err(tenantry_engine::DeployError::Store(
                    tenantry_store::StoreError::RunActive { run, .. },
                )) => {
                    tracing::debug!("run {} was taken over by another server (run {run})", r.id);
                }
                Ok(id) => {
                    tracing::info!(
                        "resumed the {} of {} in {} (run {} was interrupted) as run {id}",
                        r.kind,
                        r.client,
                        r.namespace,
                        r.id
                    );
                    resumed.push(id);
                }
                Err(e) => tracing::warn!("cannot resume run {}: {e}", r.id),
            }
        }
        Ok(resumed)
    }

    /// Drives rollout `id` in a task of its own, unless this process already does,
    /// until it ends (peers on the same catalog drive it alongside).
    pub fn drive_rollout(&self, id: i64) {
        if !self.driving.lock().is_ok_and(|mut d| d.insert(id)) {
            return;
        }
        let state = self.clone();
        let opts = tenantry_engine::rollout::DriveOptions {
            deploy: state.config.deploy.clone(),
            poll: Duration::from_millis(500),
            owner: format!("{}:web", tenantry_engine::lease_owner()),
        };
        tokio::spawn(async move {
            match tenantry_engine::rollout::drive(&state.catalog, id, &opts).await {
                Ok(s) => tracing::info!(rollout = id, status = s.as_str(), "rollout driven"),
                Err(e) => tracing::warn!(rollout = id, "cannot drive the rollout: {e}"),
            }
            if let Some(f) = state.fleet.get() {
                f.nudge();
            }
            if let Ok(mut d) = state.driving.lock() {
                d.remove(&id);
            }
        });
    }

    /// Every `every`, drives the rollouts not over yet that this process does not
    /// drive already (its peers on the same catalog drive them too, sharing clients).
    pub fn drive_rollouts_every(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                match state.catalog.active_rollouts().await {
                    Ok(ids) => ids.into_iter().for_each(|id| state.drive_rollout(id)),
                    Err(e) => tracing::warn!("cannot read the rollouts: {e}"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Every `every`, deploys the drifted environments of namespaces with self-heal
    /// on (see [`heal_once`](Self::heal_once)).
    pub fn self_heal_every(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = state.heal_once().await {
                    tracing::warn!("self-heal could not run: {e}");
                }
                if let Err(e) = state.tell_drift_once().await {
                    tracing::warn!("cannot queue the drift webhooks: {e}");
                }
            }
        })
    }

    /// Queues `drift.detected` for each environment the fleet newly finds drifted from
    /// its last revision (not while a run is under way): once across every server on
    /// the catalog and through restarts (a notice per client, namespace and revision);
    /// once its drift clears, a new drift is told again. How many were told now.
    pub async fn tell_drift_once(&self) -> Result<usize, WebError> {
        let rows = self.fleet().rows();
        // What changed since this process last looked: (row, drifted now).
        let mut changed = Vec::new();
        if let Ok(seen) = self.drift_told.lock() {
            for r in &rows {
                let running = r
                    .last_run
                    .as_ref()
                    .is_some_and(|run| run.status == RunStatus::Running);
                if running {
                    continue;
                }
                let drifted = r.drifted && r.revision.is_some();
                let key = (r.client, r.namespace.clone(), r.revision);
                if seen.get(&key) != Some(&drifted) {
                    changed.push((r.clone(), drifted));
                }
            }
        }
        let mut told = 0;
        for (r, drifted) in changed {
            let prefix = format!("drift/{}/{}/", r.namespace, r.client);
            let key = (r.client, r.namespace.clone(), r.revision);
            // Remembered once the catalog has it, so that a failure is tried again.
            let remember = || {
                if let Ok(mut seen) = self.drift_told.lock() {
                    seen.insert(key.clone(), drifted);
                }
            };
            if !drifted {
                self.catalog.forget_notice(&prefix).await?;
                remember();
                continue;
            }
            let data = serde_json::json!({
                "client": r.client.to_string(),
                "namespace": r.namespace,
                "revision": r.revision,
                "objects_out_of_sync": r.out_of_sync,
                "reason": format!("{} object(s) out of sync", r.out_of_sync),
            });
            let notice = format!("{prefix}{}", r.revision.unwrap_or(0));
            if self
                .catalog
                .notify_once(&notice, tenantry_core::webhook::Event::DriftDetected, &data)
                .await?
            {
                told += 1;
            }
            remember();
        }
        Ok(told)
    }

    /// One pass of self-heal: in each namespace with self-heal on, every environment
    /// the fleet finds drifted from its last revision — not while a run is under way,
    /// not after a failed run (deploying the same failure again heals
    /// nothing: that needs a rollback or a fix), and not again within the gap — is
    /// deployed, at most a few per namespace per pass, each audited with what differed.
    /// The runs started.
    pub async fn heal_once(&self) -> Result<Vec<i64>, WebError> {
        let healing: Vec<String> = self
            .catalog
            .namespaces()
            .await?
            .into_iter()
            .filter(|n| n.self_heal)
            .map(|n| n.name.as_str().to_owned())
            .collect();
        if healing.is_empty() {
            return Ok(Vec::new());
        }
        let fleet = self.fleet();
        let mut started = Vec::new();
        for ns in &healing {
            let due: Vec<_> = fleet
                .rows()
                .into_iter()
                .filter(|r| &r.namespace == ns && r.drifted && r.revision.is_some())
                .filter(|r| {
                    r.last_run.as_ref().is_none_or(|run| {
                        !matches!(run.status, RunStatus::Running | RunStatus::Failed)
                    })
                })
                .collect();
            let mut this_pass = 0;
            for row in due {
                if this_pass == HEALS_PER_PASS {
                    break;
                }
                let key = (row.client, ns.clone());
                {
                    let healed = self.healed.lock().unwrap_or_else(|e| e.into_inner());
                    if healed
                        .get(&key)
                        .is_some_and(|t| t.elapsed() < self.config.heal_gap)
                    {
                        continue;
                    }
                }
                let what: Vec<String> = fleet
                    .environment(row.client, ns)
                    .map(|(_, v)| {
                        v.out_of_sync()
                            .map(|o| match o.sync {
                                SyncState::Drifted => format!(
                                    "{} {} ({})",
                                    o.kind,
                                    o.name,
                                    o.diff
                                        .iter()
                                        .map(|d| d.path.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                                s => format!("{} {} {}", o.kind, o.name, s.as_str()),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                match self
                    .start_operation(row.client, ns, tenantry_engine::Operation::Deploy)
                    .await
                {
                    Ok(run) => {
                        self.healed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(key, Instant::now());
                        self.audit(
                            "self-heal",
                            "server",
                            "self-heal",
                            &format!("{} in {ns}", row.client),
                            &format!("run {run}; out of sync: {}", what.join("; ")),
                        )
                        .await;
                        tracing::info!(run, client = %row.client, %ns, "self-heal deploy started");
                        started.push(run);
                        this_pass += 1;
                    }
                    Err(e) => tracing::info!(client = %row.client, %ns, "self-heal skipped: {e}"),
                }
            }
        }
        Ok(started)
    }
}
