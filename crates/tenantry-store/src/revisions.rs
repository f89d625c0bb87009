//! Revisions: each successful deploy of a client to a namespace stores the manifests it
//! rendered (sealed: they hold the client's secrets) as revision N, like a Helm release
//! history. A rollback deploys an earlier revision's manifests as a new one.

use serde::Serialize;
use sqlx::Row;
use tenantry_core::ClientId;

use crate::crypto::Place;
use crate::db::{Catalog, now};
use crate::error::StoreError;

/// One revision of a client's environment in a namespace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub number: i64,
    pub run: i64,
    pub created_at: String,
    /// The LMS image it ran.
    pub image: String,
    /// The rendered objects, secrets revealed: never shown as they are.
    #[serde(skip)]
    pub manifests: Vec<serde_json::Value>,
}

fn number(id: ClientId) -> i64 {
    i64::try_from(id.number()).unwrap_or(i64::MAX)
}

fn place_row(client: ClientId, ns: &str, n: i64) -> String {
    format!("{client}/{ns}/{n}")
}

impl Catalog {
    /// Stores the manifests of run `run` as the next revision; its number.
    pub async fn add_revision(
        &self,
        client: ClientId,
        ns: &str,
        run: i64,
        image: &str,
        manifests: &[serde_json::Value],
    ) -> Result<i64, StoreError> {
        self.insert_revision(client, ns, run, image, manifests, 1)
            .await
    }

    /// Stores what an adoption found as revision 0 (the first deploy after it is 1).
    pub async fn add_adopted_revision(
        &self,
        client: ClientId,
        ns: &str,
        run: i64,
        image: &str,
        manifests: &[serde_json::Value],
    ) -> Result<i64, StoreError> {
        self.insert_revision(client, ns, run, image, manifests, 0)
            .await
    }

    /// Revision `first` if there is none yet, else the one after the last.
    async fn insert_revision(
        &self,
        client: ClientId,
        ns: &str,
        run: i64,
        image: &str,
        manifests: &[serde_json::Value],
        first: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let next = self
            .insert_revision_in(&mut tx, client, ns, run, image, manifests, first)
            .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// [`Self::insert_revision`] inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_revision_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        client: ClientId,
        ns: &str,
        run: i64,
        image: &str,
        manifests: &[serde_json::Value],
        first: i64,
    ) -> Result<i64, StoreError> {
        let next: i64 = sqlx::query(
            "SELECT COALESCE(MAX(number) + 1, $3) FROM revisions WHERE client_number = $1 AND namespace = $2",
        )
        .bind(number(client))
        .bind(ns)
        .bind(first)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let row = place_row(client, ns, next);
        let plain =
            serde_json::to_vec(manifests).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = self.cipher.seal(
            Place {
                table: "revisions",
                row: &row,
                field: "manifests",
            },
            &plain,
        );
        sqlx::query("INSERT INTO revisions (client_number, namespace, number, run_id, created_at, image, manifests) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(number(client))
            .bind(ns)
            .bind(next)
            .bind(run)
            .bind(now())
            .bind(image)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
        Ok(next)
    }

    /// The latest revision of every client in a namespace, manifests opened: what each
    /// environment should be. Those whose number `known` already has are skipped
    /// (a cache asks only for what changed; `known` maps a client to a revision
    /// number), and at most `limit` are opened: ask again, with them known, for more.
    pub async fn latest_revisions(
        &self,
        ns: &str,
        known: &std::collections::HashMap<ClientId, i64>,
        limit: usize,
    ) -> Result<Vec<(ClientId, Revision)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.client_number, r.number, r.run_id, r.created_at, r.image FROM revisions r \
             WHERE r.namespace = $1 AND r.number = (SELECT MAX(number) FROM revisions m WHERE m.client_number = r.client_number AND m.namespace = r.namespace) \
             ORDER BY r.client_number",
        )
        .bind(ns)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let c: i64 = r.try_get(0)?;
            let client = crate::db::client_at(r, 0)?;
            let n: i64 = r.try_get(1)?;
            if known.get(&client) == Some(&n) {
                continue;
            }
            if out.len() == limit {
                break;
            }
            let sealed: Vec<u8> = sqlx::query(
                "SELECT manifests FROM revisions WHERE client_number = $1 AND namespace = $2 AND number = $3",
            )
            .bind(c)
            .bind(ns)
            .bind(n)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
            out.push((
                client,
                Revision {
                    number: n,
                    run: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    image: r.try_get(4)?,
                    manifests: self.open_manifests(client, ns, n, &sealed)?,
                },
            ));
        }
        Ok(out)
    }

    fn open_manifests(
        &self,
        client: ClientId,
        ns: &str,
        n: i64,
        sealed: &[u8],
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let row = place_row(client, ns, n);
        let plain = self.cipher.open(
            Place {
                table: "revisions",
                row: &row,
                field: "manifests",
            },
            sealed,
        )?;
        serde_json::from_slice(&plain)
            .map_err(|e| StoreError::Corrupt(format!("revision {n}: {e}")))
    }

    /// A client's latest revision in a namespace, its manifests opened.
    pub async fn latest_revision(
        &self,
        client: ClientId,
        ns: &str,
    ) -> Result<Option<Revision>, StoreError> {
        let Some(r) = sqlx::query("SELECT number, run_id, created_at, image, manifests FROM revisions WHERE client_number = $1 AND namespace = $2 ORDER BY number DESC LIMIT 1")
            .bind(number(client))
            .bind(ns)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let n: i64 = r.try_get(0)?;
        let sealed: Vec<u8> = r.try_get(4)?;
        Ok(Some(Revision {
            number: n,
            run: r.try_get(1)?,
            created_at: r.try_get(2)?,
            image: r.try_get(3)?,
            manifests: self.open_manifests(client, ns, n, &sealed)?,
        }))
    }

    /// A client's revisions in a namespace, oldest first, their manifests opened.
    pub async fn revisions(&self, client: ClientId, ns: &str) -> Result<Vec<Revision>, StoreError> {
        let rows = sqlx::query("SELECT number, run_id, created_at, image, manifests FROM revisions WHERE client_number = $1 AND namespace = $2 ORDER BY number")
            .bind(number(client))
            .bind(ns)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(0)?;
                let sealed: Vec<u8> = r.try_get(4)?;
                Ok(Revision {
                    number: n,
                    run: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    image: r.try_get(3)?,
                    manifests: self.open_manifests(client, ns, n, &sealed)?,
                })
            })
            .collect()
    }
}
