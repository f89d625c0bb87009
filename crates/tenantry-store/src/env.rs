//! Env vars (R5): an ordered `NAME = value template` list, global, per namespace and
//! per client in a namespace. A namespace's entry overrides the global one of the same
//! name in place, its own extra entries following the global list; a client's entries
//! do the same over the namespace's list.

use serde::Serialize;
use sqlx::Row;
use tenantry_core::EnvVarName;
use tenantry_core::env::EnvValue;

use crate::db::Catalog;
use crate::error::StoreError;
use crate::params::Scope;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvSource {
    Global,
    Namespace,
    Client,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EnvEntry {
    pub name: String,
    pub value: String,
    pub source: EnvSource,
}

impl Catalog {
    /// The effective list for `scope`, in order.
    pub async fn env_vars(&self, scope: &Scope) -> Result<Vec<EnvEntry>, StoreError> {
        scope.ensure_exists(self).await?;
        let (ns_key, own_key) = scope.tiers();
        let rows = sqlx::query(
            "SELECT scope, name, value FROM env_vars WHERE scope = '' OR scope = $1 OR scope = $2 \
             ORDER BY CASE WHEN scope = '' THEN 0 WHEN scope = $1 THEN 1 ELSE 2 END, position",
        )
        .bind(&ns_key)
        .bind(&own_key)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<EnvEntry> = Vec::with_capacity(rows.len());
        for r in rows {
            let row_scope: String = r.try_get(0)?;
            let name: String = r.try_get(1)?;
            let value: String = r.try_get(2)?;
            let source = if row_scope.is_empty() {
                EnvSource::Global
            } else if row_scope == ns_key {
                EnvSource::Namespace
            } else {
                EnvSource::Client
            };
            if let Some(e) = out.iter_mut().find(|e| e.name == name) {
                e.value = value;
                e.source = source;
            } else {
                out.push(EnvEntry {
                    name,
                    value,
                    source,
                });
            }
        }
        Ok(out)
    }

    /// Sets a var; a new one goes to the end of its scope's list.
    pub async fn set_env(
        &self,
        scope: &Scope,
        name: &EnvVarName,
        value: &EnvValue,
    ) -> Result<(), StoreError> {
        scope.ensure_exists(self).await?;
        let mut tx = self.begin().await?;
        let updated = sqlx::query("UPDATE env_vars SET value = $1 WHERE scope = $2 AND name = $3")
            .bind(value.as_str())
            .bind(scope.key())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO env_vars (scope, name, value, position) \
                 SELECT $1, $2, $3, COALESCE(MAX(position), 0) + 1 FROM env_vars WHERE scope = $1",
            )
            .bind(scope.key())
            .bind(name.as_str())
            .bind(value.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a var from a scope; returns whether it was there.
    pub async fn unset_env(&self, scope: &Scope, name: &EnvVarName) -> Result<bool, StoreError> {
        scope.ensure_exists(self).await?;
        let n = sqlx::query("DELETE FROM env_vars WHERE scope = $1 AND name = $2")
            .bind(scope.key())
            .bind(name.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}
