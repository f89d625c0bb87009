//! Fleet rollouts in the catalog: the plan, what operators asked (go, pause, abort), the
//! status, each client's state with its run, the driver that started it and the
//! revision it had before. Any number of drivers (servers on one catalog, a CLI) carry
//! a rollout out together: each step is decided under the rollout's lock
//! ([`Catalog::step_rollout`]), so a client is started once and the batch holds.

use serde::Serialize;
use sqlx::Row;
use tenantry_core::ClientId;
use tenantry_core::rollout::{ClientState, Plan, Request, Status};

use sqlx::AnyConnection;
use tenantry_core::rollout::{Next, my_share, next, shown};

use crate::clients::number_of;
use crate::db::{Backend, Catalog, client_at, now};
use crate::error::StoreError;

/// One client of a rollout.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RolloutClient {
    pub client: ClientId,
    pub canary: bool,
    #[serde(flatten)]
    pub state: ClientState,
    pub run: Option<i64>,
    /// Its latest revision when the rollout was planned (what `undo` goes back to).
    pub revision_before: Option<i64>,
    pub reason: Option<String>,
    /// The driver that started it (a server or a CLI: host, process).
    pub driver: Option<String>,
}

/// What one [`Catalog::step_rollout`] decided.
#[derive(Debug, Clone)]
pub struct RolloutStep {
    /// The rollout as it stands after the step (the clients it started running).
    pub record: RolloutRecord,
    pub next: Next,
    /// Whether this step ended the rollout: its caller tells the webhooks.
    pub ended: bool,
}

/// A rollout as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RolloutRecord {
    pub id: i64,
    pub namespace: String,
    pub plan: Plan,
    #[serde(skip)]
    pub request: Request,
    pub status: Status,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub owner: Option<String>,
    pub clients: Vec<RolloutClient>,
}

impl RolloutRecord {
    /// The clients that failed, as their ids read.
    pub fn failed(&self) -> Vec<String> {
        self.clients
            .iter()
            .filter(|c| c.state == ClientState::Failed)
            .map(|c| c.client.to_string())
            .collect()
    }

    /// Each client's state, for [`tenantry_core::rollout::next`].
    pub fn states(&self) -> std::collections::BTreeMap<ClientId, ClientState> {
        self.clients.iter().map(|c| (c.client, c.state)).collect()
    }
}

fn request_str(r: Request) -> &'static str {
    match r {
        Request::Go => "go",
        Request::Pause => "pause",
        Request::Abort => "abort",
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn state_of(tag: &str, done_at: Option<i64>) -> Result<ClientState, StoreError> {
    Ok(match tag {
        "pending" => ClientState::Pending,
        "up-to-date" => ClientState::UpToDate,
        "running" => ClientState::Running,
        "succeeded" => ClientState::Succeeded {
            at: u64::try_from(done_at.unwrap_or(0)).unwrap_or(0),
        },
        "failed" => ClientState::Failed,
        other => return Err(corrupt(format!("a rollout client in state {other:?}"))),
    })
}

fn tag_of(s: ClientState) -> &'static str {
    match s {
        ClientState::Pending => "pending",
        ClientState::UpToDate => "up-to-date",
        ClientState::Running => "running",
        ClientState::Succeeded { .. } => "succeeded",
        ClientState::Failed => "failed",
    }
}

