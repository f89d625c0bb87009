//! A client's own overrides in a namespace through the API: parameters and env vars
//! that win over the namespace's and the global ones (a canary pinned to an image).
//! Reads for any caller; writes for admins, as the namespace's own settings, through
//! the same actions as the overrides page.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_store::{EnvSource, Scope};

use crate::AppState;
use crate::actions::{self, ns_name};
use crate::api_input::Body;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients/{id}/overrides/{ns}", get(overrides))
        .route(
            "/clients/{id}/overrides/{ns}/params/{param}",
            put(set_param).delete(unset_param),
        )
        .route(
            "/clients/{id}/overrides/{ns}/env/{name}",
            put(set_env).delete(unset_env),
        )
}

/// The scope of a client's overrides in a namespace, both checked.
pub(crate) async fn client_scope(state: &AppState, id: &str, ns: &str) -> Result<Scope, WebError> {
    let id = crate::input::client_id(id)?;
    state.catalog.client(id).await?;
    let ns = ns_name("namespace", ns)?;
    state.catalog.namespace(ns.as_str()).await?;
    Ok(Scope::Client(ns, id))
}

/// Every value the client's rendering in the namespace sees, and where it comes from
/// (secrets masked).
pub(crate) async fn overrides_json(state: &AppState, scope: &Scope) -> Result<Value, WebError> {
    let Scope::Client(ns, id) = scope else {
        return Err(WebError::not_found("not a client's overrides"));
    };
    let params: Vec<Value> = state
        .catalog
        .params(scope)
        .await?
        .iter()
        .filter(|p| p.def.kind.is_settable())
        .map(|p| {
            json!({
                "name": p.def.name.as_str(),
                "kind": p.def.kind.to_string(),
                "value": crate::api_admin::masked(p.effective()),
                "source": p.source().map(|s| s.as_str()),
            })
        })
        .collect();
    let env: Vec<Value> = state
        .catalog
        .env_vars(scope)
        .await?
        .iter()
        .map(|e| {
            let source = match e.source {
                EnvSource::Global => "global",
                EnvSource::Namespace => "namespace",
                EnvSource::Client => "client",
            };
            json!({ "name": e.name, "value": e.value, "source": source })
        })
        .collect();
    Ok(json!({ "client": id, "namespace": ns.as_str(), "params": params, "env": env }))
}

async fn overrides(
    State(state): State<AppState>,
    _c: Caller,
    Path((id, ns)): Path<(String, String)>,
) -> Result<Json<Value>, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    Ok(Json(overrides_json(&state, &scope).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueInput {
    value: String,
    /// Store it encrypted and masked (secret parameters always are).
    #[serde(default)]
    secret: bool,
}

async fn set_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns, param)): Path<(String, String, String)>,
    Body(v): Body<ValueInput>,
) -> Result<Json<Value>, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    // Only parameters that exist: an override is never the place to invent one.
    actions::set_param(
        &state, &info, &caller, &scope, &param, &v.value, v.secret, false,
    )
    .await?;
    Ok(Json(overrides_json(&state, &scope).await?))
}

async fn unset_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns, param)): Path<(String, String, String)>,
) -> Result<StatusCode, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    actions::unset_param(&state, &info, &caller, &scope, &param).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvInput {
    value: String,
}

async fn set_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns, name)): Path<(String, String, String)>,
    Body(e): Body<EnvInput>,
) -> Result<Json<Value>, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    actions::set_env(&state, &info, &caller, &scope, &name, &e.value).await?;
    Ok(Json(overrides_json(&state, &scope).await?))
}

async fn unset_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns, name)): Path<(String, String, String)>,
) -> Result<StatusCode, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    actions::unset_env(&state, &info, &caller, &scope, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
