//! Fleet rollouts: one change (a new image, an env var, a fixed template) to many
//! clients of a namespace, canary first, in batches, halted on failure. [`preview`]
//! says which clients would change and how (the diff of their rendering against what
//! runs) and which are up to date; [`start`] stores the rollout in the catalog;
//! [`drive`] carries it out under a claim (whoever holds it drives; a peer or the next
//! server takes over when its holder goes quiet), asking core's
//! [`tenantry_core::rollout::next`] what to do each time; [`undo`] rolls every client it
//! touched back to the revision it had before.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use serde::Serialize;
use tenantry_core::ClientId;
use tenantry_core::fleet::{ObjectView, SyncState};
use tenantry_core::health::EnvHealth;
use tenantry_core::rollout::{ClientState, Next, Plan, Status};
use tenantry_core::webhook::Event;
use tenantry_store::{Catalog, EnvState, RolloutRecord, RunStatus, unix_now};

use crate::deploy::{DeployError, Outcome};
use crate::exec::DeployOptions;
use crate::fleet::{observe, observe_rendered, report};
use crate::ops::{Operation, prepare_operation};

/// Which clients of the namespace a rollout concerns.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every client deployed there.
    All,
    Clients(Vec<ClientId>),
    /// Those whose environment has this health now.
    Health(EnvHealth),
}

/// Which clients go first.
#[derive(Debug, Clone)]
pub enum Canary {
    None,
    /// The first N clients that change.
    First(usize),
    Clients(Vec<ClientId>),
}

/// How a rollout is to go.
#[derive(Debug, Clone)]
pub struct RolloutOptions {
    pub selection: Selection,
    pub canary: Canary,
    pub batch: usize,
    pub max_failures: usize,
    pub soak: Duration,
}

/// One client in a rollout's preview.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ClientChange {
    pub client: ClientId,
    pub up_to_date: bool,
    /// Its objects a deploy would change (secrets masked).
    pub changes: Vec<ObjectView>,
    /// Its latest revision now.
    pub revision: Option<i64>,
}

/// What a rollout would do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub namespace: String,
    pub plan: Plan,
    pub clients: Vec<ClientChange>,
}

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error(transparent)]
    Store(#[from] tenantry_store::StoreError),
    #[error("{0}")]
    Refused(String),
}

async fn selected(
    catalog: &Catalog,
    ns: &str,
    selection: &Selection,
) -> Result<Vec<ClientId>, RolloutError> {
    Ok(match selection {
        Selection::All => catalog
            .environments_in(ns)
            .await?
            .into_iter()
            .filter(|(_, e)| e.state == EnvState::Deployed)
            .map(|(c, _)| c)
            .collect(),
        Selection::Clients(cs) => {
            for c in cs {
                catalog.client(*c).await?;
            }
            cs.clone()
        }
        Selection::Health(h) => observe(catalog, ns)
            .await?
            .into_iter()
            .filter(|o| o.row.health == *h)
            .map(|o| o.row.client)
            .collect(),
    })
}

/// Which clients a rollout would change and how, and its plan. Reads only.
pub async fn preview(
    catalog: &Catalog,
    ns: &str,
    opts: &RolloutOptions,
) -> Result<Preview, RolloutError> {
    let mut clients = selected(catalog, ns, &opts.selection).await?;
    clients.sort();
    clients.dedup();
    if clients.is_empty() {
        return Err(RolloutError::Refused(format!(
            "no client of {ns} is selected: deploy some first, or name them"
        )));
    }
    // The cluster read once for them all (one list per kind), each judged against
    // what the catalog renders for it today.
    let mut out = Vec::with_capacity(clients.len());
    for seen in observe_rendered(catalog, ns, &clients).await? {
        let healthy = matches!(seen.row.health, EnvHealth::Healthy | EnvHealth::Suspended);
        let client = seen.row.client;
        let revision = seen.row.revision;
        let changes: Vec<ObjectView> = report(catalog, seen)
            .await
            .map_err(DeployError::from)?
            .objects
            .into_iter()
            .filter(|o| o.sync != SyncState::InSync)
            .collect();
        out.push(ClientChange {
            client,
            // As rendered and healthy; one whose last deploy failed is deployed again.
            up_to_date: changes.is_empty() && healthy,
            changes,
            revision,
        });
    }
    let changing: Vec<ClientId> = out
        .iter()
        .filter(|c| !c.up_to_date)
        .map(|c| c.client)
        .collect();
    let canary: Vec<ClientId> = match &opts.canary {
        Canary::None => Vec::new(),
        Canary::First(n) => changing.iter().take(*n).copied().collect(),
        Canary::Clients(cs) => {
            if let Some(c) = cs.iter().find(|c| !out.iter().any(|x| x.client == **c)) {
                return Err(RolloutError::Refused(format!(
                    "canary {c} is not among the selected clients"
                )));
            }
            cs.iter()
                .filter(|c| changing.contains(c))
                .copied()
                .collect()
        }
    };
    let rest = changing
        .into_iter()
        .filter(|c| !canary.contains(c))
        .collect();
    Ok(Preview {
        namespace: ns.to_owned(),
        plan: Plan {
            canary,
            rest,
            batch: opts.batch.max(1),
            max_failures: opts.max_failures,
            soak_secs: opts.soak.as_secs(),
        },
        clients: out,
    })
}

