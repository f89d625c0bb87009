//! What operations left each client environment as: deployed, or suspended with the
//! replicas to bring back, and the run that set it.

use serde::Serialize;
use sqlx::Row;
use tenantry_core::ClientId;

use crate::db::{Catalog, now};
use crate::error::StoreError;

/// An environment's state, as operations set it.
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
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub state: EnvState,
    pub replicas: i64,
    pub run: i64,
    pub updated_at: String,
}

fn number(id: ClientId) -> i64 {
    i64::try_from(id.number()).unwrap_or(i64::MAX)
}

impl Catalog {
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
        row.map(|r| {
            let state: String = r.try_get(0)?;
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
                replicas: r.try_get(1)?,
                run: r.try_get(2)?,
                updated_at: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// Records what run `run` left the environment as.
    pub async fn set_environment(
        &self,
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
