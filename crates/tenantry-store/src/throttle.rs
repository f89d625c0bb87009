//! Failed-login counts for throttling (the rules are `tenantry_core::throttle`'s), and
//! the addresses each user logged in from.

use sqlx::Row;
use tenantry_core::throttle::{self, Scope};

use crate::db::Catalog;
use crate::error::StoreError;

/// The rows one login attempt concerns: (scope, user name, address).
fn rows<'a>(user: &'a str, address: &'a str) -> [(Scope, &'a str, &'a str); 3] {
    [
        (Scope::Account, user, ""),
        (Scope::Address, "", address),
        (Scope::Pair, user, address),
    ]
}

impl Catalog {
    /// Until when (Unix seconds) a login of `user` from `address` must wait, if it must;
    /// the account's own count is left out at an address the user is known at.
    pub async fn login_blocked_until(
        &self,
        user: &str,
        address: &str,
        known_address: bool,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut until = None::<i64>;
        for (scope, u, a) in rows(user, address) {
            if scope == Scope::Account && known_address {
                continue;
            }
            let row = sqlx::query(
                "SELECT blocked_until FROM login_throttle WHERE scope = $1 AND user_name = $2 AND address = $3",
            )
            .bind(scope.as_str())
            .bind(u)
            .bind(a)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(r) = row {
                let t: i64 = r.try_get(0)?;
                if t > now {
                    until = Some(until.map_or(t, |u| u.max(t)));
                }
            }
        }
        Ok(until)
    }

    /// Counts a failed login of `user` from `address` in each scope, and sets each
    /// scope's delay from its new count.
    pub async fn record_login_failure(
        &self,
        user: &str,
        address: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        for (scope, u, a) in rows(user, address) {
            let failures: i64 = sqlx::query(
                "INSERT INTO login_throttle (scope, user_name, address, failures, last_at, blocked_until) \
                 VALUES ($1, $2, $3, 1, $4, 0) \
                 ON CONFLICT (scope, user_name, address) DO UPDATE SET \
                 failures = CASE WHEN login_throttle.last_at < $5 THEN 1 ELSE login_throttle.failures + 1 END, \
                 last_at = $4 \
                 RETURNING failures",
            )
            .bind(scope.as_str())
            .bind(u)
            .bind(a)
            .bind(now)
            .bind(now - throttle::WINDOW_S)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
            let delay = throttle::delay_s(scope, u32::try_from(failures).unwrap_or(u32::MAX));
            if delay > 0 {
                sqlx::query(
                    "UPDATE login_throttle SET blocked_until = $1 WHERE scope = $2 AND user_name = $3 AND address = $4",
                )
                .bind(now + delay)
                .bind(scope.as_str())
                .bind(u)
                .bind(a)
                .execute(&self.pool)
                .await?;
            }
        }
        sqlx::query("DELETE FROM login_throttle WHERE last_at < $1")
            .bind(now - 24 * 3600)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A successful login: the pair's count is forgotten and the address is known.
    pub async fn record_login_success(
        &self,
        user_id: i64,
        user: &str,
        address: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM login_throttle WHERE scope = 'pair' AND user_name = $1 AND address = $2",
        )
        .bind(user)
        .bind(address)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO login_known (user_id, address, last_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, address) DO UPDATE SET last_at = $3",
        )
        .bind(user_id)
        .bind(address)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether `user_id` logged in from `address` in the past 90 days.
    pub async fn is_known_address(
        &self,
        user_id: i64,
        address: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM login_known WHERE user_id = $1 AND address = $2 AND last_at >= $3",
        )
        .bind(user_id)
        .bind(address)
        .bind(now - 90 * 86_400)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// Forgets every failure counted against `user` (a password reset, `user unlock`);
    /// false when there was none.
    pub async fn unlock_user(&self, user: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM login_throttle WHERE user_name = $1")
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