/// Stores the rollout `preview` planned; its id. Nothing is deployed yet.
pub async fn start(catalog: &Catalog, preview: &Preview, by: &str) -> Result<i64, RolloutError> {
    if preview.plan.canary.is_empty() && preview.plan.rest.is_empty() {
        return Err(RolloutError::Refused(format!(
            "every selected client of {} is up to date: nothing to roll out",
            preview.namespace
        )));
    }
    let order = preview.plan.canary.iter().chain(&preview.plan.rest);
    let mut clients: Vec<(ClientId, ClientState, Option<i64>)> = order
        .map(|c| {
            let before = preview
                .clients
                .iter()
                .find(|x| x.client == *c)
                .and_then(|x| x.revision);
            (*c, ClientState::Pending, before)
        })
        .collect();
    clients.extend(
        preview
            .clients
            .iter()
            .filter(|c| c.up_to_date)
            .map(|c| (c.client, ClientState::UpToDate, c.revision)),
    );
    Ok(catalog
        .create_rollout(&preview.namespace, &preview.plan, &clients, by)
        .await?)
}

/// How [`drive`] goes about it.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    pub deploy: DeployOptions,
    /// How often it looks again while waiting.
    pub poll: Duration,
    /// Who drives, as the clients it takes name it. (A deploy whose driver went
    /// quiet for `deploy.stale_after` is taken over.)
    pub owner: String,
}

/// Sets client `i` of `r` in the catalog and in `r`.
async fn set(
    catalog: &Catalog,
    r: &mut RolloutRecord,
    i: usize,
    state: ClientState,
    run: Option<i64>,
    reason: Option<&str>,
) -> Result<(), RolloutError> {
    let c = &mut r.clients[i];
    catalog
        .set_rollout_client(r.id, c.client, state, run, reason)
        .await?;
    c.state = state;
    c.run = run.or(c.run);
    c.reason = reason.map(str::to_owned);
    Ok(())
}

