//! Parameters (R3, R4, R6, R9): definitions, and values global or per namespace.
//! Secret values are sealed; a namespace's value overrides the global one.

use secrecy::SecretString;
use serde::Serialize;
use sqlx::Row;
use tenantry_core::{ClientId, NamespaceName, ParamKind, ParamName};

use crate::crypto::Place;
use crate::db::{Catalog, now};
use crate::error::StoreError;

/// Where a value applies: everywhere, or in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Namespace(NamespaceName),
    /// One client's overrides in one namespace: over the namespace's values, which are
    /// over the global ones.
    Client(NamespaceName, ClientId),
}

impl Scope {
    /// How values of this scope are stored: `''` global, the namespace's name, or
    /// `namespace/C42` (a namespace name has no `/`).
    pub(crate) fn key(&self) -> String {
        match self {
            Self::Global => String::new(),
            Self::Namespace(n) => n.as_str().to_owned(),
            Self::Client(n, c) => format!("{n}/{c}"),
        }
    }

    /// The keys a reading of this scope sees: its namespace's (or none) and its own.
    pub(crate) fn tiers(&self) -> (String, String) {
        match self {
            Self::Global => (String::new(), String::new()),
            Self::Namespace(n) => (n.as_str().to_owned(), n.as_str().to_owned()),
            Self::Client(n, _) => (n.as_str().to_owned(), self.key()),
        }
    }

    pub(crate) async fn ensure_exists(&self, catalog: &Catalog) -> Result<(), StoreError> {
        match self {
            Self::Global => {}
            Self::Namespace(n) => {
                catalog.namespace(n.as_str()).await?;
            }
            Self::Client(n, c) => {
                catalog.namespace(n.as_str()).await?;
                catalog.client(*c).await?;
            }
        }
        Ok(())
    }
}

/// Where a value macros see comes from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueSource {
    Global,
    Namespace,
    Client,
}

impl ValueSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Namespace => "namespace",
            Self::Client => "client",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ParamDef {
    pub name: ParamName,
    pub description: String,
    #[serde(serialize_with = "kind_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "plain"))]
    pub kind: ParamKind,
    /// Part of every catalog: it cannot be removed.
    pub builtin: bool,
}

fn kind_text<S: serde::Serializer>(k: &ParamKind, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(k)
}

/// A stored value: plain text, or a secret opened only in memory.
#[derive(Debug, Clone)]
pub enum StoredValue {
    Plain(String),
    Secret(SecretString),
}

/// A parameter with its global value and, when a namespace was asked for, that
/// namespace's own value, and when a client in it was, the client's own.
#[derive(Debug, Clone)]
pub struct ParamEntry {
    pub def: ParamDef,
    pub global: Option<StoredValue>,
    pub namespaced: Option<StoredValue>,
    pub client: Option<StoredValue>,
}

impl ParamEntry {
    /// The value macros see: the client's, else the namespace's, else the global one.
    pub fn effective(&self) -> Option<&StoredValue> {
        self.client
            .as_ref()
            .or(self.namespaced.as_ref())
            .or(self.global.as_ref())
    }

    /// Where [`effective`](Self::effective) comes from.
    pub fn source(&self) -> Option<ValueSource> {
        if self.client.is_some() {
            Some(ValueSource::Client)
        } else if self.namespaced.is_some() {
            Some(ValueSource::Namespace)
        } else if self.global.is_some() {
            Some(ValueSource::Global)
        } else {
            None
        }
    }
}

fn value_place<'a>(scope: &'a str, row: &'a str) -> Place<'a> {
    Place {
        table: "param_values",
        row,
        field: if scope.is_empty() { "global" } else { scope },
    }
}

