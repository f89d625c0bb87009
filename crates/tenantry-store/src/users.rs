//! Operators: users (argon2id hashes made by the caller), server-side sessions and API
//! tokens (kept as SHA-256 of the secret, never the secret), login failures for
//! throttling, the one-time setup token, and the audit log.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use tenantry_core::{Role, UserName};

use crate::db::Catalog;
use crate::error::StoreError;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub name: UserName,
    pub role: Role,
    pub created_at: i64,
}

/// A live session as stored: whose, its CSRF token, and its times (Unix seconds).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The role it was given; it acts with the lower of this and its owner's.
    pub role: Role,
    /// Its owner's name.
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub expires_at: i64,
    /// Its owner's role now (the owner's removal removes the token).
    pub owner_role: Role,
}

impl ApiToken {
    /// What the token may do: the lower of its role and its owner's.
    pub fn effective_role(&self) -> Role {
        self.role.min(self.owner_role)
    }
}

/// A token to make: its name, the hash of its secret, its role, its owner and life.
#[derive(Debug, Clone, Copy)]
pub struct NewApiToken<'a> {
    pub name: &'a str,
    pub token_hash: &'a str,
    pub role: Role,
    pub owner: &'a User,
    pub created_at: i64,
    pub expires_at: i64,
}

fn role_of(s: &str) -> Result<Role, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("role {s:?}")))
}

fn user_from(r: &AnyRow, at: usize) -> Result<User, StoreError> {
    let name: String = r.try_get(at + 1)?;
    let role: String = r.try_get(at + 2)?;
    Ok(User {
        id: r.try_get(at)?,
        name: UserName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        role: role_of(&role)?,
        created_at: r.try_get(at + 3)?,
    })
}

fn token_from(r: &AnyRow) -> Result<ApiToken, StoreError> {
    let role: String = r.try_get(3)?;
    let owner_role: String = r.try_get(9)?;
    Ok(ApiToken {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: role_of(&role)?,
        created_by: r.try_get(4)?,
        created_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
        expires_at: r.try_get(8)?,
        owner_role: role_of(&owner_role)?,
    })
}

/// A token's columns with its owner's current name and role (`t` tokens, `u` users).
/// How long a setup token works, in seconds.
pub const SETUP_TOKEN_LIFE_S: i64 = 3600;

const TOKEN_COLUMNS: &str = "t.id, t.name, t.token_hash, t.role, u.name, t.created_at, t.last_used_at, t.revoked_at, t.expires_at, u.role \
     FROM api_tokens t JOIN users u ON u.id = t.owner_id";

impl Catalog {
    pub async fn create_user(
        &self,
        name: &UserName,
        role: Role,
        password_hash: &str,
        at: i64,
    ) -> Result<User, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name.as_str())
        .bind(role.as_str())
        .bind(password_hash)
        .bind(at)
        .fetch_one(&self.pool)
        .await;
        match inserted {
            Ok(row) => {
                // A user exists: the first-start setup token is over.
                self.drop_setup_tokens().await?;
                Ok(User {
                    id: row.try_get(0)?,
                    name: name.clone(),
                    role,
                    created_at: at,
                })
            }
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                Err(StoreError::UserExists(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user and their password hash, for a login.
    pub async fn user_with_hash(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, role, created_at, password_hash FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from(&r, 0)?, r.try_get(4)?)))
            .transpose()
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT id, name, role, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| user_from(r, 0)).collect()
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Changes a user's role and/or password; a changed password ends their sessions and
    /// forgets the failed logins counted against them.
    pub async fn update_user(
        &self,
        name: &str,
        role: Option<Role>,
        password_hash: Option<&str>,
    ) -> Result<User, StoreError> {
        let (user, _) = self
            .user_with_hash(name)
            .await?
            .ok_or_else(|| StoreError::UserNotFound(name.to_owned()))?;
        if let Some(role) = role {
            sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                .bind(role.as_str())
                .bind(user.id)
                .execute(&self.pool)
                .await?;
        }
        if let Some(hash) = password_hash {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(user.id)
                .execute(&self.pool)
                .await?;
            self.delete_sessions_of(user.id).await?;
            self.unlock_user(name).await?;
        }
        Ok(User {
            role: role.unwrap_or(user.role),
            ..user
        })
    }

    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let (user, _) = self
            .user_with_hash(name)
            .await?
            .ok_or_else(|| StoreError::UserNotFound(name.to_owned()))?;
        self.delete_sessions_of(user.id).await?;
        // Their tokens go with them (also by the foreign key, where it is enforced).
        sqlx::query("DELETE FROM api_tokens WHERE owner_id = $1")
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM login_known WHERE user_id = $1")
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        at: i64,
        address: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen_at, address) VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(at)
        .bind(address)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, u.created_at, s.csrf, s.created_at, s.last_seen_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                user: user_from(&r, 0)?,
                csrf: r.try_get(4)?,
                created_at: r.try_get(5)?,
                last_seen_at: r.try_get(6)?,
            })
        })
        .transpose()
    }

    pub async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(at)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_sessions_of(&self, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops sessions idle since `idle_before` or created before `created_before`.
    pub async fn expire_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_api_token(&self, t: &NewApiToken<'_>) -> Result<ApiToken, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, role, created_by, created_at, owner_id, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(t.name)
        .bind(t.token_hash)
        .bind(t.role.as_str())
        .bind(t.owner.name.as_str())
        .bind(t.created_at)
        .bind(t.owner.id)
        .bind(t.expires_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(ApiToken {
            id: row.try_get(0)?,
            name: t.name.to_owned(),
            role: t.role,
            created_by: t.owner.name.to_string(),
            created_at: t.created_at,
            last_used_at: None,
            revoked_at: None,
            expires_at: t.expires_at,
            owner_role: t.owner.role,
        })
    }

    /// The live token with this hash (not revoked, not expired, its owner still there),
    /// marked as used now.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        at: i64,
    ) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
        let Some(token) = row.as_ref().map(token_from).transpose()? else {
            return Ok(None);
        };
        if token.last_used_at.is_none_or(|t| at - t >= 60) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(at)
                .bind(token.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(token))
    }

    /// Whether token `id` still works (not revoked or expired, its owner still there).
    pub async fn api_token_is_live(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} WHERE t.id = $1 AND t.revoked_at IS NULL AND t.expires_at > $2"
        );
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} ORDER BY t.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from).collect()
    }

    pub async fn revoke_api_token(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces any setup token with this one.
    pub async fn set_setup_token(&self, token_hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
            .bind(token_hash)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Uses up the setup token: true once for the right hash, while no user exists and
    /// within [`SETUP_TOKEN_LIFE_S`] of its making.
    pub async fn take_setup_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        if self.count_users().await? > 0 {
            self.drop_setup_tokens().await?;
            return Ok(false);
        }
        let done =
            sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1 AND created_at > $2")
                .bind(token_hash)
                .bind(now - SETUP_TOKEN_LIFE_S)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Drops every setup token (a user exists now).
    pub async fn drop_setup_tokens(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