/// Brings the states of clients whose deploy was under way up to date with their runs:
/// a deploy that ended is a success or a failure; one that a crash interrupted and a
/// server resumed is followed to the run that resumed it; one whose driver died is
/// taken over; a client taken by a driver that died before its run began is pending
/// again (nothing was sent for it).
async fn refresh(
    catalog: &Catalog,
    r: &mut RolloutRecord,
    drive: &DriveOptions,
    wake: &Arc<Notify>,
) -> Result<(), RolloutError> {
    let opts = &drive.deploy;
    for i in 0..r.clients.len() {
        let c = &r.clients[i];
        if c.state != ClientState::Running {
            continue;
        }
        let client = c.client;
        let Some(run) = c.run else {
            // Taken by a driver that has not recorded its run: pending again once that
            // driver has been quiet for a lease (it died before sending anything).
            let before = unix_now() - i64::try_from(opts.stale_after.as_secs()).unwrap_or(60);
            if catalog.lapse_rollout_client(r.id, client, before).await? {
                r.clients[i].state = ClientState::Pending;
            }
            continue;
        };
        let rec = catalog.run(run).await?;
        match rec.status {
            // Its process died mid-deploy (a crash, kill -9): deploy it again, taking
            // the run over (the same plan; what was applied stays applied).
            RunStatus::Running
                if rec.owner != crate::lease::owner()
                    && crate::lease::abandoned(&rec, opts.stale_after).is_some() =>
            {
                let ns = r.namespace.clone();
                relaunch(catalog, r.id, &ns, client, drive, wake).await?;
            }
            RunStatus::Running => {}
            RunStatus::Succeeded => {
                let at = u64::try_from(unix_now()).unwrap_or(0);
                set(catalog, r, i, ClientState::Succeeded { at }, None, None).await?;
            }
            RunStatus::Failed => {
                let why = rec.reason.as_deref();
                set(catalog, r, i, ClientState::Failed, None, why).await?;
            }
            RunStatus::Interrupted => {
                // Resumed by a server's sweep as a later run of the same client.
                let later = catalog
                    .latest_runs(&[client])
                    .await?
                    .into_iter()
                    .find(|l| l.namespace == r.namespace && l.id > run);
                match later {
                    Some(l) => set(catalog, r, i, ClientState::Running, Some(l.id), None).await?,
                    None => {
                        let why = "its deploy was interrupted and not resumed";
                        set(catalog, r, i, ClientState::Failed, None, Some(why)).await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Starts (or takes over) the deploy of a client already marked running; `wake` is
/// told when it ends.
async fn relaunch(
    catalog: &Catalog,
    id: i64,
    ns: &str,
    client: ClientId,
    drive: &DriveOptions,
    wake: &Arc<Notify>,
) -> Result<(), RolloutError> {
    let opts = &drive.deploy;
    match prepare_operation(catalog, client, ns, Operation::Deploy, opts).await {
        Ok(prepared) => {
            let run = prepared.run_id();
            catalog
                .run_rollout_client(id, client, run, &drive.owner)
                .await?;
            let opts = opts.clone();
            let wake = Arc::clone(wake);
            tokio::spawn(async move {
                if let Err(e) = prepared.execute(&opts, &|_| {}).await {
                    tracing::warn!(
                        run,
                        "a rollout's deploy of {client} ended with an error: {e}"
                    );
                }
                wake.notify_one();
            });
        }
        // Its deploy is alive after all (a peer resumed it, or its holder was only
        // slow): follow that run rather than call the client failed.
        Err(DeployError::Store(tenantry_store::StoreError::RunActive { run, .. })) => {
            catalog
                .set_rollout_client(id, client, ClientState::Running, Some(run), None)
                .await?;
        }
        Err(e) => {
            catalog
                .set_rollout_client(id, client, ClientState::Failed, None, Some(&e.to_string()))
                .await?;
        }
    }
    Ok(())
}

/// Drives rollout `id` until it is over; its status then. Several drivers (servers
/// on one catalog, a CLI) may drive it at once and share its work: each step is
/// decided under the rollout's lock in the catalog ([`Catalog::step_rollout`]), a
/// client is started by one of them, and a deploy whose driver died is taken over.
/// It looks again as soon as a deploy it started ends, and every `poll` otherwise
/// (for an operator's request, a soak's end, a deploy another driver runs).
pub async fn drive(
    catalog: &Catalog,
    id: i64,
    opts: &DriveOptions,
) -> Result<Status, RolloutError> {
    let wake = Arc::new(Notify::new());
    loop {
        let mut r = catalog.rollout(id).await?;
        if r.status.is_final() {
            return Ok(r.status);
        }
        refresh(catalog, &mut r, opts, &wake).await?;
        let now = u64::try_from(unix_now()).unwrap_or(0);
        let lease = opts.deploy.stale_after.as_secs();
        let step = catalog.step_rollout(id, &opts.owner, now, lease).await?;
        match step.next {
            Next::Start(clients) => {
                for c in clients {
                    relaunch(catalog, id, &r.namespace, c, opts, &wake).await?;
                }
            }
            Next::Wait { until } => {
                let wait = until
                    .map(|u| Duration::from_secs(u.saturating_sub(now)))
                    .map_or(opts.poll, |w| w.min(opts.poll));
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
                }
            }
            Next::End(end) => {
                if step.ended {
                    tell(catalog, &step.record).await;
                }
                return Ok(end);
            }
        }
    }
}

/// Queues the webhooks of a rollout that just ended.
async fn tell(catalog: &Catalog, r: &RolloutRecord) {
    let event = if r.status == Status::Halted {
        Event::RolloutHalted
    } else {
        Event::RolloutFinished
    };
    let failed = r.failed();
    let data = serde_json::json!({
        "rollout": r.id,
        "namespace": r.namespace,
        "status": r.status.as_str(),
        "reason": r.reason,
        "failed": failed,
    });
    if let Err(e) = catalog.notify(event, &data).await {
        tracing::warn!(rollout = r.id, "cannot queue its webhooks: {e}");
    }
}

/// Rolls every client rollout `id` deployed back to the revision it had before, one
/// after another; each client's outcome. Refused while the rollout runs.
pub async fn undo(
    catalog: &Catalog,
    id: i64,
    opts: &DeployOptions,
) -> Result<Vec<(ClientId, Result<Outcome, String>)>, RolloutError> {
    let r = catalog.rollout(id).await?;
    if !r.status.is_final() {
        return Err(RolloutError::Refused(format!(
            "rollout {id} is {}: abort it first, then undo it",
            r.status.as_str()
        )));
    }
    let mut out = Vec::new();
    let touched = r.clients.iter().filter(|c| {
        matches!(c.state, ClientState::Succeeded { .. } | ClientState::Failed) && c.run.is_some()
    });
    for c in touched {
        let Some(to) = c.revision_before else {
            out.push((
                c.client,
                Err("it had no revision before the rollout".to_owned()),
            ));
            continue;
        };
        let done = match prepare_operation(
            catalog,
            c.client,
            &r.namespace,
            Operation::Rollback(Some(to)),
            opts,
        )
        .await
        {
            Ok(p) => p.execute(opts, &|_| {}).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        out.push((c.client, done));
    }
    Ok(out)
}