impl Catalog {
    pub async fn param_defs(&self) -> Result<Vec<ParamDef>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, description, kind, generator, builtin FROM param_defs ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get(0)?;
                let kind: String = r.try_get(2)?;
                let generator: Option<String> = r.try_get(3)?;
                let builtin: i64 = r.try_get(4)?;
                Ok(ParamDef {
                    kind: ParamKind::from_stored(&kind, generator.as_deref()).ok_or_else(|| {
                        StoreError::Corrupt(format!("parameter {name} has kind {kind}"))
                    })?,
                    name: ParamName::parse(&name)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    description: r.try_get(1)?,
                    builtin: builtin != 0,
                })
            })
            .collect()
    }

    pub async fn param_def(&self, name: &str) -> Result<ParamDef, StoreError> {
        self.param_defs()
            .await?
            .into_iter()
            .find(|d| d.name.as_str() == name)
            .ok_or_else(|| StoreError::ParamNotFound(name.to_owned()))
    }

    /// Every parameter with its values for `scope` (global values always included).
    pub async fn params(&self, scope: &Scope) -> Result<Vec<ParamEntry>, StoreError> {
        scope.ensure_exists(self).await?;
        let defs = self.param_defs().await?;
        let (ns_key, own_key) = scope.tiers();
        let rows = sqlx::query(
            "SELECT name, scope, plain, sealed FROM param_values WHERE scope = '' OR scope = $1 OR scope = $2",
        )
        .bind(&ns_key)
        .bind(&own_key)
        .fetch_all(&self.pool)
        .await?;
        let mut entries: Vec<ParamEntry> = defs
            .into_iter()
            .map(|def| ParamEntry {
                def,
                global: None,
                namespaced: None,
                client: None,
            })
            .collect();
        for r in rows {
            let name: String = r.try_get(0)?;
            let row_scope: String = r.try_get(1)?;
            let plain: Option<String> = r.try_get(2)?;
            let sealed: Option<Vec<u8>> = r.try_get(3)?;
            let value = match (plain, sealed) {
                (Some(p), _) => StoredValue::Plain(p),
                (None, Some(s)) => {
                    StoredValue::Secret(self.cipher.open_str(value_place(&row_scope, &name), &s)?)
                }
                (None, None) => continue,
            };
            if let Some(e) = entries.iter_mut().find(|e| e.def.name.as_str() == name) {
                if row_scope.is_empty() {
                    e.global = Some(value);
                } else if row_scope == ns_key {
                    e.namespaced = Some(value);
                } else {
                    e.client = Some(value);
                }
            }
        }
        Ok(entries)
    }

    /// Defines a new parameter.
    pub async fn define_param(
        &self,
        name: &ParamName,
        kind: ParamKind,
        description: &str,
    ) -> Result<ParamDef, StoreError> {
        let generator = match kind {
            ParamKind::Generated(g) => Some(g.to_string()),
            _ => None,
        };
        let done = sqlx::query(
            "INSERT INTO param_defs (name, description, kind, generator, builtin) VALUES ($1, $2, $3, $4, 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(description)
        .bind(kind.tag())
        .bind(generator)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::ParamExists(name.clone()));
        }
        self.param_def(name.as_str()).await
    }

    /// Sets a value. An unknown name is defined on the spot (secret when `secret`); a
    /// plain parameter marked `secret` becomes secret, its stored values sealed.
    pub async fn set_param(
        &self,
        name: &ParamName,
        scope: &Scope,
        value: &SecretString,
        secret: bool,
    ) -> Result<ParamDef, StoreError> {
        use secrecy::ExposeSecret;
        tenantry_core::limits::bytes(
            "value",
            value.expose_secret(),
            tenantry_core::limits::PARAM_VALUE_BYTES,
        )?;
        scope.ensure_exists(self).await?;
        let def = match self.param_def(name.as_str()).await {
            Ok(def) => def,
            Err(StoreError::ParamNotFound(_)) => {
                let kind = if secret {
                    ParamKind::Secret
                } else {
                    ParamKind::Plain
                };
                match self.define_param(name, kind, "").await {
                    Err(StoreError::ParamExists(_)) => self.param_def(name.as_str()).await?,
                    other => other?,
                }
            }
            Err(e) => return Err(e),
        };
        let hint = match def.kind {
            ParamKind::Generated(_) => "its value is generated once per client, not set",
            ParamKind::Builtin => {
                "its value comes from the client or the namespace, not from a setting"
            }
            ParamKind::Plain | ParamKind::Secret => "",
        };
        if !hint.is_empty() {
            return Err(StoreError::ParamNotSettable {
                name: def.name,
                kind: def.kind.to_string(),
                hint,
            });
        }
        let mut tx = self.begin().await?;
        let sealing = def.kind == ParamKind::Secret || secret;
        if secret && def.kind == ParamKind::Plain {
            let rows = sqlx::query(
                "SELECT scope, plain FROM param_values WHERE name = $1 AND plain IS NOT NULL",
            )
            .bind(name.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for r in rows {
                let s: String = r.try_get(0)?;
                let p: String = r.try_get(1)?;
                let sealed = self
                    .cipher
                    .seal(value_place(&s, name.as_str()), p.as_bytes());
                sqlx::query("UPDATE param_values SET plain = NULL, sealed = $1 WHERE name = $2 AND scope = $3")
                    .bind(sealed)
                    .bind(name.as_str())
                    .bind(&s)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE param_defs SET kind = 'secret' WHERE name = $1")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let key = scope.key();
        let (plain, sealed) = if sealing {
            let place = value_place(&key, name.as_str());
            (None, Some(self.cipher.seal_str(place, value)))
        } else {
            (Some(value.expose_secret().to_owned()), None)
        };
        sqlx::query(
            "INSERT INTO param_values (name, scope, plain, sealed, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name, scope) DO UPDATE SET plain = excluded.plain, sealed = excluded.sealed, \
             updated_at = excluded.updated_at",
        )
        .bind(name.as_str())
        .bind(&key)
        .bind(plain)
        .bind(sealed)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(param = %name, scope = key, "parameter set");
        self.param_def(name.as_str()).await
    }

    /// Removes a value; returns whether there was one.
    pub async fn unset_param(&self, name: &ParamName, scope: &Scope) -> Result<bool, StoreError> {
        scope.ensure_exists(self).await?;
        self.param_def(name.as_str()).await?;
        let n = sqlx::query("DELETE FROM param_values WHERE name = $1 AND scope = $2")
            .bind(name.as_str())
            .bind(scope.key())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}
