//! The API's half of what admins do on the catalog pages: namespaces and their
//! parameters (read and written), env vars, template restore, users and API tokens. Each route calls the
//! same action (`actions`) as the page, so the two cannot drift apart.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tenantry_core::Role;
use tenantry_store::{Scope, StoredTemplate, StoredValue, User};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::actions::{self, NamespaceInput, NamespacePatch, ns_name, scope_of};
use crate::api_input::{Body, QueryMap};
use crate::api_types::{EnvSet, Items, Namespace, Param};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::templates::template_name;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_namespaces, create_namespace))
        .routes(routes!(get_namespace, update_namespace))
        .routes(routes!(namespace_params))
        .routes(routes!(set_param, unset_param))
        .routes(routes!(set_env, unset_env))
        .routes(routes!(restore_template))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(revoke_token))
}

/// A stored value as the API shows it: secrets masked.
pub(crate) fn masked(v: Option<&StoredValue>) -> Option<String> {
    match v {
        None => None,
        Some(StoredValue::Plain(s)) => Some(s.clone()),
        Some(StoredValue::Secret(_)) => Some(tenantry_core::secret::MASK.to_owned()),
    }
}

/// A namespace's parameters as the API shows them (secrets masked).
pub(crate) async fn namespace_params_of(
    state: &AppState,
    name: &str,
) -> Result<Vec<Param>, WebError> {
    let ns = state.catalog.namespace(name).await?;
    let params = state.catalog.params(&Scope::Namespace(ns.name)).await?;
    Ok(params
        .iter()
        .map(|p| Param {
            name: p.def.name.as_str().to_owned(),
            kind: p.def.kind.to_string(),
            description: p.def.description.clone(),
            global: masked(p.global.as_ref()),
            namespace: masked(p.namespaced.as_ref()),
        })
        .collect())
}

/// Namespaces (tokens masked).
#[utoipa::path(get, path = "/namespaces", tag = "settings",
    responses((status = 200, body = Items<Namespace>)))]
async fn list_namespaces(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Items<Namespace>>, WebError> {
    let list = state.catalog.namespaces().await?;
    Ok(Json(Items::of(list.iter().map(Namespace::from).collect())))
}

/// One namespace (token masked).
#[utoipa::path(get, path = "/namespaces/{name}", tag = "settings", params(("name" = String, Path, description = "namespace")),
    responses((status = 200, body = Namespace)))]
async fn get_namespace(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Namespace>, WebError> {
    Ok(Json(Namespace::from(
        &state.catalog.namespace(&name).await?,
    )))
}

/// A namespace's parameters (secrets masked).
#[utoipa::path(get, path = "/namespaces/{name}/params", tag = "settings", params(("name" = String, Path, description = "namespace")),
    responses((status = 200, body = Items<Param>)))]
async fn namespace_params(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Items<Param>>, WebError> {
    Ok(Json(Items::of(namespace_params_of(&state, &name).await?)))
}

/// Create a namespace (admin).
#[utoipa::path(post, path = "/namespaces", tag = "settings", request_body = NamespaceInput,
    responses((status = 201, body = Namespace)))]
async fn create_namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<NamespaceInput>,
) -> Result<Response, WebError> {
    let ns = actions::create_namespace(&state, &info, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(Namespace::from(&ns))).into_response())
}

/// Change a namespace's settings (admin); absent fields stay.
#[utoipa::path(patch, path = "/namespaces/{name}", tag = "settings", params(("name" = String, Path, description = "namespace")),
    request_body = NamespacePatch, responses((status = 200, body = Namespace)))]
async fn update_namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(patch): Body<NamespacePatch>,
) -> Result<Json<Namespace>, WebError> {
    let ns = actions::update_namespace(&state, &info, &caller, &name, &patch).await?;
    Ok(Json(Namespace::from(&ns)))
}

/// A parameter's value in a namespace.
#[derive(Debug, Deserialize, ToSchema)]
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

/// Set a parameter in a namespace (admin).
///
/// A name no parameter has answers 422 with `suggestion` unless `create` is true; an
/// empty secret keeps the stored one.
#[utoipa::path(put, path = "/namespaces/{name}/params/{param}", tag = "settings",
    params(("name" = String, Path, description = "namespace"), ("param" = String, Path, description = "parameter name")),
    request_body = ParamInput, responses((status = 200, body = Param)))]
