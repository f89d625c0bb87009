//! The fleet in the JSON API: `/fleet` (every environment's live health and drift,
//! with counts; the fleet page's filters) and one environment with its objects, their
//! field-level drift (secrets masked) and its pods.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

use crate::AppState;
use crate::api_input::QueryMap;
use crate::auth::Caller;
use crate::error::WebError;
use crate::fleet::{EnvPage, FleetQuery, FleetView, env_view, fleet_view};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fleet", get(fleet))
        .route("/clients/{id}/environments/{ns}", get(environment))
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
