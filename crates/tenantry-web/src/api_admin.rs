//! The API's half of what admins do on the catalog pages: namespaces and their
//! parameters (read and written), env vars, template restore, users and API tokens. Each route calls the
//! same action (`actions`) as the page, so the two cannot drift apart.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_core::Role;
use tenantry_store::{Scope, StoredValue};

use crate::AppState;
use crate::actions::{self, NamespaceInput, NamespacePatch, ns_name, scope_of};
use crate::api_input::{Body, QueryMap};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::templates::template_name;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/namespaces", get(list_namespaces).post(create_namespace))
        .route(
            "/namespaces/{name}",
            get(get_namespace).patch(update_namespace),
        )
        .route("/namespaces/{name}/params", get(namespace_params))
        .route(
            "/namespaces/{name}/params/{param}",
            put(set_param).delete(unset_param),
        )
        .route("/env/{name}", put(set_env).delete(unset_env))
        .route("/templates/{name}/restore", post(restore_template))
        .route("/users/{name}", patch(update_user).delete(delete_user))
        .route("/tokens/{id}", delete(revoke_token))
}

pub(crate) fn namespace_json(n: &tenantry_store::Namespace) -> Value {
    json!({
        "name": n.name.as_str(),
        "k8s_namespace": n.k8s_namespace.as_str(),
        "api_root_url": n.api_root_url.as_str(),
        "token": tenantry_core::secret::MASK,
        "ca_bundle": n.ca_bundle.is_some(),
        "self_heal": n.self_heal,
        "created_at": n.created_at,
        "updated_at": n.updated_at,
    })
}

async fn list_namespaces(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Value>, WebError> {
    let list = state.catalog.namespaces().await?;
    Ok(Json(
        json!({ "items": list.iter().map(namespace_json).collect::<Vec<_>>() }),
    ))
}

async fn get_namespace(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    Ok(Json(namespace_json(&state.catalog.namespace(&name).await?)))
}

pub(crate) fn masked(v: Option<&StoredValue>) -> Value {
    match v {
        None => Value::Null,
        Some(StoredValue::Plain(s)) => json!(s),
        Some(StoredValue::Secret(_)) => json!(tenantry_core::secret::MASK),
    }
}

/// A namespace's parameters as the API shows them (secrets masked).
pub(crate) async fn namespace_params_json(
    state: &AppState,
    name: &str,
) -> Result<Vec<Value>, WebError> {
    let ns = state.catalog.namespace(name).await?;
    let params = state.catalog.params(&Scope::Namespace(ns.name)).await?;
    Ok(params
        .iter()
        .map(|p| {
            json!({
                "name": p.def.name.as_str(),
                "kind": p.def.kind.to_string(),
                "description": p.def.description,
                "global": masked(p.global.as_ref()),
                "namespace": masked(p.namespaced.as_ref()),
            })
        })
        .collect())
}

async fn namespace_params(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    Ok(Json(
        json!({ "items": namespace_params_json(&state, &name).await? }),
    ))
}

async fn create_namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<NamespaceInput>,
) -> Result<Response, WebError> {
    let ns = actions::create_namespace(&state, &info, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(namespace_json(&ns))).into_response())
}

async fn update_namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(patch): Body<NamespacePatch>,
) -> Result<Json<Value>, WebError> {
    let ns = actions::update_namespace(&state, &info, &caller, &name, &patch).await?;
    Ok(Json(namespace_json(&ns)))
}

/// A parameter's value in a namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamInput {
    value: String,
    /// Store it encrypted and masked (secret parameters always are).
    #[serde(default)]
    secret: bool,
    /// The name is meant to be new: create the parameter.
    #[serde(default)]
    create: bool,
}

async fn set_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((name, param)): Path<(String, String)>,
    Body(p): Body<ParamInput>,
) -> Result<Json<Value>, WebError> {
    let scope = Scope::Namespace(ns_name("namespace", &name)?);
    actions::set_param(
        &state, &info, &caller, &scope, &param, &p.value, p.secret, p.create,
    )
    .await?;
    let all = namespace_params_json(&state, &name).await?;
    Ok(Json(
        all.into_iter()
            .find(|v| v["name"] == param.trim())
            .unwrap_or(Value::Null),
    ))
}

async fn unset_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((name, param)): Path<(String, String)>,
) -> Result<StatusCode, WebError> {
    let scope = Scope::Namespace(ns_name("namespace", &name)?);
    actions::unset_param(&state, &info, &caller, &scope, &param).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An env var's value, global or in one namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvInput {
    value: String,
    #[serde(default)]
    namespace: Option<String>,
}

async fn set_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(e): Body<EnvInput>,
) -> Result<Json<Value>, WebError> {
    let ns = e.namespace.as_deref().unwrap_or("");
    actions::set_env(&state, &info, &caller, &scope_of(ns)?, &name, &e.value).await?;
    Ok(Json(
        json!({ "name": name.trim(), "value": e.value, "namespace": e.namespace }),
    ))
}

async fn unset_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    QueryMap(q): QueryMap,
) -> Result<StatusCode, WebError> {
    let ns = q.get("namespace").map_or("", String::as_str);
    actions::unset_env(&state, &info, &caller, &scope_of(ns)?, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreInput {
    version: i64,
}

async fn restore_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(r): Body<RestoreInput>,
) -> Result<Json<Value>, WebError> {
    let name = template_name(&name)?;
    let saved = actions::restore_template(&state, &info, &caller, &name, r.version).await?;
    Ok(Json(json!(saved)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    role: String,
}

async fn update_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(u): Body<UserPatch>,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let role = crate::parse_role(&u.role)?;
    actions::change_role(&state, &info, &caller, &name, role).await?;
    let user = state
        .catalog
        .users()
        .await?
        .into_iter()
        .find(|x| x.name.as_str() == name);
    Ok(Json(json!(user)))
}

async fn delete_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, WebError> {
    actions::delete_user(&state, &info, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_token(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    let id: i64 = id
        .parse()
        .map_err(|_| WebError::not_found(format!("no API token {id:?}")))?;
    actions::revoke_token(&state, &info, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
