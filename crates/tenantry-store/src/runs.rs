//! Provisioning runs: one active per client and namespace (a unique index, so it holds
//! across processes), a heartbeat so a dead owner's run can be taken over, the steps'
//! report, and a record of every request.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use tenantry_core::ClientId;

use crate::db::{Catalog, now};
use crate::environments::EnvState;
use crate::error::StoreError;

/// What a run does to a client's environment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Deploy,
    Decommission,
    Suspend,
    Resume,
    Rollback,
    /// An environment built by hand taken under management.
    Adopt,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Decommission => "decommission",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Rollback => "rollback",
            Self::Adopt => "adopt",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "deploy" => Self::Deploy,
            "decommission" => Self::Decommission,
            "suspend" => Self::Suspend,
            "resume" => Self::Resume,
            "rollback" => Self::Rollback,
            "adopt" => Self::Adopt,
            other => return Err(StoreError::Corrupt(format!("a run of kind {other:?}"))),
        })
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a run is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Its process went away; another run took over.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "interrupted" => Self::Interrupted,
            other => return Err(StoreError::Corrupt(format!("a run in status {other:?}"))),
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object a run touched.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RunObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    /// `created`, `updated`, `unchanged`, `recreated`, `deleted`, …
    pub action: String,
}

/// How a run ended, to store.
#[derive(Debug, Clone)]
pub struct RunEnd<'a> {
    pub succeeded: bool,
    pub reason: Option<&'a str>,
    pub report: &'a serde_json::Value,
    pub objects: &'a [RunObject],
    /// The environment's pods as the run left them.
    pub pods: &'a serde_json::Value,
    /// On success, what the environment is now: stored with the verdict, so that no
    /// one sees a run succeeded whose revision or state is not there yet.
    pub settled: Option<Settled<'a>>,
}

/// What a successful run left its environment as.
#[derive(Debug, Clone, Copy)]
pub struct Settled<'a> {
    pub client: ClientId,
    pub namespace: &'a str,
    pub state: EnvState,
    pub replicas: i64,
    /// The image and rendered manifests to store as the next revision, if any.
    pub revision: Option<(&'a str, &'a [serde_json::Value])>,
}

/// What [`Catalog::finish_run`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Another process took the run over: nothing was stored.
    NotOwned,
    /// The verdict, with the revision's number when one was stored.
    Stored { revision: Option<i64> },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub kind: RunKind,
    pub client: ClientId,
    pub namespace: String,
    pub status: RunStatus,
    pub reason: Option<String>,
    pub owner: String,
    pub started_at: String,
    pub heartbeat_at: String,
    pub finished_at: Option<String>,
    /// The steps, as the engine reported them.
    pub report: serde_json::Value,
    /// The environment's pods as the run left them (`None` while it runs, and for runs
    /// stored before snapshots were kept).
    pub pods: Option<serde_json::Value>,
}

impl RunRecord {
    /// How long ago the run's owner was last heard from (`None` if the time is unreadable).
    pub fn heartbeat_age(&self) -> Option<std::time::Duration> {
        let at = time::OffsetDateTime::parse(
            &self.heartbeat_at,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()?;
        (time::OffsetDateTime::now_utc() - at).try_into().ok()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub seq: i64,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub duration_ms: i64,
    pub excerpt: String,
    pub at: String,
}

/// A request to record: what was sent and how it ended (status 0: no answer).
#[derive(Debug, Clone, Copy)]
pub struct NewRequest<'a> {
    pub seq: i64,
    pub method: &'a str,
    pub path: &'a str,
    pub status: i64,
    pub duration_ms: i64,
    /// The body with secrets masked, or the error, shortened.
    pub excerpt: &'a str,
}

const COLUMNS: &str = "id, client_number, namespace, status, reason, owner, started_at, heartbeat_at, finished_at, report, kind, pods";

fn run_from(r: &AnyRow) -> Result<RunRecord, StoreError> {
    let n: i64 = r.try_get(1)?;
    let report: String = r.try_get(9)?;
    Ok(RunRecord {
        id: r.try_get(0)?,
        client: u64::try_from(n)
            .ok()
            .and_then(ClientId::from_number)
            .ok_or_else(|| StoreError::Corrupt(format!("run of client {n}")))?,
        namespace: r.try_get(2)?,
        status: RunStatus::parse(&r.try_get::<String, _>(3)?)?,
        reason: r.try_get(4)?,
        owner: r.try_get(5)?,
        started_at: r.try_get(6)?,
        heartbeat_at: r.try_get(7)?,
        finished_at: r.try_get(8)?,
        report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
        kind: RunKind::parse(&r.try_get::<String, _>(10)?)?,
        pods: r
            .try_get::<Option<String>, _>(11)?
            .and_then(|p| serde_json::from_str(&p).ok()),
    })
}

/// A run in brief: what lists of many environments show.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RunBrief {
    pub id: i64,
    pub kind: RunKind,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
}

