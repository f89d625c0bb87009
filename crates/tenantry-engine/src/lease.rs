//! Runs are leases: one running run per client and namespace (a unique index in the
//! catalog), owned by a process that renews a heartbeat. A run whose process on this
//! host is gone, or whose owner elsewhere has not been heard from for `stale_after`, is
//! abandoned: the next operation (or a server's sweep) takes it over, and only one
//! taker wins, by the database.

use std::time::Duration;

use tenantry_core::ClientId;
use tenantry_store::{Catalog, RunKind, RunRecord, StoreError};

/// What this process is called in the runs table: host and pid.
pub fn owner() -> String {
    format!("{}:{}", owner_host(), std::process::id())
}

fn owner_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Why a running run is abandoned, if it is: its process on this host is gone, or its
/// owner has not been heard from for longer than `stale_after`.
pub(crate) fn abandoned(run: &RunRecord, stale_after: Duration) -> Option<String> {
    let owner = &run.owner;
    if let Some((host, pid)) = owner.rsplit_once(':')
        && host == owner_host()
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

/// Starts a run of `kind`, taking over an abandoned one (which is marked interrupted).
/// When two processes race to take one over, one wins; the other is told a run is
/// active.
pub(crate) async fn start(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    kind: RunKind,
    stale_after: Duration,
) -> Result<RunRecord, StoreError> {
    match catalog.start_run(client, ns, kind, &owner()).await {
        Err(StoreError::RunActive { run, .. }) => {
            let active = catalog.run(run).await?;
            let Some(why) = abandoned(&active, stale_after) else {
                return Err(active_error(active));
            };
            if !catalog
                .interrupt_run(run, &format!("{why}; resumed by a new run"))
                .await?
            {
                // Another process took it over first.
                return Err(active_error(catalog.run(run).await?));
            }
            catalog.start_run(client, ns, kind, &owner()).await
        }
        other => other,
    }
}

fn active_error(r: RunRecord) -> StoreError {
    StoreError::RunActive {
        client: r.client,
        namespace: r.namespace,
        run: r.id,
        started_at: r.started_at,
        owner: r.owner,
    }
}

/// Runs left `running` by a process that is gone (a crash, a kill -9; on another host,
/// unheard for `stale_after`): what a server resumes, at start and in its sweeps.
pub async fn orphaned_runs(
    catalog: &Catalog,
    stale_after: Duration,
) -> Result<Vec<RunRecord>, StoreError> {
    let mut runs = catalog.running_runs().await?;
    runs.retain(|r| abandoned(r, stale_after).is_some());
    Ok(runs)
}
