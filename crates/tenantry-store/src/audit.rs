//! The audit log: who did what to what, from where. Every field is bounded when
//! written (an anonymous caller chooses some of them, e.g. the name of a failed login),
//! and entries older than the retention are dropped.

use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db::{Catalog, now};
use crate::error::StoreError;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub address: String,
}

/// One thing that happened, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub address: &'a str,
}

/// The most characters kept of the actor, action and address.
pub const AUDIT_SHORT_MAX: usize = 80;
/// The most characters kept of the target and the detail.
pub const AUDIT_LONG_MAX: usize = 500;

/// `s` cut to `max` characters, marked with "…" when cut.
fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => {
            let mut cut = s[..end].to_owned();
            cut.pop();
            cut.push('…');
            cut
        }
    }
}

impl Catalog {
    pub async fn audit(&self, e: &NewAudit<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, target, detail, address) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now())
        .bind(bounded(e.actor, AUDIT_SHORT_MAX))
        .bind(bounded(e.action, AUDIT_SHORT_MAX))
        .bind(bounded(e.target, AUDIT_LONG_MAX))
        .bind(bounded(e.detail, AUDIT_LONG_MAX))
        .bind(bounded(e.address, AUDIT_SHORT_MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail, address FROM audit ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    address: r.try_get(6)?,
                })
            })
            .collect()
    }

    pub async fn count_audit(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM audit")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Drops entries older than `days` days; how many went.
    pub async fn prune_audit(&self, days: u32) -> Result<u64, StoreError> {
        let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        let cutoff = cutoff
            .format(&Rfc3339)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query("DELETE FROM audit WHERE at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_fields_are_cut_and_marked() {
        assert_eq!(super::bounded("abc", 3), "abc");
        assert_eq!(super::bounded("abcd", 3), "ab…");
        assert_eq!(super::bounded("ааааа", 2), "а…");
    }
}
