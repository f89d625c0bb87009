//! Secrets generated per client and namespace (R9): made once when first needed, sealed
//! and stored before anything uses them, never regenerated except by an explicit rotation.

use secrecy::SecretString;
use sqlx::Row;
use tenantry_core::{ClientId, Generator, NamespaceName, ParamName};

use crate::crypto::Place;
use crate::db::{Catalog, now};
use crate::error::StoreError;
use crate::generate::{RsaFormat, generate};

/// One generated value of a client's environment in one namespace.
#[derive(Debug, Clone)]
pub struct ClientSecret {
    pub name: String,
    pub value: SecretString,
    pub created_at: String,
}

fn row_key(client: ClientId, ns: &NamespaceName) -> String {
    format!("{client}/{ns}")
}

async fn make(generator: Generator, format: RsaFormat) -> Result<SecretString, StoreError> {
    // RSA key generation takes a while: keep it off the async workers.
    tokio::task::spawn_blocking(move || generate(generator, format))
        .await
        .map_err(|e| StoreError::Generate(e.to_string()))?
        .map_err(StoreError::Generate)
}

impl Catalog {
    /// The stored values of a client in a namespace, by name.
    pub async fn client_secrets(
        &self,
        client: ClientId,
        ns: &NamespaceName,
    ) -> Result<Vec<ClientSecret>, StoreError> {
        let key = row_key(client, ns);
        let rows = sqlx::query(
            "SELECT name, sealed, created_at FROM client_secrets WHERE client_number = $1 AND scope = $2 ORDER BY name",
        )
        .bind(i64::try_from(client.number()).unwrap_or(i64::MAX))
        .bind(ns.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get(0)?;
                let sealed: Vec<u8> = r.try_get(1)?;
                let place = Place {
                    table: "client_secrets",
                    row: &key,
                    field: &name,
                };
                Ok(ClientSecret {
                    value: self.cipher.open_str(place, &sealed)?,
                    name,
                    created_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Returns the values for `needed`, first generating and storing any that do not exist
    /// yet. When two runs race, the first stored value wins and both use it.
    pub async fn ensure_client_secrets(
        &self,
        client: ClientId,
        ns: &NamespaceName,
        needed: &[(ParamName, Generator)],
        rsa_format: RsaFormat,
    ) -> Result<Vec<ClientSecret>, StoreError> {
        self.client(client).await?;
        let existing = self.client_secrets(client, ns).await?;
        for (name, generator) in needed {
            if existing.iter().any(|s| s.name == name.as_str()) {
                continue;
            }
            let value = make(*generator, rsa_format).await?;
            self.store_secret(client, ns, name, &value, false).await?;
            tracing::info!(client = %client, namespace = %ns, secret = %name, "generated a client secret");
        }
        let all = self.client_secrets(client, ns).await?;
        Ok(all
            .into_iter()
            .filter(|s| needed.iter().any(|(n, _)| n.as_str() == s.name))
            .collect())
    }

    /// Replaces one generated value on purpose (an admin's rotation).
    pub async fn rotate_client_secret(
        &self,
        client: ClientId,
        ns: &NamespaceName,
        name: &ParamName,
        generator: Generator,
        rsa_format: RsaFormat,
    ) -> Result<ClientSecret, StoreError> {
        self.client(client).await?;
        let value = make(generator, rsa_format).await?;
        self.store_secret(client, ns, name, &value, true).await?;
        tracing::info!(client = %client, namespace = %ns, secret = %name, "rotated a client secret");
        self.client_secrets(client, ns)
            .await?
            .into_iter()
            .find(|s| s.name == name.as_str())
            .ok_or_else(|| StoreError::Corrupt(format!("secret {name} vanished after rotation")))
    }

    /// Stores `value` unless the client already has one of that name.
    pub(crate) async fn keep_secret(
        &self,
        client: ClientId,
        ns: &NamespaceName,
        name: &ParamName,
        value: &SecretString,
    ) -> Result<(), StoreError> {
        self.store_secret(client, ns, name, value, false).await
    }

    async fn store_secret(
        &self,
        client: ClientId,
        ns: &NamespaceName,
        name: &ParamName,
        value: &SecretString,
        replace: bool,
    ) -> Result<(), StoreError> {
        let key = row_key(client, ns);
        let place = Place {
            table: "client_secrets",
            row: &key,
            field: name.as_str(),
        };
        let sql = if replace {
            "INSERT INTO client_secrets (client_number, scope, name, sealed, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (client_number, scope, name) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at"
        } else {
            "INSERT INTO client_secrets (client_number, scope, name, sealed, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (client_number, scope, name) DO NOTHING"
        };
        sqlx::query(sql)
            .bind(i64::try_from(client.number()).unwrap_or(i64::MAX))
            .bind(ns.as_str())
            .bind(name.as_str())
            .bind(self.cipher.seal_str(place, value))
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets a client's generated values in a namespace (a decommission that is not
    /// to be undone): a later deploy generates new ones. How many were forgotten.
    pub async fn forget_client_secrets(
        &self,
        client: ClientId,
        ns: &NamespaceName,
    ) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM client_secrets WHERE client_number = $1 AND scope = $2")
                .bind(i64::try_from(client.number()).unwrap_or(i64::MAX))
                .bind(ns.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}
