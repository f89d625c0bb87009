//! Who is calling: a session cookie (browser) or a Bearer API token (automation).
//!
//! Passwords are hashed with argon2id (m = 19456 KiB, t = 2, p = 1). Session ids and API
//! tokens are 256 random bits; only their SHA-256 is stored. Sessions end after 30 idle
//! minutes or 8 hours. Every state-changing request made with a session carries the
//! session's CSRF token (form field `_csrf` or header `X-CSRF-Token`), and a foreign
//! `Origin` is refused outright.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::AppState;
pub use crate::caller::{Caller, RequestInfo, Via};
pub use crate::cookies::cookie;
use crate::error::WebError;
pub use crate::hashing::constant_time_eq;
use crate::i18n::Lang;
use crate::respond;

/// The session cookie's name; with `--secure-cookies` it carries the `__Host-` prefix
/// (the browser then keeps it only if it is Secure, host-only and for the whole site).
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-tenantry_session"
    } else {
        "tenantry_session"
    }
}

/// Before login: a random value in a cookie that the login form must repeat.
pub fn pre_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-tenantry_pre"
    } else {
        "tenantry_pre"
    }
}

pub use crate::caller::{ABSOLUTE_TIMEOUT_S, IDLE_TIMEOUT_S};

pub use crate::hashing::hash_password;

/// A password `user` may choose: long enough, not common, not built from the user
/// name or the product's name (`tenantry_core::password`).
pub fn check_password(password: &str, user: &str) -> Result<(), WebError> {
    tenantry_core::password::check(password, &[user])
        .map_err(|e| WebError::field("password", crate::messages::password(&e)))
}

/// 256 random bits as hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    hex::encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure when served over TLS.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.config.secure_cookies {
        c.push_str("; Secure");
    }
    c
}

impl AppState {
    pub fn session_cookie(&self) -> &'static str {
        session_cookie(self.config.secure_cookies)
    }

    pub fn pre_cookie(&self) -> &'static str {
        pre_cookie(self.config.secure_cookies)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

async fn resolve_caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, WebError> {
    let now = unix_now();
    if let Some(token) = bearer(headers) {
        let found = state.catalog.use_api_token(&sha256_hex(token), now).await?;
        return Ok(found.map(|t| Caller {
            name: format!("token:{}", t.name),
            user: t.created_by.clone(),
            role: t.effective_role(),
            via: Via::Token { id: t.id },
        }));
    }
    let Some(sid) = cookie(headers, state.session_cookie()) else {
        return Ok(None);
    };
    let id_hash = sha256_hex(&sid);
    let Some(s) = state.catalog.session(&id_hash).await? else {
        return Ok(None);
    };
    if now - s.last_seen_at > IDLE_TIMEOUT_S || now - s.created_at > ABSOLUTE_TIMEOUT_S {
        state.catalog.delete_session(&id_hash).await?;
        return Ok(None);
    }
    if now - s.last_seen_at >= 30 {
        state.catalog.touch_session(&id_hash, now).await?;
    }
    Ok(Some(Caller {
        name: s.user.name.to_string(),
        user: s.user.name.to_string(),
        role: s.user.role,
        via: Via::Session {
            id_hash,
            csrf: s.csrf,
        },
    }))
}

/// Whether `Host` names this server: any host without `--public-url`, else its host
/// and port exactly (a DNS-rebinding page sends its own name).
fn right_host(state: &AppState, headers: &HeaderMap) -> Result<(), WebError> {
    let Some(public) = &state.config.public_url else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if host.eq_ignore_ascii_case(&public.authority) {
        Ok(())
    } else {
        Err(WebError::WrongHost(public.url.clone()))
    }
}

/// Whether `Origin` (when sent) names this server: the `--public-url`'s origin when
/// given, else the `Host` the request was sent to.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if let Some(public) = &state.config.public_url {
        return origin
            .trim_end_matches('/')
            .eq_ignore_ascii_case(&public.origin);
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

const MAX_FORM: usize = 2 * 1024 * 1024;

/// Authenticates every request, enforces CSRF on state changes, and records what it
/// learnt for the handlers.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let is_api = parts.uri.path().starts_with("/api/");
    let mut lang = Lang::from_headers(&parts.headers);
    let query_lang = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(Lang::parse);
    if let Some(l) = query_lang {
        lang = l;
    }
    let address = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if let Err(e) = right_host(&state, &parts.headers) {
        return respond::error(e, is_api, lang);
    }
    let caller = match resolve_caller(&state, &parts.headers).await {
        Ok(c) => c,
        Err(e) => return respond::error(e, is_api, lang),
    };
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let mut body = body;
    if unsafe_method {
        if !same_origin(&state, &parts.headers) {
            return respond::error(WebError::Csrf, is_api, lang);
        }
        // Sessions check their own token; the login and setup forms (no session yet)
        // check the random value of their pre-login cookie. Bearer calls carry no
        // ambient credentials, and other anonymous calls are refused by the handler.
        let path = parts.uri.path();
        let expected = match &caller {
            // A login form carries the pre-login value even where a session exists (a
            // second login from another tab ends that session).
            _ if path == "/login" || path == "/setup" => {
                Some(cookie(&parts.headers, state.pre_cookie()).unwrap_or_default())
            }
            Some(Caller {
                via: Via::Session { csrf, .. },
                ..
            }) => Some(csrf.clone()),
            Some(_) | None => None,
        };
        if let Some(expected) = expected {
            let header_token = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = match axum::body::to_bytes(body, MAX_FORM).await {
                Ok(b) => b,
                Err(_) => {
                    let e = WebError::field("body", "the request body is larger than 2 MiB");
                    return respond::error(e, is_api, lang);
                }
            };
            let given = header_token.or_else(|| form_field(&bytes, "_csrf"));
            let ok = given.is_some_and(|g| {
                !expected.is_empty() && constant_time_eq(expected.as_bytes(), g.as_bytes())
            });
            if !ok {
                return respond::error(WebError::Csrf, is_api, lang);
            }
            body = Body::from(bytes);
        }
    }
    parts.extensions.insert(RequestInfo {
        lang,
        caller,
        address,
        is_api,
    });
    let req = Request::from_parts(parts, body);
    let mut resp = next.run(req).await;
    if is_api && resp.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED {
        let allow = resp.headers().get(header::ALLOW).cloned();
        resp = respond::error(WebError::MethodNotAllowed, true, lang);
        if let Some(a) = allow {
            resp.headers_mut().insert(header::ALLOW, a);
        }
    }
    if let Some(l) = query_lang {
        let secure = if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        if let Ok(v) = format!(
            "lang={}; Path=/; SameSite=Strict; Max-Age=31536000{secure}",
            l.code()
        )
        .parse()
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}
