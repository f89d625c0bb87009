//! Who may do what: users, API tokens (owned by a user, acting with the lower of the
//! two roles, expiring), changing one's own password, and the audit log.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_core::Role;

use crate::AppState;
use crate::auth::{self, Caller, RequestInfo};
use crate::error::{Msg, WebError};
use crate::html::{Ctx, notice, page, when, with_status};
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit))
        .route("/users", get(users).post(add_user))
        .route("/users/{name}", post(update_user))
        .route("/users/{name}/delete", post(delete_user))
        .route("/tokens", get(tokens).post(add_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Markup, WebError> {
    caller.require(Role::Admin)?;
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let page_no: i64 = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let entries = state.catalog.audit_log(100, (page_no - 1) * 100).await?;
    Ok(page(
        &ctx,
        t("Audit log"),
        html! {
            table #audit {
                thead { tr { th { (t("When")) } th { (t("Who")) } th { (t("Action")) } th { (t("Target")) } th { (t("Detail")) } th { (t("From")) } } }
                tbody { @for e in &entries { tr { td { (when(&e.at)) } td { (e.actor) } td { (ctx.lang.t_any(&e.action)) } td { (e.target) } td { (e.detail) } td { (e.address) } } } }
            }
            nav.pager {
                @if page_no > 1 { a href={"/audit?page=" (page_no - 1)} rel="prev" { "← " (t("Previous")) } }
                @if entries.len() == 100 { a href={"/audit?page=" (page_no + 1)} rel="next" { (t("Next")) " →" } }
            }
        },
    ))
}

fn role_select(ctx: &Ctx, selected: Role) -> Markup {
    html! { select name="role" { @for r in Role::ALL { option value=(r.as_str()) selected[r == selected] { (ctx.t(r.as_str())) } } } }
}

async fn users_page(state: &AppState, ctx: &Ctx, error: Option<&str>) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let list = state.catalog.users().await?;
    Ok(page(
        ctx,
        t("Users"),
        html! {
            @if let Some(e) = error { (notice("error", e)) }
            table #users {
                thead { tr { th { (t("Name")) } th { (t("Role")) } th {} } }
                tbody { @for u in &list { tr {
                    td { (u.name.as_str()) }
                    td { form.inline method="post" action={"/users/" (u.name.as_str())} { (ctx.csrf()) (role_select(ctx, u.role)) " " button.link type="submit" { (t("Save")) } } }
                    td { @if u.name.as_str() != ctx.caller.name { form.inline method="post" action={"/users/" (u.name.as_str()) "/delete"} data-confirm=(t("Delete this user?")) { (ctx.csrf()) button.danger type="submit" { (t("Delete")) } } } }
                } } }
            }
            form.card method="post" action="/users" #add-user {
                h2 { (t("New user")) }
                (ctx.csrf())
                div.grid {
                    label { (t("User name")) input name="name" required autocomplete="off"; }
                    label { (t("Role")) (role_select(ctx, Role::Operator)) }
                }
                label { (t("Password")) input name="password" type="password" minlength="10" autocomplete="new-password" required; }
                button type="submit" { (t("Create")) }
            }
        },
    ))
}

async fn users(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    caller.require(Role::Admin)?;
    let ctx = Ctx::new(&info, caller);
    users_page(&state, &ctx, None).await
}