fn number(id: ClientId) -> i64 {
    i64::try_from(id.number()).unwrap_or(i64::MAX)
}

impl Catalog {
    /// Starts a run, or says which run is already active for this client and namespace.
    pub async fn start_run(
        &self,
        client: ClientId,
        namespace: &str,
        kind: RunKind,
        owner: &str,
    ) -> Result<RunRecord, StoreError> {
        let now = now();
        let inserted = sqlx::query(
            "INSERT INTO runs (client_number, namespace, status, owner, started_at, heartbeat_at, report, kind) \
             VALUES ($1, $2, 'running', $3, $4, $4, '[]', $5) RETURNING id",
        )
        .bind(number(client))
        .bind(namespace)
        .bind(owner)
        .bind(&now)
        .bind(kind.as_str())
        .fetch_one(&self.pool)
        .await;
        match inserted {
            Ok(row) => {
                let id: i64 = row.try_get(0)?;
                self.run(id).await
            }
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                let active = self.active_run(client, namespace).await?;
                Err(match active {
                    Some(r) => StoreError::RunActive {
                        client,
                        namespace: namespace.to_owned(),
                        run: r.id,
                        started_at: r.started_at,
                        owner: r.owner,
                    },
                    None => StoreError::Corrupt("a run was active and then was not".into()),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn active_run(
        &self,
        client: ClientId,
        namespace: &str,
    ) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE client_number = $1 AND namespace = $2 AND status = 'running'"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number(client))
            .bind(namespace)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_from).transpose()
    }

    pub async fn run(&self, id: i64) -> Result<RunRecord, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM runs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::RunNotFound(id))?;
        run_from(&row)
    }

