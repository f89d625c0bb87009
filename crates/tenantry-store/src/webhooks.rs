//! Outgoing webhooks in the catalog: who is told of which events (the signing secret
//! sealed), an event queued as one delivery per webhook that wants it, deliveries
//! claimed by one sender at a time, and every attempt kept.

use secrecy::SecretString;
use serde::Serialize;
use sqlx::Row;
use tenantry_core::webhook::{Event, Format};

use crate::crypto::Place;
use crate::db::{Catalog, now};
use crate::error::StoreError;
use crate::rollouts::unix_now;

/// A webhook as listed (its secret never shown).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub format: String,
    pub signed: bool,
    pub created_by: String,
    pub created_at: String,
}

/// A delivery due, as a sender needs it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub url: String,
    pub format: Format,
    pub secret: Option<SecretString>,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

/// One try of a delivery.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub n: i64,
    pub at: String,
    pub code: Option<i64>,
    pub error: Option<String>,
}

/// A delivery with its attempts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub webhook: i64,
    pub event: String,
    pub status: String,
    pub attempts: Vec<Attempt>,
    pub created_at: String,
}

fn secret_place(row: &str) -> Place<'_> {
    Place {
        table: "webhooks",
        row,
        field: "secret",
    }
}

/// What an edit does to a webhook's signing secret.
#[derive(Debug, Clone)]
pub enum SecretChange {
    Keep,
    /// Bodies go unsigned from now on.
    Remove,
    Set(SecretString),
}

/// What a sender learnt of one try.
#[derive(Debug, Clone)]
pub enum Tried {
    Delivered {
        code: i64,
    },
    /// Not delivered; tried again at `next_at` (seconds since the epoch), or given up.
    Failed {
        code: Option<i64>,
        error: String,
        next_at: Option<i64>,
    },
}

