//! What operations left each client environment as: deployed, or suspended with the
//! replicas to bring back, and the run that set it.

use serde::Serialize;
use sqlx::Row;
use tenantry_core::ClientId;

use crate::db::{Catalog, now};
use crate::error::StoreError;
use crate::runs::{RunKind, RunRecord, RunStatus};

/// An environment's state, as operations set it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvState {
    Deployed,
    /// Scaled to zero on purpose; `replicas` is what a resume brings back.
    Suspended,
    /// Its objects deleted (and its databases dropped, if asked); its generated secrets
    /// stay unless forgotten, so a later deploy reuses them.
    Decommissioned,
}

impl EnvState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployed => "deployed",
            Self::Suspended => "suspended",
            Self::Decommissioned => "decommissioned",
        }
    }
}

/// A client's environment in one namespace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub state: EnvState,
    pub replicas: i64,
    pub run: i64,
    pub updated_at: String,
}

/// What lists and cards show of a client's environment in a namespace: what the
/// operations say (the live health of the cluster is the fleet view's).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvStatus {
    NotDeployed,
    /// A deploy, rollback, suspend or resume is running.
    Deploying,
    /// The last operation succeeded and left it deployed.
    Healthy,
    /// The last operation failed or was interrupted.
    Failed,
    Suspended,
    Decommissioning,
    Decommissioned,
}

impl EnvStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotDeployed => "not-deployed",
            Self::Deploying => "deploying",
            Self::Healthy => "healthy",
            Self::Failed => "failed",
            Self::Suspended => "suspended",
            Self::Decommissioning => "decommissioning",
            Self::Decommissioned => "decommissioned",
        }
    }

    /// The status from the latest run and the recorded environment.
    pub fn of(latest: Option<&RunRecord>, env: Option<&Environment>) -> Self {
        match latest.map(|r| (r.kind, r.status)) {
            Some((RunKind::Decommission, RunStatus::Running)) => Self::Decommissioning,
            Some((_, RunStatus::Running)) => Self::Deploying,
            Some((_, RunStatus::Failed | RunStatus::Interrupted)) => Self::Failed,
            _ => match env.map(|e| e.state) {
                Some(EnvState::Deployed) => Self::Healthy,
                Some(EnvState::Suspended) => Self::Suspended,
                Some(EnvState::Decommissioned) => Self::Decommissioned,
                // Runs from before environments were recorded.
                None if latest.is_some_and(|r| r.status == RunStatus::Succeeded) => Self::Healthy,
                None => Self::NotDeployed,
            },
        }
    }

    /// Whether objects of the environment may exist in the cluster (an archive waits
    /// for a decommission).
    pub fn exists(self) -> bool {
        !matches!(self, Self::NotDeployed | Self::Decommissioned)
    }
}

fn number(id: ClientId) -> i64 {
    i64::try_from(id.number()).unwrap_or(i64::MAX)
}

fn env_from(r: &sqlx::any::AnyRow, at: usize) -> Result<Environment, StoreError> {
    let state: String = r.try_get(at)?;
    Ok(Environment {
        state: match state.as_str() {
            "deployed" => EnvState::Deployed,
            "suspended" => EnvState::Suspended,
            "decommissioned" => EnvState::Decommissioned,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "an environment in state {other:?}"
                )));
            }
        },
        replicas: r.try_get(at + 1)?,
        run: r.try_get(at + 2)?,
        updated_at: r.try_get(at + 3)?,
    })
}

impl Catalog {
    /// The recorded environments of `clients`: (client, namespace, environment).
    pub async fn environments_of(
        &self,
        clients: &[ClientId],
    ) -> Result<Vec<(ClientId, String, Environment)>, StoreError> {
        if clients.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = clients.iter().map(|c| number(*c).to_string()).collect();
        let sql = format!(
            "SELECT client_number, namespace, state, replicas, run_id, updated_at FROM environments WHERE client_number IN ({})",
            list.join(",")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((crate::db::client_at(r, 0)?, r.try_get(1)?, env_from(r, 2)?)))
            .collect()
    }

