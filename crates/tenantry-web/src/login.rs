//! Logging in: throttled per account, per source address and per (account, address)
//! with growing delays (`tenantry_core::throttle`), never a lockout the owner cannot get
//! past; a new session replaces the one the browser had; and the page to go to after
//! is checked to stay on this server.

use tenantry_core::UserName;

use crate::AppState;
use crate::auth::{ABSOLUTE_TIMEOUT_S, IDLE_TIMEOUT_S, random_token, sha256_hex, unix_now};
use crate::error::WebError;

/// Where to go after logging in: `next` when it is a path on this server, else the
/// clients list. Whitespace and control characters are refused (browsers drop them from
/// a `Location`, which turns `/\t/host` into `//host`), and what is kept is the path as
/// it re-parses against this origin, percent-encoded.
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/clients";
    let Some(n) = next else {
        return HOME.to_owned();
    };
    if !n.starts_with('/')
        || n.starts_with("//")
        || n.contains('\\')
        || n.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return HOME.to_owned();
    }
    let Ok(base) = url::Url::parse("http://this-server.invalid/") else {
        return HOME.to_owned();
    };
    match base.join(n) {
        Ok(u) if u.origin() == base.origin() && u.username().is_empty() => {
            let mut out = u.path().to_owned();
            if let Some(q) = u.query() {
                out.push('?');
                out.push_str(q);
            }
            out
        }
        _ => HOME.to_owned(),
    }
}

/// Logs `name` in from `address` with `password`, ending the browser's `previous`
/// session (by its id's hash) if it had one. A name that is not a valid user name, a
/// wrong password and an unknown user all get [`WebError::LoginFailed`]; a try while a
/// delay runs gets [`WebError::TooManyAttempts`] without its password being checked.
pub async fn login(
    state: &AppState,
    name: &str,
    password: &str,
    address: &str,
    previous: Option<&str>,
) -> Result<(String, tenantry_store::User), WebError> {
    let now = unix_now();
    let Ok(name) = UserName::parse(name) else {
        return Err(WebError::LoginFailed);
    };
    let name = name.as_str();
    let found = state.catalog.user_with_hash(name).await?;
    let known = match &found {
        Some((u, _)) => state.catalog.is_known_address(u.id, address, now).await?,
        None => false,
    };
    if let Some(until) = state
        .catalog
        .login_blocked_until(name, address, known, now)
        .await?
    {
        return Err(WebError::TooManyAttempts {
            retry_after_s: until - now,
        });
    }
    let hash = found
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |(_, h)| h.clone());
    let ok = state.hasher.verify(password, &hash).await?;
    match found {
        Some((user, _)) if ok => {
            if let Some(prev) = previous {
                state.catalog.delete_session(prev).await?;
            }
            let sid = random_token();
            let csrf = random_token();
            state
                .catalog
                .create_session(&sha256_hex(&sid), user.id, &csrf, now, address)
                .await?;
            state
                .catalog
                .record_login_success(user.id, name, address, now)
                .await?;
            state
                .catalog
                .expire_sessions(now - IDLE_TIMEOUT_S, now - ABSOLUTE_TIMEOUT_S)
                .await?;
            Ok((sid, user))
        }
        _ => {
            state
                .catalog
                .record_login_failure(name, address, now)
                .await?;
            Err(WebError::LoginFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(safe_next(Some("/clients/C7")), "/clients/C7");
        assert_eq!(safe_next(Some("/runs?page=2")), "/runs?page=2");
        assert_eq!(
            safe_next(Some("/клиенты")),
            "/%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%D1%8B"
        );
        for evil in [
            "/\t/127.0.0.1:18999/pwned",
            "/\n/evil",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "/ /evil",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/clients", "{evil:?}");
        }
        assert_eq!(safe_next(None), "/clients");
    }
}
