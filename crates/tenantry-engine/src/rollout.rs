//! Fleet rollouts: one change (a new image, an env var, a fixed template) to many
//! clients of a namespace, canary first, in batches, halted on failure. [`preview`]
//! says which clients would change and how (the diff of their rendering against what
//! runs) and which are up to date; [`start`] stores the rollout in the catalog;
//! [`drive`] carries it out under a claim (whoever holds it drives; a peer or the next
//! server takes over when its holder goes quiet), asking core's
//! [`tenantry_core::rollout::next`] what to do each time; [`undo`] rolls every client it
//! touched back to the revision it had before.

use std::time::Duration;

use serde::Serialize;
use tenantry_core::ClientId;
use tenantry_core::fleet::{ObjectView, SyncState};
use tenantry_core::health::EnvHealth;
use tenantry_core::rollout::{ClientState, Next, Plan, Status, next, shown};
use tenantry_core::webhook::Event;
use tenantry_store::{Catalog, EnvState, RunStatus, unix_now};

use crate::deploy::{DeployError, Outcome};
use crate::exec::DeployOptions;
use crate::fleet::{Against, observe, observe_client, report};
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
    let mut out = Vec::new();
    for c in clients {
        let revision = catalog.revisions(c, ns).await?.last().map(|r| r.number);
        let (changes, healthy) = match observe_client(catalog, c, ns, Against::Rendering).await? {
            Some(seen) => {
                let healthy = matches!(seen.row.health, EnvHealth::Healthy | EnvHealth::Suspended);
                let changes = report(catalog, seen)
                    .await
                    .map_err(DeployError::from)?
                    .objects
                    .into_iter()
                    .filter(|o| o.sync != SyncState::InSync)
                    .collect::<Vec<_>>();
                (changes, healthy)
            }
            None => (Vec::new(), false),
        };
        out.push(ClientChange {
            client: c,
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
    /// A holder not heard from for this long is taken over.
    pub stale_after: Duration,
    /// Who drives, as the claim names it.
    pub owner: String,
}

/// Brings the states of clients whose deploy was under way up to date with their runs:
/// a deploy that ended is a success or a failure; one that a crash interrupted and a
/// server resumed is followed to the run that resumed it; a client claimed by a holder
/// that died before its run began is pending again (nothing was sent for it).
async fn refresh(catalog: &Catalog, id: i64, opts: &DeployOptions) -> Result<(), RolloutError> {
    let r = catalog.rollout(id).await?;
    for c in r.clients.iter().filter(|c| c.state == ClientState::Running) {
        let Some(run) = c.run else {
            catalog
                .set_rollout_client(id, c.client, ClientState::Pending, None, None)
                .await?;
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
                relaunch(catalog, id, &r.namespace, c.client, opts).await?;
            }
            RunStatus::Running => {}
            RunStatus::Succeeded => {
                let at = u64::try_from(unix_now()).unwrap_or(0);
                catalog
                    .set_rollout_client(id, c.client, ClientState::Succeeded { at }, None, None)
                    .await?;
            }
            RunStatus::Failed => {
                catalog
                    .set_rollout_client(
                        id,
                        c.client,
                        ClientState::Failed,
                        None,
                        rec.reason.as_deref(),
                    )
                    .await?;
            }
            RunStatus::Interrupted => {
                // Resumed by a server's sweep as a later run of the same client.
                let later = catalog
                    .latest_runs(&[c.client])
                    .await?
                    .into_iter()
                    .find(|l| l.namespace == r.namespace && l.id > run);
                match later {
                    Some(l) => {
                        catalog
                            .set_rollout_client(
                                id,
                                c.client,
                                ClientState::Running,
                                Some(l.id),
                                None,
                            )
                            .await?;
                    }
                    None => {
                        catalog
                            .set_rollout_client(
                                id,
                                c.client,
                                ClientState::Failed,
                                None,
                                Some("its deploy was interrupted and not resumed"),
                            )
                            .await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Starts one client's deploy for rollout `id`, if no one else has.
async fn launch(
    catalog: &Catalog,
    id: i64,
    ns: &str,
    client: ClientId,
    opts: &DeployOptions,
) -> Result<(), RolloutError> {
    if !catalog.start_rollout_client(id, client).await? {
        return Ok(());
    }
    relaunch(catalog, id, ns, client, opts).await
}

/// Starts (or takes over) the deploy of a client already marked running.
async fn relaunch(
    catalog: &Catalog,
    id: i64,
    ns: &str,
    client: ClientId,
    opts: &DeployOptions,
) -> Result<(), RolloutError> {
    match prepare_operation(catalog, client, ns, Operation::Deploy, opts).await {
        Ok(prepared) => {
            let run = prepared.run_id();
            catalog
                .set_rollout_client(id, client, ClientState::Running, Some(run), None)
                .await?;
            let opts = opts.clone();
            tokio::spawn(async move {
                if let Err(e) = prepared.execute(&opts, &|_| {}).await {
                    tracing::warn!(
                        run,
                        "a rollout's deploy of {client} ended with an error: {e}"
                    );
                }
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

/// Drives rollout `id` until it is over, or until another holder has it; its status
/// then. Safe to call from several processes at once: one drives, the others return.
pub async fn drive(
    catalog: &Catalog,
    id: i64,
    opts: &DriveOptions,
) -> Result<Status, RolloutError> {
    let stale = i64::try_from(opts.stale_after.as_secs()).unwrap_or(60);
    loop {
        if !catalog.claim_rollout(id, &opts.owner, stale).await? {
            return Ok(catalog.rollout(id).await?.status);
        }
        refresh(catalog, id, &opts.deploy).await?;
        let r = catalog.rollout(id).await?;
        let now = u64::try_from(unix_now()).unwrap_or(0);
        let step = next(&r.plan, &r.states(), r.request, now);
        let status = shown(&step, r.request);
        if status != r.status && !status.is_final() {
            catalog.set_rollout_status(id, status, None).await?;
        }
        match step {
            Next::Start(clients) => {
                for c in clients {
                    launch(catalog, id, &r.namespace, c, &opts.deploy).await?;
                }
            }
            Next::Wait { until } => {
                let wait = until
                    .map(|u| Duration::from_secs(u.saturating_sub(now)))
                    .map_or(opts.poll, |w| w.min(opts.poll));
                tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
            }
            Next::End(end) => {
                let failed: Vec<String> = r
                    .clients
                    .iter()
                    .filter(|c| c.state == ClientState::Failed)
                    .map(|c| c.client.to_string())
                    .collect();
                let reason = match end {
                    Status::Halted => Some(format!("halted: failed {}", failed.join(", "))),
                    Status::Aborted => Some("aborted by an operator".to_owned()),
                    _ => None,
                };
                catalog
                    .set_rollout_status(id, end, reason.as_deref())
                    .await?;
                let event = if end == Status::Halted {
                    Event::RolloutHalted
                } else {
                    Event::RolloutFinished
                };
                let data = serde_json::json!({
                    "rollout": id,
                    "namespace": r.namespace,
                    "status": end.as_str(),
                    "reason": reason,
                    "failed": failed,
                });
                if let Err(e) = catalog.notify(event, &data).await {
                    tracing::warn!(rollout = id, "cannot queue its webhooks: {e}");
                }
                return Ok(end);
            }
        }
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