    /// The recorded environments in a namespace: (client, environment).
    pub async fn environments_in(
        &self,
        ns: &str,
    ) -> Result<Vec<(ClientId, Environment)>, StoreError> {
        let rows = sqlx::query(
            "SELECT client_number, state, replicas, run_id, updated_at FROM environments WHERE namespace = $1",
        )
        .bind(ns)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((crate::db::client_at(r, 0)?, env_from(r, 1)?)))
            .collect()
    }

    /// The status of each environment `client` has had: (namespace, status, latest run).
    pub async fn environment_statuses(
        &self,
        client: ClientId,
    ) -> Result<Vec<(String, EnvStatus, Option<i64>)>, StoreError> {
        let runs = self.latest_runs(&[client]).await?;
        let envs = self.environments_of(&[client]).await?;
        let mut namespaces: Vec<&str> = runs
            .iter()
            .map(|r| r.namespace.as_str())
            .chain(envs.iter().map(|(_, n, _)| n.as_str()))
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        Ok(namespaces
            .into_iter()
            .map(|ns| {
                let run = runs.iter().find(|r| r.namespace == ns);
                let env = envs.iter().find(|(_, n, _)| n == ns).map(|(_, _, e)| e);
                (ns.to_owned(), EnvStatus::of(run, env), run.map(|r| r.id))
            })
            .collect())
    }

    /// The environment of `client` in `ns`, if an operation has set it.
    pub async fn environment(
        &self,
        client: ClientId,
        ns: &str,
    ) -> Result<Option<Environment>, StoreError> {
        let row = sqlx::query("SELECT state, replicas, run_id, updated_at FROM environments WHERE client_number = $1 AND namespace = $2")
            .bind(number(client))
            .bind(ns)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| env_from(&r, 0)).transpose()
    }
}

/// Records what run `run` left the environment as, on the caller's connection (a
/// run's end stores it with its verdict: [`Catalog::finish_run`]).
pub(crate) async fn set_environment_in(
    conn: &mut sqlx::AnyConnection,
    client: ClientId,
    ns: &str,
    state: EnvState,
    replicas: i64,
    run: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO environments (client_number, namespace, state, replicas, run_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (client_number, namespace) DO UPDATE SET state = $3, replicas = $4, run_id = $5, updated_at = $6",
    )
    .bind(number(client))
    .bind(ns)
    .bind(state.as_str())
    .bind(replicas)
    .bind(run)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: RunKind, status: RunStatus) -> RunRecord {
        RunRecord {
            id: 1,
            kind,
            client: ClientId::from_number(1).unwrap(),
            namespace: "dev".into(),
            status,
            reason: None,
            owner: String::new(),
            started_at: String::new(),
            heartbeat_at: String::new(),
            finished_at: None,
            report: serde_json::Value::Null,
            pods: None,
        }
    }

    fn env(state: EnvState) -> Environment {
        Environment {
            state,
            replicas: 1,
            run: 1,
            updated_at: String::new(),
        }
    }

    #[test]
    fn the_status_of_an_environment_follows_its_last_run_and_state() {
        use EnvStatus as S;
        use RunKind as K;
        use RunStatus as R;
        let cases = [
            (None, None, S::NotDeployed),
            (Some(run(K::Deploy, R::Running)), None, S::Deploying),
            (Some(run(K::Deploy, R::Failed)), None, S::Failed),
            (Some(run(K::Deploy, R::Succeeded)), None, S::Healthy),
            (
                Some(run(K::Deploy, R::Succeeded)),
                Some(env(EnvState::Deployed)),
                S::Healthy,
            ),
            // A redeploy that failed over a working one is still a failure to show.
            (
                Some(run(K::Deploy, R::Failed)),
                Some(env(EnvState::Deployed)),
                S::Failed,
            ),
            (
                Some(run(K::Suspend, R::Succeeded)),
                Some(env(EnvState::Suspended)),
                S::Suspended,
            ),
            (
                Some(run(K::Resume, R::Running)),
                Some(env(EnvState::Suspended)),
                S::Deploying,
            ),
            (
                Some(run(K::Decommission, R::Running)),
                Some(env(EnvState::Deployed)),
                S::Decommissioning,
            ),
            (
                Some(run(K::Decommission, R::Interrupted)),
                Some(env(EnvState::Deployed)),
                S::Failed,
            ),
            (
                Some(run(K::Decommission, R::Succeeded)),
                Some(env(EnvState::Decommissioned)),
                S::Decommissioned,
            ),
        ];
        for (latest, e, want) in cases {
            assert_eq!(
                EnvStatus::of(latest.as_ref(), e.as_ref()),
                want,
                "{latest:?} {e:?}"
            );
        }
        assert!(S::Suspended.exists() && S::Failed.exists());
        assert!(!S::Decommissioned.exists() && !S::NotDeployed.exists());
    }
}
