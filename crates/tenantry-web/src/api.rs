//! The JSON API under `/api/v1`: what the UI does, for automation. Callers send a Bearer
//! API token (or use their browser session plus `X-CSRF-Token`). Bad input is a 4xx whose
//! JSON names the field; the document is at `/api/v1/openapi.json`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_core::Role;
use tenantry_core::template::Template;
use tenantry_store::Scope;

use crate::AppState;
use crate::access::{change_own_password, create_token, token_days};
use crate::actions::ns_name;
pub use crate::api_input::{Body, QueryMap};
use crate::api_input::{flag, int};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::runs::run_json;
use crate::templates::template_name;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .route("/me", get(me))
        .route("/me/password", post(change_password))
        .route("/runs", get(list_runs))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/requests", get(run_requests))
        .route("/runs/{id}/events", get(run_events))
        .route("/env", get(env))
        .route("/templates", get(list_templates))
        .route("/templates/{name}", get(get_template).put(put_template))
        .route("/audit", get(audit))
        .route("/users", get(list_users).post(create_user))
        .route("/tokens", get(list_tokens).post(create_api_token))
        .merge(crate::api_clients::routes())
        .merge(crate::api_admin::routes())
}

fn run_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>()
        .map_err(|_| WebError::not_found(format!("no run {s:?}; run ids are numbers")))
}

async fn me(caller: Caller) -> Json<Value> {
    Json(json!({ "name": caller.name, "role": caller.role }))
}

async fn list_runs(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    let limit = int(&q, "limit", 50, 1000)?;
    let client = match q.get("client") {
        Some(c) => Some(
            tenantry_core::ClientId::parse(c)
                .map_err(|e| WebError::field("client", e.to_string()))?,
        ),
        None => None,
    };
    let runs = state.catalog.runs(client, limit).await?;
    Ok(Json(
        json!({ "items": runs.iter().map(run_json).collect::<Vec<_>>() }),
    ))
}

async fn get_run(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let r = state.catalog.run(run_id(&id)?).await?;
    Ok(Json(run_json(&r)))
}

async fn run_requests(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = run_id(&id)?;
    state.catalog.run(id).await?;
    Ok(Json(
        json!({ "items": state.catalog.run_requests(id).await? }),
    ))
}

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

async fn env(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    let scope = match q.get("namespace").filter(|s| !s.is_empty()) {
        Some(n) => Scope::Namespace(ns_name("namespace", n)?),
        None => Scope::Global,
    };
    Ok(Json(
        json!({ "items": state.catalog.env_vars(&scope).await? }),
    ))
}

async fn list_templates(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Value>, WebError> {
    Ok(Json(json!({ "items": state.catalog.templates().await? })))
}

async fn get_template(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    Ok(Json(json!(
        state.catalog.template(&template_name(&name)?).await?
    )))
}

/// Saves a new version; refused with 422 and the problems listed (unknown macros with a
/// suggestion, a broken order, a body that is no object) unless `force=true`.
async fn put_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    QueryMap(q): QueryMap,
    Body(v): Body<Value>,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let name = template_name(&name)?;
    state.catalog.template(&name).await?;
    let t = Template::parse(&v.to_string()).map_err(|e| WebError::field("body", e.to_string()))?;
    if t.name != name {
        return Err(WebError::field(
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
    Ok(Json(json!(saved)))
}

async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let limit = int(&q, "limit", 100, 1000)?;
    let offset = int(&q, "offset", 0, 1_000_000_000)?;
    Ok(Json(
        json!({ "items": state.catalog.audit_log(limit, offset).await? }),
    ))
}

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    Ok(Json(json!({ "items": state.catalog.users().await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInput {
    name: String,
    role: String,
    password: String,
}

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
    Ok((StatusCode::CREATED, Json(json!(user))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: String,
    role: String,
    /// Days until it expires (default 90, at most 366).
    #[serde(default)]
    expires_days: Option<i64>,
}

/// API tokens (admin): never their secret, which is shown once when made.
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let now = crate::auth::unix_now();
    let items: Vec<Value> = state
        .catalog
        .api_tokens()
        .await?
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "name": k.name,
                "role": k.effective_role(),
                "owner": k.created_by,
                "created_at": k.created_at,
                "expires_at": k.expires_at,
                "last_used_at": k.last_used_at,
                "state": if k.revoked_at.is_some() { "revoked" } else if k.expires_at <= now { "expired" } else { "live" },
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

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
        Json(json!({
            "name": made.name,
            "role": role,
            "owner": made.created_by,
            "expires_at": made.expires_at,
            "token": token,
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current: String,
    new: String,
}

/// Changes the caller's own password (a browser session, with its CSRF token); every
/// session of the user ends.
async fn change_password(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(p): Body<PasswordChange>,
) -> Result<Json<Value>, WebError> {
    change_own_password(&state, &caller, &info.address, &p.current, &p.new).await?;
    Ok(Json(json!({ "changed": true, "sessions_ended": true })))
}