    /// Every run still marked running, oldest first.
    pub async fn running_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM runs WHERE status = 'running' ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_from).collect()
    }

    /// The newest run of each (client, namespace) among `clients`.
    /// The latest run of every client in a namespace, in brief (no reports).
    pub async fn latest_runs_in(&self, ns: &str) -> Result<Vec<(ClientId, RunBrief)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, client_number, kind, status, started_at, finished_at FROM runs \
             WHERE id IN (SELECT MAX(id) FROM runs WHERE namespace = $1 GROUP BY client_number)",
        )
        .bind(ns)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    crate::db::client_at(r, 1)?,
                    RunBrief {
                        id: r.try_get(0)?,
                        kind: RunKind::parse(&r.try_get::<String, _>(2)?)?,
                        status: RunStatus::parse(&r.try_get::<String, _>(3)?)?,
                        started_at: r.try_get(4)?,
                        finished_at: r.try_get(5)?,
                    },
                ))
            })
            .collect()
    }

    /// Runs by kind and status, counted: what `/metrics` reports.
    pub async fn run_counts(&self) -> Result<Vec<(RunKind, RunStatus, i64)>, StoreError> {
        let rows = sqlx::query("SELECT kind, status, COUNT(*) FROM runs GROUP BY kind, status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    RunKind::parse(&r.try_get::<String, _>(0)?)?,
                    RunStatus::parse(&r.try_get::<String, _>(1)?)?,
                    r.try_get(2)?,
                ))
            })
            .collect()
    }

    pub async fn latest_runs(&self, clients: &[ClientId]) -> Result<Vec<RunRecord>, StoreError> {
        if clients.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = clients.iter().map(|c| number(*c).to_string()).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE id IN (SELECT MAX(id) FROM runs WHERE client_number IN ({}) GROUP BY client_number, namespace) ORDER BY client_number, namespace",
            list.join(",")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_from).collect()
    }

    /// Runs, newest first, of one client or all.
    pub async fn runs(
        &self,
        client: Option<ClientId>,
        limit: i64,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let rows = match client {
            Some(c) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM runs WHERE client_number = $1 ORDER BY id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(number(c))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM runs ORDER BY id DESC LIMIT $1");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(run_from).collect()
    }

    /// Marks a run whose owner is gone as interrupted, so a new one can start; `false`
    /// when it was no longer running (another process took it over first).
    pub async fn interrupt_run(&self, id: i64, reason: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE runs SET status = 'interrupted', reason = $1, finished_at = $2 WHERE id = $3 AND status = 'running'")
            .bind(reason)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Says the run's owner is alive; `false` when the run is no longer running (another
    /// process took it over), so its owner stops.
    pub async fn heartbeat_run(&self, id: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'")
                .bind(now())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn save_run_report(
        &self,
        id: i64,
        report: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET report = $1, heartbeat_at = $2 WHERE id = $3 AND status = 'running'",
        )
        .bind(report.to_string())
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores how a run ended, what it touched, the pods it left and (on success) the
    /// environment's state and revision, in one transaction. A run another process
    /// took over stays interrupted: nothing is stored then.
    pub async fn finish_run(&self, id: i64, end: &RunEnd<'_>) -> Result<Finish, StoreError> {
        let mut tx = self.begin().await?;
        let now = now();
        let done = sqlx::query("UPDATE runs SET status = $1, reason = $2, report = $3, finished_at = $4, heartbeat_at = $4, pods = $5 WHERE id = $6 AND status = 'running'")
            .bind(if end.succeeded { "succeeded" } else { "failed" })
            .bind(end.reason)
            .bind(end.report.to_string())
            .bind(&now)
            .bind(end.pods.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(Finish::NotOwned);
        }
        for (seq, o) in end.objects.iter().enumerate() {
            sqlx::query("INSERT INTO run_objects (run_id, seq, kind, namespace, name, uid, resource_version, action) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id)
                .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .bind(&o.kind)
                .bind(&o.namespace)
                .bind(&o.name)
                .bind(&o.uid)
                .bind(&o.resource_version)
                .bind(&o.action)
                .execute(&mut *tx)
                .await?;
        }
        let mut revision = None;
        if let Some(e) = end.settled.filter(|_| end.succeeded) {
            crate::environments::set_environment_in(
                &mut tx,
                e.client,
                e.namespace,
                e.state,
                e.replicas,
                id,
            )
            .await?;
            if let Some((image, manifests)) = e.revision {
                revision = Some(
                    self.insert_revision_in(
                        &mut tx,
                        e.client,
                        e.namespace,
                        id,
                        image,
                        manifests,
                        1,
                    )
                    .await?,
                );
            }
        }
        tx.commit().await?;
        Ok(Finish::Stored { revision })
    }

    /// The objects a run touched, in the order it touched them.
    pub async fn run_objects(&self, run: i64) -> Result<Vec<RunObject>, StoreError> {
        let rows = sqlx::query("SELECT kind, namespace, name, uid, resource_version, action FROM run_objects WHERE run_id = $1 ORDER BY seq")
            .bind(run)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RunObject {
                    kind: r.try_get(0)?,
                    namespace: r.try_get(1)?,
                    name: r.try_get(2)?,
                    uid: r.try_get(3)?,
                    resource_version: r.try_get(4)?,
                    action: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Records one request a run sent.
    pub async fn record_request(&self, run: i64, r: &NewRequest<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO run_requests (run_id, seq, method, path, status, duration_ms, excerpt, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(run)
        .bind(r.seq)
        .bind(r.method)
        .bind(r.path)
        .bind(r.status)
        .bind(r.duration_ms)
        .bind(r.excerpt)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many requests a run has sent so far.
    pub async fn run_request_count(&self, run: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM run_requests WHERE run_id = $1")
                .bind(run)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn run_requests(&self, run: i64) -> Result<Vec<RequestRecord>, StoreError> {
        let rows = sqlx::query("SELECT seq, method, path, status, duration_ms, excerpt, at FROM run_requests WHERE run_id = $1 ORDER BY seq")
            .bind(run)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RequestRecord {
                    seq: r.try_get(0)?,
                    method: r.try_get(1)?,
                    path: r.try_get(2)?,
                    status: r.try_get(3)?,
                    duration_ms: r.try_get(4)?,
                    excerpt: r.try_get(5)?,
                    at: r.try_get(6)?,
                })
            })
            .collect()
    }
}
