//! The JSON API under `/api/v1`: what the UI does, for automation. Callers send a Bearer
//! API token (or use their browser session plus `X-CSRF-Token`). Bad input is a 4xx whose
//! JSON names the field; the document is at `/api/v1/openapi.json`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use tenantry_core::Role;
use tenantry_core::template::Template;
use tenantry_store::{AuditEntry, EnvEntry, RequestRecord, Scope, StoredTemplate, User};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::access::{change_own_password, create_token, token_days};
use crate::actions::ns_name;
pub use crate::api_input::{Body, QueryMap};
use crate::api_input::{flag, int};
use crate::api_types::{Items, Me, PasswordChanged, Run, Token, TokenCreated, TokenState};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::templates::template_name;

/// The API's routes and, from the same declarations, its OpenAPI document's paths:
/// a route cannot be served undocumented nor documented unserved.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(run_requests))
        .routes(routes!(run_events))
        .routes(routes!(env))
        .routes(routes!(list_templates))
        .routes(routes!(get_template, put_template))
        .routes(routes!(audit))
        .routes(routes!(list_users, create_user))
        .routes(routes!(list_tokens, create_api_token))
        .merge(crate::api_clients::routes())
        .merge(crate::api_admin::routes())
        .merge(crate::api_fleet::routes())
        .merge(crate::api_overrides::routes())
        .merge(crate::api_rollouts::routes())
        .merge(crate::api_webhooks::routes())
}

fn run_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>()
        .map_err(|_| WebError::not_found(format!("no run {s:?}; run ids are numbers")))
}

/// The caller.
#[utoipa::path(get, path = "/me", tag = "access", responses((status = 200, body = Me)))]
async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        name: caller.name,
        role: caller.role,
    })
}

/// Runs, newest first.
#[utoipa::path(get, path = "/runs", tag = "runs",
    params(
        ("client" = Option<String>, Query, description = "only this client's"),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000),
    ),
    responses((status = 200, body = Items<Run>)))]
async fn list_runs(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Items<Run>>, WebError> {
    let limit = int(&q, "limit", 50, 1000)?;
    let client = match q.get("client") {
        Some(c) => Some(
            tenantry_core::ClientId::parse(c)
                .map_err(|e| WebError::field("client", e.to_string()))?,
        ),
        None => None,
    };
    let runs = state.catalog.runs(client, limit).await?;
    Ok(Json(Items::of(runs.iter().map(Run::from).collect())))
}

/// One run with its steps.
#[utoipa::path(get, path = "/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "run id")),
    responses((status = 200, body = Run)))]
async fn get_run(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Run>, WebError> {
    let r = state.catalog.run(run_id(&id)?).await?;
    Ok(Json(Run::from(&r)))
}

/// The requests a run sent, whole, with secrets masked.
#[utoipa::path(get, path = "/runs/{id}/requests", tag = "runs",
    params(("id" = String, Path, description = "run id")),
    responses((status = 200, body = Items<RequestRecord>)))]
async fn run_requests(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Items<RequestRecord>>, WebError> {
    let id = run_id(&id)?;
    state.catalog.run(id).await?;
    Ok(Json(Items::of(state.catalog.run_requests(id).await?)))
}

/// Server-sent events of a run: `run` (the whole run as JSON) whenever it changes; the
/// stream ends with the run, or with an `error` event when the caller's session or
/// token ends.
#[utoipa::path(get, path = "/runs/{id}/events", tag = "runs",
    params(("id" = String, Path, description = "run id")),
    responses((status = 200, description = "an event stream", body = String, content_type = "text/event-stream")))]
async fn run_events(
    state: State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = run_id(&id)?;
    Ok(crate::runs::events(state, info, caller, Path(id))
        .await?
        .into_response())
}

/// Env vars, global or as a namespace sees them.
#[utoipa::path(get, path = "/env", tag = "settings",
    params(("namespace" = Option<String>, Query, description = "the namespace; absent or empty: the global ones")),
    responses((status = 200, body = Items<EnvEntry>)))]
async fn env(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Items<EnvEntry>>, WebError> {
    let scope = match q.get("namespace").filter(|s| !s.is_empty()) {
        Some(n) => Scope::Namespace(ns_name("namespace", n)?),
        None => Scope::Global,
    };
    Ok(Json(Items::of(state.catalog.env_vars(&scope).await?)))
}

/// Request templates.
#[utoipa::path(get, path = "/templates", tag = "templates",
    responses((status = 200, body = Items<StoredTemplate>)))]
async fn list_templates(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Items<StoredTemplate>>, WebError> {
    Ok(Json(Items::of(state.catalog.templates().await?)))
}

/// One template.
#[utoipa::path(get, path = "/templates/{name}", tag = "templates",
    params(("name" = String, Path, description = "template name")),
    responses((status = 200, body = StoredTemplate)))]
async fn get_template(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<StoredTemplate>, WebError> {
    Ok(Json(state.catalog.template(&template_name(&name)?).await?))
}

/// Save a new version of a template (admin).
///
/// Refused with 422 and `problems` (unknown macros with the closest known name, an
/// order that no longer resolves, a body that is no object, secrets in names) unless
/// `force=true`.
#[utoipa::path(put, path = "/templates/{name}", tag = "templates",
    params(
        ("name" = String, Path, description = "template name"),
        ("force" = Option<bool>, Query, description = "save despite problems (never despite secrets in names)"),
        ("note" = Option<String>, Query, max_length = 500, description = "a comment kept in the template's history"),
    ),
    request_body = Template,
    responses((status = 200, body = StoredTemplate)))]