async fn set_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((name, param)): Path<(String, String)>,
    Body(p): Body<ParamInput>,
) -> Result<Json<Param>, WebError> {
    let scope = Scope::Namespace(ns_name("namespace", &name)?);
    actions::set_param(
        &state, &info, &caller, &scope, &param, &p.value, p.secret, p.create,
    )
    .await?;
    let all = namespace_params_of(&state, &name).await?;
    let set = all
        .into_iter()
        .find(|v| v.name == param.trim())
        .ok_or_else(|| WebError::not_found(format!("no parameter {:?}", param.trim())))?;
    Ok(Json(set))
}

/// Unset a parameter in a namespace (admin).
#[utoipa::path(delete, path = "/namespaces/{name}/params/{param}", tag = "settings",
    params(("name" = String, Path, description = "namespace"), ("param" = String, Path, description = "parameter name")),
    responses((status = 204, description = "unset")))]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnvInput {
    value: String,
    /// The namespace; absent or empty: global (`openapi.rs` gives it its pattern).
    #[serde(default)]
    namespace: Option<String>,
}

/// Set an env var, global or in a namespace (admin).
#[utoipa::path(put, path = "/env/{name}", tag = "settings",
    params(("name" = String, Path, description = "env var name")),
    request_body = EnvInput, responses((status = 200, body = EnvSet)))]
async fn set_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(e): Body<EnvInput>,
) -> Result<Json<EnvSet>, WebError> {
    let ns = e.namespace.as_deref().unwrap_or("");
    actions::set_env(&state, &info, &caller, &scope_of(ns)?, &name, &e.value).await?;
    Ok(Json(EnvSet {
        name: name.trim().to_owned(),
        value: e.value,
        namespace: e.namespace,
    }))
}

/// Unset an env var (admin).
#[utoipa::path(delete, path = "/env/{name}", tag = "settings",
    params(
        ("name" = String, Path, description = "env var name"),
        ("namespace" = Option<String>, Query, description = "the namespace; absent: global"),
    ),
    responses((status = 204, description = "unset")))]
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

/// The version to make current again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RestoreInput {
    #[schema(minimum = 1)]
    version: i64,
}

/// Make an earlier version of a template current again, as a new version (admin).
#[utoipa::path(post, path = "/templates/{name}/restore", tag = "templates",
    params(("name" = String, Path, description = "template name")),
    request_body = RestoreInput, responses((status = 200, body = StoredTemplate)))]
async fn restore_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(r): Body<RestoreInput>,
) -> Result<Json<StoredTemplate>, WebError> {
    let name = template_name(&name)?;
    let saved = actions::restore_template(&state, &info, &caller, &name, r.version).await?;
    Ok(Json(saved))
}

/// A user's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[schema(value_type = Role)]
    role: String,
}

/// Change a user's role (admin).
#[utoipa::path(patch, path = "/users/{name}", tag = "access",
    params(("name" = String, Path, description = "user name")),
    request_body = UserPatch, responses((status = 200, body = User)))]
async fn update_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Body(u): Body<UserPatch>,
) -> Result<Json<User>, WebError> {
    caller.require(Role::Admin)?;
    let role = crate::parse_role(&u.role)?;
    actions::change_role(&state, &info, &caller, &name, role).await?;
    let user = state
        .catalog
        .users()
        .await?
        .into_iter()
        .find(|x| x.name.as_str() == name)
        .ok_or_else(|| WebError::not_found(format!("no user {name:?}")))?;
    Ok(Json(user))
}

/// Remove a user, their sessions and tokens (admin; not yourself).
#[utoipa::path(delete, path = "/users/{name}", tag = "access",
    params(("name" = String, Path, description = "user name")),
    responses((status = 204, description = "removed")))]
async fn delete_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, WebError> {
    actions::delete_user(&state, &info, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke an API token (admin).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "access",
    params(("id" = String, Path, description = "token id")),
    responses((status = 204, description = "revoked")))]
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
