//! The login, logout and first-start setup pages (the rules they follow are in `login`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_core::{Role, UserName};

use crate::AppState;
use crate::auth::{self, Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{bare_page, notice, with_status};
use crate::i18n::Lang;
use crate::input::FormData;
use crate::login::safe_next;

// The login, logout and first-start setup pages.

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/fleet") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/setup", get(setup_form).post(setup))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

fn login_page(state: &AppState, info: &RequestInfo, next: &str, error: Option<&str>) -> Response {
    let pre = auth::random_token();
    let lang = info.lang;
    let body = html! {
        @if let Some(e) = error { (notice("error", e)) }
        form.card.narrow method="post" action="/login" {
            input type="hidden" name="_csrf" value=(pre);
            input type="hidden" name="next" value=(next);
            label { (lang.t("User name")) input name="name" autocomplete="username" required autofocus; }
            label { (lang.t("Password")) input name="password" type="password" autocomplete="current-password" required; }
            button type="submit" { (lang.t("Log in")) }
        }
    };
    pre_login_page(state, lang, lang.t("Log in"), &pre, body)
}

/// A page for someone not logged in whose form carries `pre`, the random value also
/// set as the pre-login cookie (the CSRF check of /login and /setup).
fn pre_login_page(state: &AppState, lang: Lang, title: &str, pre: &str, body: Markup) -> Response {
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(state, state.pre_cookie(), pre, Some(3600)),
        )],
        bare_page(lang, title, body),
    )
        .into_response()
}

async fn login_form(
    State(state): State<AppState>,
    info: RequestInfo,
    Query(q): Query<LoginQuery>,
) -> Response {
    if info.caller.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_page(&state, &info, &safe_next(q.next.as_deref()), None)
}

async fn login(
    State(state): State<AppState>,
    info: RequestInfo,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> Response {
    let next = safe_next(Some(form.get("next")));
    // The session this browser had ends with this login (ASVS 7.2.4).
    let previous = auth::cookie(&headers, state.session_cookie()).map(|s| auth::sha256_hex(&s));
    match crate::login::login(
        &state,
        form.get("name"),
        form.get("password"),
        &info.address,
        previous.as_deref(),
    )
    .await
    {
        Ok((sid, user)) => {
            state
                .audit(user.name.as_str(), &info.address, "login", "", "")
                .await;
            (
                [(
                    header::SET_COOKIE,
                    auth::set_cookie(&state, state.session_cookie(), &sid, None),
                )],
                Redirect::to(&next),
            )
                .into_response()
        }
        Err(e @ (WebError::LoginFailed | WebError::TooManyAttempts { .. } | WebError::Busy)) => {
            // Only names that could be users are recorded (the field is the caller's).
            if let Ok(name) = UserName::parse(form.get("name")) {
                let what = match &e {
                    WebError::LoginFailed => "login failed",
                    _ => "login refused: throttled",
                };
                state
                    .audit(name.as_str(), &info.address, what, "", "")
                    .await;
            }
            let mut r = login_page(&state, &info, &next, Some(&e.message_in(info.lang)));
            *r.status_mut() = e.status();
            if let Some(s) = e.retry_after()
                && let Ok(v) = s.to_string().parse()
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn logout(State(state): State<AppState>, info: RequestInfo, caller: Caller) -> Response {
    if let auth::Via::Session { id_hash, .. } = &caller.via {
        if let Err(e) = state.catalog.delete_session(id_hash).await {
            return WebError::from(e).into_response();
        }
        state
            .audit(&caller.name, &info.address, "logout", "", "")
            .await;
    }
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(&state, state.session_cookie(), "", Some(0)),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

fn setup_page(state: &AppState, info: &RequestInfo, token: &str, error: Option<&str>) -> Response {
    let lang = info.lang;
    let pre = auth::random_token();
    let body = html! {
        @if let Some(e) = error { (notice("error", e)) }
        form.card.narrow method="post" action="/setup" {
            input type="hidden" name="_csrf" value=(pre);
            label { (lang.t("Setup token")) input name="token" value=(token) required; }
            label { (lang.t("User name")) input name="name" autocomplete="username" required; }
            label { (lang.t("Password")) input name="password" type="password" autocomplete="new-password" minlength="10" required; }
            button type="submit" { (lang.t("Create")) }
        }
    };
    pre_login_page(
        state,
        lang,
        lang.t("First start: create the administrator"),
        &pre,
        body,
    )
}

async fn setup_form(
    State(state): State<AppState>,
    info: RequestInfo,
    Query(q): Query<SetupQuery>,
) -> Result<Response, WebError> {
    if state.catalog.count_users().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(setup_page(
        &state,
        &info,
        q.token.as_deref().unwrap_or(""),
        None,
    ))
}

async fn setup(
    State(state): State<AppState>,
    info: RequestInfo,
    form: FormData,
) -> Result<Response, WebError> {
    let attempt = async {
        let name = UserName::parse(form.get("name"))
            .map_err(|e| WebError::field("name", crate::messages::user_name(&e)))?;
        let password = form.get("password");
        auth::check_password(password, name.as_str())?;
        if !state
            .catalog
            .take_setup_token(
                &auth::sha256_hex(form.get("token").trim()),
                auth::unix_now(),
            )
            .await?
        {
            return Err(WebError::field(
                "token",
                "the setup token is wrong, was used or is older than an hour; it is printed when the server starts with no users, or create an admin with `tenantry user add NAME --role admin --password-stdin`",
            ));
        }
        let hash = state.hasher.hash(password).await?;
        let user = state
            .catalog
            .create_user(&name, Role::Admin, &hash, auth::unix_now())
            .await?;
        state
            .audit(
                user.name.as_str(),
                &info.address,
                "create user",
                user.name.as_str(),
                "first admin, with the setup token",
            )
            .await;
        Ok(())
    };
    match attempt.await {
        Ok(()) => Ok(Redirect::to("/login").into_response()),
        Err(e @ WebError::Field { .. }) => Ok(with_status(
            setup_page(&state, &info, form.get("token"), Some(&e.to_string())),
            &e,
        )),
        Err(e) => Err(e),
    }
}
