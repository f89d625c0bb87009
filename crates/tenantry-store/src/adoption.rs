//! What adopting a hand-made environment writes to the catalog: the client under the id
//! the cluster already uses (the counter moved past it, so new ids never collide), and
//! the generated values read from its objects, sealed, so rendering gives them back.

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use tenantry_core::{ClientId, NamespaceName, OrgName, ParamName};

use crate::client_search::refresh_search;
use crate::clients::{Client, number_of};
use crate::db::{Catalog, now};
use crate::error::StoreError;

impl Catalog {
    /// The client `id`, created with `name` if the catalog does not have it; the client
    /// counter is moved to at least its number. An existing client is left as it is
    /// (it may have environments in other namespaces).
    pub async fn adopt_client(&self, id: ClientId, name: &OrgName) -> Result<Client, StoreError> {
        let n = number_of(id);
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM clients WHERE number = $1")
            .bind(n)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            let now = now();
            sqlx::query(
                "INSERT INTO clients (number, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
            )
            .bind(n)
            .bind(name.as_str())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            refresh_search(&mut tx, n).await?;
        }
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'client' AND value < $1")
            .bind(n)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if !exists {
            tracing::info!(client = %id, "client adopted");
        }
        self.client(id).await
    }

    /// Stores generated values read from a live environment as the client's in `ns`.
    /// A value the client already has is kept when equal; when it differs, nothing is
    /// stored and the names that differ are the error (the catalog and the cluster
    /// disagree: a person must decide).
    pub async fn adopt_client_secrets(
        &self,
        client: ClientId,
        ns: &NamespaceName,
        values: &[(ParamName, SecretString)],
    ) -> Result<(), StoreError> {
        let existing = self.client_secrets(client, ns).await?;
        let differ: Vec<String> = values
            .iter()
            .filter(|(n, v)| {
                existing
                    .iter()
                    .any(|s| s.name == n.as_str() && s.value.expose_secret() != v.expose_secret())
            })
            .map(|(n, _)| n.to_string())
            .collect();
        if !differ.is_empty() {
            return Err(StoreError::SecretsDiffer {
                client,
                namespace: ns.to_string(),
                names: differ,
            });
        }
        for (name, value) in values {
            self.keep_secret(client, ns, name, value).await?;
        }
        Ok(())
    }

    /// Whether the client has any revision in `ns` (then it was deployed by tenantry).
    pub async fn has_revisions(&self, client: ClientId, ns: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM revisions WHERE client_number = $1 AND namespace = $2",
        )
        .bind(number_of(client))
        .bind(ns)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(n > 0)
    }
}