/// Rollout `id` read on the caller's connection (or transaction).
async fn rollout_in(conn: &mut AnyConnection, id: i64) -> Result<RolloutRecord, StoreError> {
    let row = sqlx::query(
        "SELECT id, namespace, plan, request, status, reason, created_by, created_at, updated_at, owner FROM rollouts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::RolloutNotFound(id))?;
    let plan: String = row.try_get(2)?;
    let request: String = row.try_get(3)?;
    let status: String = row.try_get(4)?;
    let clients = sqlx::query(
        "SELECT client_number, canary, state, run_id, revision_before, reason, done_at, claimed_by FROM rollout_clients WHERE rollout_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        let tag: String = r.try_get(2)?;
        Ok(RolloutClient {
            client: client_at(r, 0)?,
            canary: r.try_get::<i64, _>(1)? != 0,
            state: state_of(&tag, r.try_get(6)?)?,
            run: r.try_get(3)?,
            revision_before: r.try_get(4)?,
            reason: r.try_get(5)?,
            driver: r.try_get(7)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(RolloutRecord {
        id: row.try_get(0)?,
        namespace: row.try_get(1)?,
        plan: serde_json::from_str(&plan).map_err(corrupt)?,
        request: match request.as_str() {
            "pause" => Request::Pause,
            "abort" => Request::Abort,
            _ => Request::Go,
        },
        status: serde_json::from_value(serde_json::Value::String(status)).map_err(corrupt)?,
        reason: row.try_get(5)?,
        created_by: row.try_get(6)?,
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        owner: row.try_get(9)?,
        clients,
    })
}

/// The drivers of rollout `id` heard from within `lease_secs` of `at`, with when.
async fn live_drivers(
    conn: &mut AnyConnection,
    id: i64,
    at: i64,
    lease_secs: u64,
) -> Result<Vec<(String, i64)>, StoreError> {
    sqlx::query(
        "SELECT driver, heartbeat FROM rollout_drivers WHERE rollout_id = $1 AND heartbeat >= $2",
    )
    .bind(id)
    .bind(at.saturating_sub(i64::try_from(lease_secs).unwrap_or(i64::MAX)))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// What driver `by`, one of `drivers` live ones, is to do next with rollout `r`: core's
/// [`next`], cut to its share of the batch.
fn decide(r: &RolloutRecord, drivers: usize, by: &str, now_secs: u64) -> Next {
    let mine = r
        .clients
        .iter()
        .filter(|c| c.state == ClientState::Running && c.driver.as_deref() == Some(by))
        .count();
    my_share(
        &r.plan,
        next(&r.plan, &r.states(), r.request, now_secs),
        drivers,
        mine,
    )
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Catalog {
    /// Stores a new rollout of `ns`: its plan and each client's first state (pending or
    /// up to date) with the revision it has now. Its id.
    pub async fn create_rollout(
        &self,
        ns: &str,
        plan: &Plan,
        clients: &[(ClientId, ClientState, Option<i64>)],
        by: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let now = now();
        let plan_json = serde_json::to_string(plan).map_err(corrupt)?;
        let id: i64 = sqlx::query(
            "INSERT INTO rollouts (namespace, plan, request, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, 'go', 'running', $3, $4, $4) RETURNING id",
        )
        .bind(ns)
        .bind(plan_json)
        .bind(by)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        for (i, (c, state, before)) in clients.iter().enumerate() {
            sqlx::query(
                "INSERT INTO rollout_clients (rollout_id, client_number, position, canary, state, revision_before) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(number_of(*c))
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(i64::from(plan.canary.contains(c)))
            .bind(tag_of(*state))
            .bind(*before)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn rollout(&self, id: i64) -> Result<RolloutRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        rollout_in(&mut conn, id).await
    }

    /// Every rollout, newest first.
    pub async fn rollouts(&self) -> Result<Vec<RolloutRecord>, StoreError> {
        let ids: Vec<i64> = sqlx::query("SELECT id FROM rollouts ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.rollout(id).await?);
        }
        Ok(out)
    }

    /// The rollouts not over yet (running or paused).
    pub async fn active_rollouts(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query(
                "SELECT id FROM rollouts WHERE status IN ('running', 'paused') ORDER BY id",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
        )
    }

    /// Records what an operator asked; refused once the rollout is over.
    pub async fn request_rollout(&self, id: i64, request: Request) -> Result<(), StoreError> {
        let r = self.rollout(id).await?;
        if r.status.is_final() {
            return Err(StoreError::RolloutOver {
                id,
                status: r.status.as_str(),
            });
        }
        sqlx::query("UPDATE rollouts SET request = $1, updated_at = $2 WHERE id = $3")
            .bind(request_str(request))
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One step of rollout `id`, decided under the rollout's lock so that drivers in
    /// several processes agree: every client's state is read, core's [`next`]
    /// decides, and the clients it starts are marked running (claimed by `by`), or the
    /// rollout ends, in the same transaction. A client is started by one step only;
    /// the batch, the canary's gate and `max_failures` hold across drivers; each of
    /// the drivers heard from within `lease_secs` starts at most its share of the
    /// batch ([`my_share`]).
    pub async fn step_rollout(
        &self,
        id: i64,
        by: &str,
        now_secs: u64,
        lease_secs: u64,
    ) -> Result<RolloutStep, StoreError> {
        if let Some(wait) = self.wait_unlocked(id, by, now_secs, lease_secs).await? {
            return Ok(wait);
        }
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM rollouts WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let mut record = rollout_in(&mut tx, id).await?;
        if record.status.is_final() {
            tx.commit().await?;
            return Ok(RolloutStep {
                next: Next::End(record.status),
                ended: false,
                record,
            });
        }
        let at = i64::try_from(now_secs).unwrap_or(i64::MAX);
        // This driver is heard from; those heard from within their lease share the batch.
        sqlx::query(
            "INSERT INTO rollout_drivers (rollout_id, driver, heartbeat) VALUES ($1, $2, $3) \
             ON CONFLICT (rollout_id, driver) DO UPDATE SET heartbeat = excluded.heartbeat",
        )
        .bind(id)
        .bind(by)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let live = live_drivers(&mut tx, id, at, lease_secs).await?;
        let mut step = decide(&record, live.len(), by, now_secs);
        let mut status = shown(&step, record.request);
        let mut reason = None;
        match step.clone() {
            Next::Start(clients) => {
                let mut taken = Vec::with_capacity(clients.len());
                for c in clients {
                    let done = sqlx::query(
                        "UPDATE rollout_clients SET state = 'running', run_id = NULL, reason = NULL, claimed_by = $1, claimed_at = $2 \
                         WHERE rollout_id = $3 AND client_number = $4 AND state = 'pending'",
                    )
                    .bind(by)
                    .bind(at)
                    .bind(id)
                    .bind(number_of(c))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if done == 0 {
                        continue;
                    }
                    taken.push(c);
                    if let Some(x) = record.clients.iter_mut().find(|x| x.client == c) {
                        x.state = ClientState::Running;
                        x.run = None;
                        x.driver = Some(by.to_owned());
                    }
                }
                step = Next::Start(taken);
            }
            Next::End(end) => {
                status = end;
                reason = match end {
                    Status::Halted => {
                        Some(format!("halted: failed {}", record.failed().join(", ")))
                    }
                    Status::Aborted => Some("aborted by an operator".to_owned()),
                    _ => None,
                };
            }
            Next::Wait { .. } => {}
        }
        sqlx::query(
            "UPDATE rollouts SET status = $1, reason = COALESCE($2, reason), updated_at = $3, owner = $4, heartbeat = $5 WHERE id = $6",
        )
        .bind(status.as_str())
        .bind(&reason)
        .bind(if status == record.status { record.updated_at.clone() } else { now() })
        .bind(if status.is_final() { None } else { Some(by) })
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let ended = status.is_final();
        record.status = status;
        if reason.is_some() {
            record.reason = reason;
        }
        Ok(RolloutStep {
            record,
            next: step,
            ended,
        })
    }

    /// The step, read without the lock, when it is only to wait with nothing to write:
    /// the status shown stands and this driver was heard from within a quarter of its
    /// lease. Waiting never breaks a rule, and the drivers' passes then take no write
    /// lock (on SQLite, every deploy's writes would queue behind them).
    async fn wait_unlocked(
        &self,
        id: i64,
        by: &str,
        now_secs: u64,
        lease_secs: u64,
    ) -> Result<Option<RolloutStep>, StoreError> {
        let record = self.rollout(id).await?;
        if record.status.is_final() {
            return Ok(None);
        }
        let at = i64::try_from(now_secs).unwrap_or(i64::MAX);
        let lease = i64::try_from(lease_secs).unwrap_or(i64::MAX);
        let mut conn = self.pool.acquire().await?;
        let beats = live_drivers(&mut conn, id, at, lease_secs).await?;
        let fresh = beats
            .iter()
            .any(|(d, beat)| d == by && *beat >= at - (lease / 4).max(1));
        if !fresh {
            return Ok(None);
        }
        let step = decide(&record, beats.len(), by, now_secs);
        if !matches!(step, Next::Wait { .. }) || shown(&step, record.request) != record.status {
            return Ok(None);
        }
        Ok(Some(RolloutStep {
            record,
            next: step,
            ended: false,
        }))
    }

    /// Client `client` of rollout `id` is pending again when the driver that took it
    /// was not heard from since `before` (seconds since the epoch) and recorded no run
    /// for it: it died before sending anything. Whether it was.
    pub async fn lapse_rollout_client(
        &self,
        id: i64,
        client: ClientId,
        before: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE rollout_clients SET state = 'pending', claimed_by = NULL, claimed_at = NULL \
             WHERE rollout_id = $1 AND client_number = $2 AND state = 'running' AND run_id IS NULL \
             AND (claimed_at IS NULL OR claimed_at < $3)",
        )
        .bind(id)
        .bind(number_of(client))
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Client `client` of rollout `id` runs as run `run` of driver `by` (who started
    /// it, or took over the deploy of a driver that died).
    pub async fn run_rollout_client(
        &self,
        id: i64,
        client: ClientId,
        run: i64,
        by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE rollout_clients SET state = 'running', run_id = $1, reason = NULL, claimed_by = $2, claimed_at = $3 \
             WHERE rollout_id = $4 AND client_number = $5",
        )
        .bind(run)
        .bind(by)
        .bind(unix_now())
        .bind(id)
        .bind(number_of(client))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets a client's state, run and reason.
    pub async fn set_rollout_client(
        &self,
        id: i64,
        client: ClientId,
        state: ClientState,
        run: Option<i64>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let done_at = match state {
            ClientState::Succeeded { at } => Some(i64::try_from(at).unwrap_or(i64::MAX)),
            _ => None,
        };
        sqlx::query(
            "UPDATE rollout_clients SET state = $1, run_id = COALESCE($2, run_id), reason = $3, done_at = $4 \
             WHERE rollout_id = $5 AND client_number = $6",
        )
        .bind(tag_of(state))
        .bind(run)
        .bind(reason)
        .bind(done_at)
        .bind(id)
        .bind(number_of(client))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
