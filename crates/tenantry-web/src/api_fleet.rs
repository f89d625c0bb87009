//! The fleet in the JSON API: `/fleet` (every environment's live health and drift,
//! with counts; the fleet page's filters), one environment with its objects, their
//! field-level drift (secrets masked) and its pods, and the adoption of environments
//! built by hand.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use tenantry_engine::adopt::{AdoptOptions, AdoptReport};

use crate::AppState;
use crate::api_input::Body;
use crate::api_input::QueryMap;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::fleet::{EnvPage, FleetQuery, FleetView, env_view, fleet_view};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fleet", get(fleet))
        .route("/clients/{id}/environments/{ns}", get(environment))
        .route("/namespaces/{name}/adopt", post(adopt))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdoptInput {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    partial: bool,
    /// Organisations of clients the catalog does not have yet, by client id.
    #[serde(default)]
    organisations: BTreeMap<String, String>,
}

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

async fn fleet(
    State(state): State<AppState>,
    _caller: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<FleetView>, WebError> {
    let q = FleetQuery::parse(&q)?;
    Ok(Json(fleet_view(&state, &q).await?))
}

async fn environment(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, ns)): Path<(String, String)>,
) -> Result<Json<EnvPage>, WebError> {
    let id = crate::input::client_id(&id)?;
    Ok(Json(env_view(&state, id, &ns).await?))
}