async fn put_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    QueryMap(q): QueryMap,
    Body(v): Body<Value>,
) -> Result<Json<StoredTemplate>, WebError> {
    caller.require(Role::Admin)?;
    let name = template_name(&name)?;
    state.catalog.template(&name).await?;
    // Not a template's shape: malformed (400). A template's shape that cannot be one (a
    // path that is not relative, macros that do not parse, …): a rule refused (422).
    let t = Template::parse(&v.to_string()).map_err(|e| match e {
        tenantry_core::template::TemplateError::Json(_) => WebError::field("body", e.to_string()),
        tenantry_core::template::TemplateError::Invalid(_) => WebError::rule("body", e.to_string()),
    })?;
    if t.name != name {
        return Err(WebError::rule(
            "name",
            format!(
                "the body names template {:?}, the path {:?}",
                t.name.as_str(),
                name.as_str()
            ),
        ));
    }
    let force = flag(&q, "force")?;
    let note = q.get("note").map_or("saved through the API", |n| n.trim());
    let saved = state
        .save_template(&caller.name, &info.address, &t, note, force)
        .await?;
    Ok(Json(saved))
}

/// The audit log, newest first (admin).
#[utoipa::path(get, path = "/audit", tag = "access",
    params(
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 1_000_000_000),
    ),
    responses((status = 200, body = Items<AuditEntry>)))]
async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Items<AuditEntry>>, WebError> {
    caller.require(Role::Admin)?;
    let limit = int(&q, "limit", 100, 1000)?;
    let offset = int(&q, "offset", 0, 1_000_000_000)?;
    Ok(Json(Items::of(
        state.catalog.audit_log(limit, offset).await?,
    )))
}

/// Users (admin).
#[utoipa::path(get, path = "/users", tag = "access",
    responses((status = 200, body = Items<User>)))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<User>>, WebError> {
    caller.require(Role::Admin)?;
    Ok(Json(Items::of(state.catalog.users().await?)))
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserInput {
    /// Letters, digits, `.`, `_`, `-`, `@`; up to 64.
    #[schema(format = "user-name")]
    name: String,
    #[schema(value_type = Role)]
    role: String,
    /// 10 to 128 characters, at least 5 different, not a common password, not built
    /// from the user's name.
    #[schema(format = "password")]
    password: String,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/users", tag = "access", request_body = UserInput,
    responses((status = 201, body = User)))]
async fn create_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(u): Body<UserInput>,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let user = state
        .create_user(&caller.name, &info.address, &u.name, &u.role, &u.password)
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// An API token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    /// What uses it; up to 100 characters.
    #[schema(format = "nonblank-text")]
    name: String,
    #[schema(value_type = Role)]
    role: String,
    /// Days until it expires (default 90, at most 366).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 366)]
    expires_days: Option<i64>,
}

/// API tokens (admin): never their secret, which is shown once when made.
#[utoipa::path(get, path = "/tokens", tag = "access",
    responses((status = 200, body = Items<Token>)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<Token>>, WebError> {
    caller.require(Role::Admin)?;
    let now = crate::auth::unix_now();
    let items = state
        .catalog
        .api_tokens()
        .await?
        .iter()
        .map(|k| Token {
            id: k.id,
            name: k.name.clone(),
            role: k.effective_role(),
            owner: k.created_by.clone(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            state: if k.revoked_at.is_some() {
                TokenState::Revoked
            } else if k.expires_at <= now {
                TokenState::Expired
            } else {
                TokenState::Live
            },
        })
        .collect();
    Ok(Json(Items::of(items)))
}

/// Create an API token (admin) owned by the caller's user, with at most the owner's
/// role; the token is shown once.
#[utoipa::path(post, path = "/tokens", tag = "access", request_body = TokenInput,
    responses((status = 201, body = TokenCreated)))]
async fn create_api_token(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(t): Body<TokenInput>,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let role = crate::parse_role(&t.role)?;
    let days = token_days(&t.expires_days.map(|d| d.to_string()).unwrap_or_default())?;
    let (token, made) = create_token(&state, &caller, &info.address, &t.name, role, days).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            name: made.name,
            role,
            owner: made.created_by,
            expires_at: made.expires_at,
            token,
        }),
    )
        .into_response())
}

/// The caller's own password, and the new one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current: String,
    #[schema(format = "password")]
    new: String,
}

/// Change the caller's own password (a browser session; an API token gets 409); every
/// session of the user ends.
#[utoipa::path(post, path = "/me/password", tag = "access", request_body = PasswordChange,
    responses((status = 200, body = PasswordChanged)))]
async fn change_password(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(p): Body<PasswordChange>,
) -> Result<Json<PasswordChanged>, WebError> {
    change_own_password(&state, &caller, &info.address, &p.current, &p.new).await?;
    Ok(Json(PasswordChanged {
        changed: true,
        sessions_ended: true,
    }))
}
