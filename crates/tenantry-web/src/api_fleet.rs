//! The fleet in the JSON API: `/fleet` (every environment's live health and drift,
//! with counts; the fleet page's filters), one environment with its objects, their
//! field-level drift (secrets masked) and its pods, and the adoption of environments
//! built by hand.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use tenantry_engine::adopt::{AdoptOptions, AdoptReport};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api_input::Body;
use crate::api_input::QueryMap;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::fleet::{EnvPage, FleetQuery, FleetView, env_view, fleet_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(fleet))
        .routes(routes!(environment))
        .routes(routes!(adopt))
}

/// How to adopt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AdoptInput {
    /// Report only: nothing stored, no write sent.
    #[serde(default)]
    dry_run: bool,
    /// Adopt environments that lack objects too; a deploy then creates them.
    #[serde(default)]
    partial: bool,
    /// Organisations of clients the catalog does not have yet, by client id.
    #[serde(default)]
    organisations: BTreeMap<String, String>,
}

/// Adopt the environments built by hand in a namespace (operator): found by the
/// templates' names, their generated values read into the catalog, their objects
/// labelled as tenantry's and recorded as revision 0; a dry run changes nothing.
#[utoipa::path(post, path = "/namespaces/{name}/adopt", tag = "environments",
    params(("name" = String, Path, description = "namespace")),
    request_body = AdoptInput, responses((status = 200, body = AdoptReport)))]
async fn adopt(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(ns): Path<String>,
    Body(input): Body<AdoptInput>,
) -> Result<Json<AdoptReport>, WebError> {
    let mut names = BTreeMap::new();
    for (id, name) in &input.organisations {
        let field = format!("organisations.{id}");
        let id = tenantry_core::ClientId::parse(id)
            .map_err(|e| WebError::field(&field, e.to_string()))?;
        names.insert(id, crate::input::org(&field, name)?);
    }
    let opts = AdoptOptions {
        dry_run: input.dry_run,
        partial: input.partial,
        names,
    };
    Ok(Json(
        crate::adoption::run_adoption(&state, &caller, &info, &ns, &opts).await?,
    ))
}

/// Every client environment's live health and drift (from the server's watches), with
/// counts; filtered and paged as the fleet page.
#[utoipa::path(get, path = "/fleet", tag = "environments",
    params(
        ("health" = Option<String>, Query, pattern = "^(healthy|progressing|degraded|suspended|missing|unknown)?$", description = "only environments of this health; empty: any"),
        ("drifted" = Option<bool>, Query),
        ("namespace" = Option<String>, Query, description = "only this namespace target; empty: all"),
        ("q" = Option<String>, Query, description = "a client's id, organisation, contact, phone or e-mail"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 100000),
    ),
    responses((status = 200, body = FleetView)))]
async fn fleet(
    State(state): State<AppState>,
    _caller: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<FleetView>, WebError> {
    let q = FleetQuery::parse(&q)?;
    Ok(Json(fleet_view(&state, &q).await?))
}

/// One environment: its objects with health and field-level drift against the last
/// revision (secrets masked), its pods.
#[utoipa::path(get, path = "/clients/{id}/environments/{ns}", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("ns" = String, Path, description = "namespace")),
    responses((status = 200, body = EnvPage)))]
async fn environment(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, ns)): Path<(String, String)>,
) -> Result<Json<EnvPage>, WebError> {
    let id = crate::input::client_id(&id)?;
    Ok(Json(env_view(&state, id, &ns).await?))
}