impl Catalog {
    /// Adds a webhook; its id.
    pub async fn add_webhook(
        &self,
        url: &str,
        events: &[Event],
        format: Format,
        secret: Option<&SecretString>,
        by: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let list: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let id: i64 = sqlx::query(
            "INSERT INTO webhooks (url, events, format, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(url)
        .bind(list.join(","))
        .bind(format.as_str())
        .bind(by)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if let Some(s) = secret {
            self.set_secret(&mut tx, id, &SecretChange::Set(s.clone()))
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Seals a webhook's new secret, or removes it, in `tx`.
    async fn set_secret(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: i64,
        change: &SecretChange,
    ) -> Result<(), StoreError> {
        let sealed = match change {
            SecretChange::Keep => return Ok(()),
            SecretChange::Remove => None,
            SecretChange::Set(s) => {
                let row = id.to_string();
                Some(self.cipher.seal_str(secret_place(&row), s))
            }
        };
        sqlx::query("UPDATE webhooks SET secret = $1 WHERE id = $2")
            .bind(sealed)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, events, format, CAST(CASE WHEN secret IS NULL THEN 0 ELSE 1 END AS BIGINT), created_by, created_at FROM webhooks ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let events: String = r.try_get(2)?;
                let signed = r.try_get::<i64, _>(4)? != 0;
                Ok(Webhook {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    events: events.split(',').map(str::to_owned).collect(),
                    format: r.try_get(3)?,
                    signed,
                    created_by: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Changes a webhook's address, events, format and secret; whether there was one.
    /// Deliveries not sent yet go to the new address, in the new format, signed as it now
    /// says.
    pub async fn update_webhook(
        &self,
        id: i64,
        url: &str,
        events: &[Event],
        format: Format,
        secret: &SecretChange,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let list: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let n = sqlx::query("UPDATE webhooks SET url = $1, events = $2, format = $3 WHERE id = $4")
            .bind(url)
            .bind(list.join(","))
            .bind(format.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        self.set_secret(&mut tx, id, secret).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes a webhook and its deliveries; whether there was one.
    pub async fn remove_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Queues `event` with `data` for every webhook that wants it; how many.
    pub async fn notify(
        &self,
        event: Event,
        data: &serde_json::Value,
    ) -> Result<usize, StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.notify_in(&mut conn, event, data).await
    }

    /// [`Self::notify`], once per `key` across every server on the catalog (and
    /// through restarts) until [`Self::forget_notice`]. Whether it was told now (not before).
    pub async fn notify_once(
        &self,
        key: &str,
        event: Event,
        data: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let new = sqlx::query(
            "INSERT INTO notices (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if new == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        self.notify_in(&mut tx, event, data).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets the notices whose key starts with `prefix`: they are told again.
    pub async fn forget_notice(&self, prefix: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM notices WHERE substr(key, 1, length($1)) = $1")
            .bind(prefix)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn notify_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        event: Event,
        data: &serde_json::Value,
    ) -> Result<usize, StoreError> {
        let body =
            serde_json::json!({ "event": event.as_str(), "at": now(), "data": data }).to_string();
        let hooks = self.webhooks().await?;
        let mut n = 0;
        for h in hooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == event.as_str()))
        {
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, event, body, status, attempts, next_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $5)",
            )
            .bind(h.id)
            .bind(event.as_str())
            .bind(&body)
            .bind(unix_now())
            .bind(now())
            .execute(&mut *conn)
            .await?;
            n += 1;
        }
        Ok(n)
    }

    /// Claims up to `limit` deliveries due now for `owner` for `lease_secs`: no other
    /// sender takes them meanwhile.
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        limit: i64,
        lease_secs: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let now = unix_now();
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for id in ids {
            let took = sqlx::query(
                "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2 WHERE id = $3 AND status = 'pending' \
                 AND (claimed_until IS NULL OR claimed_until < $4)",
            )
            .bind(owner)
            .bind(now + lease_secs)
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if took == 0 {
                continue;
            }
            let r = sqlx::query(
                "SELECT d.id, w.id, w.url, w.format, w.secret, d.event, d.body, d.attempts \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
            let hook: i64 = r.try_get(1)?;
            let sealed: Option<Vec<u8>> = r.try_get(4)?;
            let row = hook.to_string();
            let format: String = r.try_get(3)?;
            out.push(DueDelivery {
                id: r.try_get(0)?,
                url: r.try_get(2)?,
                format: Format::parse(&format).map_err(StoreError::Corrupt)?,
                secret: sealed
                    .map(|s| self.cipher.open_str(secret_place(&row), &s))
                    .transpose()?,
                event: r.try_get(5)?,
                body: r.try_get(6)?,
                attempts: r.try_get(7)?,
            });
        }
        Ok(out)
    }

    /// Records one try of delivery `id`.
    pub async fn record_delivery(&self, id: i64, tried: &Tried) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let attempts: i64 = sqlx::query("SELECT attempts FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let n = attempts + 1;
        let (code, error, status, next_at) = match tried {
            Tried::Delivered { code } => (Some(*code), None, "delivered", None),
            Tried::Failed {
                code,
                error,
                next_at: Some(at),
            } => (*code, Some(error.as_str()), "pending", Some(*at)),
            Tried::Failed { code, error, .. } => (*code, Some(error.as_str()), "failed", None),
        };
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, n, at, code, error) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(n)
        .bind(now())
        .bind(code)
        .bind(error)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = $1, status = $2, next_at = COALESCE($3, next_at), \
             claimed_by = NULL, claimed_until = NULL WHERE id = $4",
        )
        .bind(n)
        .bind(status)
        .bind(next_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest deliveries (of one webhook, or all), newest first, with their attempts.
    pub async fn deliveries(
        &self,
        webhook: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, webhook_id, event, status, created_at FROM webhook_deliveries \
             WHERE ($1 < 0 OR webhook_id = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(webhook.unwrap_or(-1))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let attempts = sqlx::query(
                "SELECT n, at, code, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY n",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|a| {
                Ok(Attempt {
                    n: a.try_get(0)?,
                    at: a.try_get(1)?,
                    code: a.try_get(2)?,
                    error: a.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
            out.push(Delivery {
                id,
                webhook: r.try_get(1)?,
                event: r.try_get(2)?,
                status: r.try_get(3)?,
                attempts,
                created_at: r.try_get(4)?,
            });
        }
        Ok(out)
    }
}
