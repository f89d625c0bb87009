//! Who is calling, as handlers see it: the caller (a session's user or an API token)
//! and what the middleware learnt about the request. Taken from the request's
//! extensions, where `auth::middleware` puts them.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tenantry_core::Role;

use crate::AppState;
use crate::error::WebError;
use crate::i18n::Lang;

pub const IDLE_TIMEOUT_S: i64 = 30 * 60;
pub const ABSOLUTE_TIMEOUT_S: i64 = 8 * 60 * 60;

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { id_hash: String, csrf: String },
    Token { id: i64 },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, as the audit log names them (`token:NAME` for an API token).
    pub name: String,
    /// The user acting: the session's, or the token's owner.
    pub user: String,
    pub role: Role,
    pub via: Via,
}

impl Caller {
    pub fn require(&self, role: Role) -> Result<(), WebError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(WebError::Forbidden(role))
        }
    }

    /// Whether the session or token this caller came with still holds: not ended,
    /// expired or revoked, the user still there (long-lived streams check it as they go).
    pub async fn still_valid(&self, state: &AppState) -> bool {
        let now = unix_now();
        match &self.via {
            Via::Session { id_hash, .. } => match state.catalog.session(id_hash).await {
                Ok(Some(s)) => {
                    now - s.last_seen_at <= IDLE_TIMEOUT_S
                        && now - s.created_at <= ABSOLUTE_TIMEOUT_S
                }
                _ => false,
            },
            Via::Token { id } => state
                .catalog
                .api_token_is_live(*id, now)
                .await
                .unwrap_or(false),
        }
    }

    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::Token { .. } => "",
        }
    }

    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// Everything the middleware learnt about a request: language, caller, address.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub lang: Lang,
    pub caller: Option<Caller>,
    pub address: String,
    pub is_api: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestInfo {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestInfo>()
            .cloned()
            .ok_or_else(|| WebError::Internal("request info missing".into()))
    }
}

/// Rejection when nobody is logged in: the login page for a browser, 401 for the API.
#[derive(Debug)]
pub struct LoginRequired {
    is_api: bool,
    next: String,
}

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        if self.is_api {
            WebError::Unauthenticated.api_response()
        } else {
            let next: String = self
                .next
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            Redirect::to(&format!("/login?next={next}")).into_response()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = LoginRequired;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<RequestInfo>();
        match info.and_then(|i| i.caller.clone()) {
            Some(c) => Ok(c),
            None => Err(LoginRequired {
                is_api: info.is_none_or(|i| i.is_api),
                next: if parts.method == Method::GET {
                    parts.uri.path().to_owned()
                } else {
                    "/".to_owned()
                },
            }),
        }
    }
}
