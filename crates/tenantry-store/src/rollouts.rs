//! Fleet rollouts in the catalog: the plan, what operators asked (go, pause, abort), the
//! status, each client's state with its run and the revision it had before. A rollout
//! is driven by whoever holds its claim (an owner heard from within a lease); a client
//! is started once, by the update that moves it from pending to running.

use serde::Serialize;
use sqlx::Row;
use tenantry_core::ClientId;
use tenantry_core::rollout::{ClientState, Plan, Request, Status};

use crate::clients::number_of;
use crate::db::{Catalog, client_at, now};
use crate::error::StoreError;

/// One client of a rollout.
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
}

/// A rollout as stored.
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
        let row = sqlx::query(
            "SELECT id, namespace, plan, request, status, reason, created_by, created_at, updated_at, owner FROM rollouts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::RolloutNotFound(id))?;
        let plan: String = row.try_get(2)?;
        let request: String = row.try_get(3)?;
        let status: String = row.try_get(4)?;
        let clients = sqlx::query(
            "SELECT client_number, canary, state, run_id, revision_before, reason, done_at FROM rollout_clients WHERE rollout_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
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

    /// Takes (or keeps) the right to drive rollout `id` for `owner`: granted when no one
    /// holds it, `owner` does, or its holder was not heard from for `stale_secs`. Whether
    /// it was granted; the holder's heartbeat is renewed.
    pub async fn claim_rollout(
        &self,
        id: i64,
        owner: &str,
        stale_secs: i64,
    ) -> Result<bool, StoreError> {
        let now = unix_now();
        let done = sqlx::query(
            "UPDATE rollouts SET owner = $1, heartbeat = $2 WHERE id = $3 AND status IN ('running', 'paused') \
             AND (owner IS NULL OR owner = $1 OR heartbeat < $4)",
        )
        .bind(owner)
        .bind(now)
        .bind(id)
        .bind(now - stale_secs)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Moves a client from pending to running; whether this caller did (only one can).
    pub async fn start_rollout_client(
        &self,
        id: i64,
        client: ClientId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE rollout_clients SET state = 'running' WHERE rollout_id = $1 AND client_number = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(number_of(client))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
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

    /// Sets the rollout's status (and why); a final one releases its claim.
    pub async fn set_rollout_status(
        &self,
        id: i64,
        status: Status,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let release = if status.is_final() {
            ", owner = NULL"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE rollouts SET status = $1, reason = COALESCE($2, reason), updated_at = $3{release} WHERE id = $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(reason)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
