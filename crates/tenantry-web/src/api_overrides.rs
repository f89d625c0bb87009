//! A client's own overrides in a namespace through the API: parameters and env vars
//! that win over the namespace's and the global ones (a canary pinned to an image).
//! Reads for any caller; writes for admins, as the namespace's own settings, through
//! the same actions as the overrides page.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tenantry_store::Scope;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::actions::{self, ns_name};
use crate::api_input::Body;
use crate::api_types::{EffectiveParam, Overrides};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overrides))
        .routes(routes!(set_param, unset_param))
        .routes(routes!(set_env, unset_env))
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
pub(crate) async fn overrides_of(state: &AppState, scope: &Scope) -> Result<Overrides, WebError> {
    let Scope::Client(ns, id) = scope else {
        return Err(WebError::not_found("not a client's overrides"));
    };
    let params = state
        .catalog
        .params(scope)
        .await?
        .iter()
        .filter(|p| p.def.kind.is_settable())
        .map(|p| EffectiveParam {
            name: p.def.name.as_str().to_owned(),
            kind: p.def.kind.to_string(),
            value: crate::api_admin::masked(p.effective()),
            source: p.source().map(|s| s.as_str().to_owned()),
        })
        .collect();
    Ok(Overrides {
        client: *id,
        namespace: ns.as_str().to_owned(),
        params,
        env: state.catalog.env_vars(scope).await?,
    })
}

/// Every parameter and env var the client's rendering in a namespace sees, and where
/// each comes from: the client's own override, the namespace, or global.
#[utoipa::path(get, path = "/clients/{id}/overrides/{ns}", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("ns" = String, Path, description = "namespace")), responses((status = 200, body = Overrides)))]
async fn overrides(
    State(state): State<AppState>,
    _c: Caller,
    Path((id, ns)): Path<(String, String)>,
) -> Result<Json<Overrides>, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    Ok(Json(overrides_of(&state, &scope).await?))
}

/// A value to pin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ValueInput {
    value: String,
    /// Store it encrypted and masked (secret parameters always are).
    #[serde(default)]
    secret: bool,
}

/// Pin a parameter for this client in the namespace (admin): it wins over the
/// namespace's and the global value.
#[utoipa::path(put, path = "/clients/{id}/overrides/{ns}/params/{param}", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("ns" = String, Path, description = "namespace"), ("param" = String, Path, description = "parameter name")),
    request_body = ValueInput, responses((status = 200, body = Overrides)))]
async fn set_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns, param)): Path<(String, String, String)>,
    Body(v): Body<ValueInput>,
) -> Result<Json<Overrides>, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    // Only parameters that exist: an override is never the place to invent one.
    actions::set_param(
        &state, &info, &caller, &scope, &param, &v.value, v.secret, false,
    )
    .await?;
    Ok(Json(overrides_of(&state, &scope).await?))
}

/// Drop the client's own value of a parameter (admin).
#[utoipa::path(delete, path = "/clients/{id}/overrides/{ns}/params/{param}", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("ns" = String, Path, description = "namespace"), ("param" = String, Path, description = "parameter name")),
    responses((status = 204, description = "dropped")))]
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

/// An env var's value to pin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PinnedEnv {
    value: String,
}

/// Pin an env var for this client in the namespace (admin).
#[utoipa::path(put, path = "/clients/{id}/overrides/{ns}/env/{name}", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("ns" = String, Path, description = "namespace"), ("name" = String, Path, description = "env var name")),
    request_body = PinnedEnv, responses((status = 200, body = Overrides)))]
async fn set_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns, name)): Path<(String, String, String)>,
    Body(e): Body<PinnedEnv>,
) -> Result<Json<Overrides>, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    actions::set_env(&state, &info, &caller, &scope, &name, &e.value).await?;
    Ok(Json(overrides_of(&state, &scope).await?))
}

/// Drop the client's own value of an env var (admin).
#[utoipa::path(delete, path = "/clients/{id}/overrides/{ns}/env/{name}", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("ns" = String, Path, description = "namespace"), ("name" = String, Path, description = "env var name")),
    responses((status = 204, description = "dropped")))]
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
