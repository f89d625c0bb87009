//! Namespace targets (R4, R8): cluster API root, Kubernetes namespace, bearer token
//! (sealed), optional CA bundle. A new namespace is data, never code.

use secrecy::SecretString;
use sqlx::Row;
use sqlx::any::AnyRow;
use tenantry_core::{ApiRootUrl, CaBundle, NamespaceName};

use crate::crypto::Place;
use crate::db::{Catalog, now};
use crate::error::StoreError;

#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: NamespaceName,
    pub k8s_namespace: NamespaceName,
    pub api_root_url: ApiRootUrl,
    pub token: SecretString,
    pub ca_bundle: Option<CaBundle>,
    /// Drift the server's fleet view finds is corrected by a deploy (rate-limited,
    /// audited).
    pub self_heal: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewNamespace {
    pub name: NamespaceName,
    /// The Kubernetes namespace; the catalog name when `None`.
    pub k8s_namespace: Option<NamespaceName>,
    pub api_root_url: ApiRootUrl,
    pub token: SecretString,
    pub ca_bundle: Option<CaBundle>,
}

/// Changes to a namespace; `ca_bundle: Some(None)` removes the CA.
#[derive(Debug, Clone, Default)]
pub struct NamespaceUpdate {
    pub k8s_namespace: Option<NamespaceName>,
    pub api_root_url: Option<ApiRootUrl>,
    pub token: Option<SecretString>,
    pub ca_bundle: Option<Option<CaBundle>>,
    pub self_heal: Option<bool>,
}

fn token_place(name: &str) -> Place<'_> {
    Place {
        table: "namespaces",
        row: name,
        field: "token",
    }
}

impl Catalog {
    pub async fn add_namespace(&self, new: &NewNamespace) -> Result<Namespace, StoreError> {
        let now = now();
        let k8s = new.k8s_namespace.as_ref().unwrap_or(&new.name);
        let sealed = self
            .cipher
            .seal_str(token_place(new.name.as_str()), &new.token);
        let done = sqlx::query(
            "INSERT INTO namespaces (name, k8s_namespace, api_root_url, token, ca_bundle, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO NOTHING",
        )
        .bind(new.name.as_str())
        .bind(k8s.as_str())
        .bind(new.api_root_url.as_str())
        .bind(sealed)
        .bind(new.ca_bundle.as_ref().map(|c| c.as_str().to_owned()))
        .bind(&now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NamespaceExists(new.name.clone()));
        }
        tracing::info!(namespace = %new.name, "namespace added");
        self.namespace(new.name.as_str()).await
    }

    pub async fn namespace(&self, name: &str) -> Result<Namespace, StoreError> {
        let row = sqlx::query(
            "SELECT name, k8s_namespace, api_root_url, token, ca_bundle, created_at, updated_at, self_heal FROM namespaces WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NamespaceNotFound(name.to_owned()))?;
        self.namespace_from_row(&row)
    }

    pub async fn namespaces(&self) -> Result<Vec<Namespace>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, k8s_namespace, api_root_url, token, ca_bundle, created_at, updated_at, self_heal FROM namespaces ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| self.namespace_from_row(r)).collect()
    }

    pub async fn update_namespace(
        &self,
        name: &str,
        update: &NamespaceUpdate,
    ) -> Result<Namespace, StoreError> {
        let current = self.namespace(name).await?;
        let k8s = update
            .k8s_namespace
            .as_ref()
            .unwrap_or(&current.k8s_namespace);
        let url = update
            .api_root_url
            .as_ref()
            .unwrap_or(&current.api_root_url);
        if update.token.is_none() && url.origin() != current.api_root_url.origin() {
            return Err(StoreError::TokenRequired {
                namespace: name.to_owned(),
                from: current.api_root_url.origin(),
                to: url.origin(),
            });
        }
        let token = update.token.as_ref().unwrap_or(&current.token);
        let ca = match &update.ca_bundle {
            Some(ca) => ca.as_ref(),
            None => current.ca_bundle.as_ref(),
        };
        let self_heal = update.self_heal.unwrap_or(current.self_heal);
        sqlx::query(
            "UPDATE namespaces SET k8s_namespace = $1, api_root_url = $2, token = $3, ca_bundle = $4, updated_at = $5, self_heal = $6 \
             WHERE name = $7",
        )
        .bind(k8s.as_str())
        .bind(url.as_str())
        .bind(self.cipher.seal_str(token_place(name), token))
        .bind(ca.map(|c| c.as_str().to_owned()))
        .bind(now())
        .bind(i64::from(self_heal))
        .bind(name)
        .execute(&self.pool)
        .await?;
        tracing::info!(namespace = %name, "namespace changed");
        self.namespace(name).await
    }

    fn namespace_from_row(&self, r: &AnyRow) -> Result<Namespace, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(what);
        let name: String = r.try_get(0)?;
        let k8s: String = r.try_get(1)?;
        let url: String = r.try_get(2)?;
        let sealed: Vec<u8> = r.try_get(3)?;
        let ca: Option<String> = r.try_get(4)?;
        Ok(Namespace {
            token: self.cipher.open_str(token_place(&name), &sealed)?,
            name: NamespaceName::parse(&name).map_err(|e| corrupt(e.to_string()))?,
            k8s_namespace: NamespaceName::parse(&k8s).map_err(|e| corrupt(e.to_string()))?,
            api_root_url: ApiRootUrl::parse(&url).map_err(|e| corrupt(e.to_string()))?,
            ca_bundle: ca
                .map(|c| CaBundle::parse(&c))
                .transpose()
                .map_err(|e| corrupt(e.to_string()))?,
            created_at: r.try_get(5)?,
            updated_at: r.try_get(6)?,
            self_heal: r.try_get::<i64, _>(7)? != 0,
        })
    }
}