async fn add_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let result = state
        .create_user(
            &caller.name,
            &info.address,
            form.get("name"),
            form.get("role"),
            form.get("password"),
        )
        .await;
    match result {
        Ok(_) => Ok(Redirect::to("/users").into_response()),
        Err(e @ (WebError::Field { .. } | WebError::Conflict(_))) => {
            let ctx = Ctx::new(&info, caller);
            Ok(with_status(
                users_page(&state, &ctx, Some(&e.to_string()))
                    .await?
                    .into_response(),
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn update_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let role = crate::parse_role(form.get("role"))?;
    crate::actions::change_role(&state, &info, &caller, &name, role).await?;
    Ok(Redirect::to("/users").into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    crate::actions::delete_user(&state, &info, &caller, &name).await?;
    Ok(Redirect::to("/users").into_response())
}

use tenantry_core::user::TOKEN_DAYS_DEFAULT;

fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

async fn tokens_page(
    state: &AppState,
    ctx: &Ctx,
    created: Option<&str>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let list = state.catalog.api_tokens().await?;
    let now = auth::unix_now();
    Ok(page(
        ctx,
        t("API tokens"),
        html! {
            @if let Some(tok) = created { p.ok role="status" { (t("Copy this token now; it is not shown again:")) " " code #new-token { (tok) } } }
            table #tokens {
                thead { tr { th { (t("Name")) } th { (t("Role")) } th { (t("Owner")) } th { (t("Created")) } th { (t("Expires")) } th { (t("Last used")) } th {} } }
                tbody { @for k in &list { tr {
                    td { (k.name) }
                    td { (t(k.effective_role().as_str())) @if k.effective_role() < k.role { " (" (t("limited by its owner's role")) ")" } }
                    td { (k.created_by) }
                    td { (day(k.created_at)) }
                    td { (day(k.expires_at)) }
                    td { @match k.last_used_at { Some(d) => (day(d)), None => span.muted { (t("never")) } } }
                    td { @if k.revoked_at.is_some() { (t("revoked")) } @else if k.expires_at <= now { (t("expired")) } @else {
                        form.inline method="post" action={"/tokens/" (k.id) "/revoke"} data-confirm=(t("Revoke this token?")) { (ctx.csrf()) button.danger type="submit" { (t("Revoke")) } } } }
                } } }
            }
            form.card method="post" action="/tokens" #add-token {
                h2 { (t("New API token")) }
                (ctx.csrf())
                div.grid {
                    label { (t("Name")) input name="name" required maxlength="100"; }
                    label { (t("Role")) (role_select(ctx, Role::Viewer)) }
                    label { (t("Expires in")) select name="expires_days" {
                        @for d in [30, 90, 180, 365] { option value=(d) selected[d == TOKEN_DAYS_DEFAULT] { (d) " " (t("days")) } }
                    } }
                }
                p.hint { (t("The token acts for you: never with more rights than your role, and it is removed with your account.")) }
                button type="submit" { (t("Create")) }
            }
        },
    ))
}

async fn tokens(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    caller.require(Role::Admin)?;
    let ctx = Ctx::new(&info, caller);
    tokens_page(&state, &ctx, None).await
}

/// Days of life from a form field or JSON (empty: the default).
pub fn token_days(s: &str) -> Result<i64, WebError> {
    tenantry_core::user::token_days(s)
        .map_err(|e| WebError::field("expires_days", crate::messages::token_days(s, e)))
}

/// Makes an API token owned by the caller's user; the secret is returned once and only
/// its hash is kept.
pub async fn create_token(
    state: &AppState,
    caller: &Caller,
    address: &str,
    name: &str,
    role: Role,
    days: i64,
) -> Result<(String, tenantry_store::ApiToken), WebError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(WebError::field(
            "name",
            Msg::both(
                "give the token a name of 1 to 100 characters, saying what uses it",
                "дайте токену имя от 1 до 100 символов: что им пользуется",
            ),
        ));
    }
    let (owner, _) = state
        .catalog
        .user_with_hash(&caller.user)
        .await?
        .ok_or(WebError::Unauthenticated)?;
    if role > owner.role {
        return Err(WebError::field(
            "role",
            Msg::both(
                format!(
                    "a token cannot have more rights than its owner, who is {}",
                    owner.role
                ),
                format!(
                    "у токена не может быть больше прав, чем у владельца ({})",
                    crate::i18n::Lang::Ru.t_any(owner.role.as_str())
                ),
            ),
        ));
    }
    let token = format!("tnt_{}", auth::random_token());
    let now = auth::unix_now();
    let made = state
        .catalog
        .create_api_token(&tenantry_store::NewApiToken {
            name,
            token_hash: &auth::sha256_hex(&token),
            role,
            owner: &owner,
            created_at: now,
            expires_at: now + days * 86_400,
        })
        .await?;
    state
        .audit(
            &caller.name,
            address,
            "create API token",
            name,
            &format!("{role}, {days} days"),
        )
        .await;
    Ok((token, made))
}

async fn add_token(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Markup, WebError> {
    caller.require(Role::Admin)?;
    let role = crate::parse_role(form.get("role"))?;
    let days = token_days(form.get("expires_days"))?;
    let (token, _) =
        create_token(&state, &caller, &info.address, form.get("name"), role, days).await?;
    let ctx = Ctx::new(&info, caller);
    tokens_page(&state, &ctx, Some(&token)).await
}

async fn revoke_token(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    crate::actions::revoke_token(&state, &info, &caller, id).await?;
    Ok(Redirect::to("/tokens").into_response())
}

/// Changes the caller's own password: the current one is checked (throttled as a
/// login), the new one must pass the policy; every session of the user ends, and the
/// failed logins counted against them are forgotten.
pub async fn change_own_password(
    state: &AppState,
    caller: &Caller,
    address: &str,
    current: &str,
    new: &str,
) -> Result<(), WebError> {
    if !matches!(caller.via, auth::Via::Session { .. }) {
        return Err(WebError::conflict(Msg::both(
            "an API token cannot change its owner's password; log in",
            "API-токен не может сменить пароль владельца; войдите в систему",
        )));
    }
    let now = auth::unix_now();
    let (user, hash) = state
        .catalog
        .user_with_hash(&caller.user)
        .await?
        .ok_or(WebError::Unauthenticated)?;
    if let Some(until) = state
        .catalog
        .login_blocked_until(user.name.as_str(), address, true, now)
        .await?
    {
        return Err(WebError::TooManyAttempts {
            retry_after_s: until - now,
        });
    }
    if !state.hasher.verify(current, &hash).await? {
        state
            .catalog
            .record_login_failure(user.name.as_str(), address, now)
            .await?;
        return Err(WebError::field(
            "current",
            Msg::both("the current password is wrong", "текущий пароль неверен"),
        ));
    }
    auth::check_password(new, user.name.as_str()).map_err(|e| match e {
        WebError::Field { message, .. } => WebError::field("new", message),
        other => other,
    })?;
    if new == current {
        return Err(WebError::field(
            "new",
            Msg::both(
                "the new password is the current one",
                "новый пароль совпадает с текущим",
            ),
        ));
    }
    let new_hash = state.hasher.hash(new).await?;
    state
        .catalog
        .update_user(user.name.as_str(), None, Some(&new_hash))
        .await?;
    state
        .audit(
            &caller.name,
            address,
            "change own password",
            user.name.as_str(),
            "",
        )
        .await;
    Ok(())
}

fn password_page(ctx: &Ctx, error: Option<&str>) -> Markup {
    let t = |s| ctx.t(s);
    page(
        ctx,
        t("Change my password"),
        html! {
            @if let Some(e) = error { (notice("error", e)) }
            form.card.narrow method="post" action="/account/password" #change-password {
                (ctx.csrf())
                label { (t("Current password")) input name="current" type="password" autocomplete="current-password" required; }
                label { (t("New password")) input name="new" type="password" autocomplete="new-password" minlength="10" maxlength="128" required; }
                p.hint { (t("At least 10 characters; not a common password, and not built from your user name.")) }
                button type="submit" { (t("Change password")) }
            }
        },
    )
}

async fn password_form(info: RequestInfo, caller: Caller) -> Markup {
    password_page(&Ctx::new(&info, caller), None)
}

async fn change_password(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    match change_own_password(
        &state,
        &caller,
        &info.address,
        form.get("current"),
        form.get("new"),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/login?changed=1").into_response()),
        Err(e @ (WebError::Field { .. } | WebError::TooManyAttempts { .. })) => {
            let ctx = Ctx::new(&info, caller);
            Ok(with_status(
                password_page(&ctx, Some(&e.message_in(info.lang))).into_response(),
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}
