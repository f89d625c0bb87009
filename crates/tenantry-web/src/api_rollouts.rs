//! Fleet rollouts through the API (and the shared start the rollouts page uses):
//! preview or start one, list and show them, pause, resume, abort, undo. A started
//! rollout is driven by this server at once; any server sharing the catalog takes it
//! over if this one goes away.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tenantry_core::health::EnvHealth;
use tenantry_core::rollout::Request;
use tenantry_core::{ClientId, Role};
use tenantry_engine::rollout::{Canary, Preview, RolloutError, RolloutOptions, Selection};
use tenantry_store::RolloutRecord;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::actions::ns_name;
use crate::api_input::Body;
use crate::api_types::{Items, RolloutStarted};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::messages::Msg;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(abort))
        .routes(routes!(undo))
}

fn five() -> usize {
    5
}

/// What a rollout is to be: the page's form and the API's body. Choose the clients
/// with one of `all`, `clients` or `health`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutInput {
    #[schema(value_type = tenantry_core::NamespaceName)]
    pub namespace: String,
    /// Every client deployed in the namespace.
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    #[schema(value_type = Vec<ClientId>)]
    pub clients: Vec<String>,
    /// The clients whose environment has this health.
    #[serde(default)]
    #[schema(value_type = Option<crate::api_types::HealthName>)]
    pub health: Option<String>,
    /// How many canaries go first (picked by the server).
    #[serde(default)]
    pub canary: Option<usize>,
    /// The canaries, named.
    #[serde(default)]
    #[schema(value_type = Vec<ClientId>)]
    pub canary_clients: Vec<String>,
    /// How many at once after the canaries.
    #[serde(default = "five")]
    #[schema(minimum = 1, maximum = 100)]
    pub batch: usize,
    /// Halted when more than this many fail.
    #[serde(default)]
    #[schema(maximum = 10000)]
    pub max_failures: usize,
    /// How long each batch must stay healthy before the next.
    #[serde(default)]
    #[schema(maximum = 86400)]
    pub soak_secs: u64,
    /// Only say what it would do.
    #[serde(default)]
    pub dry_run: bool,
}

fn ids(field: &str, list: &[String]) -> Result<Vec<ClientId>, WebError> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            ClientId::parse(s).map_err(|e| {
                WebError::field(
                    field,
                    Msg::both(
                        e.to_string(),
                        format!("«{}» — не идентификатор клиента (пример: C42)", s.trim()),
                    ),
                )
            })
        })
        .collect()
}

impl RolloutInput {
    fn options(&self) -> Result<RolloutOptions, WebError> {
        let clients = ids("clients", &self.clients)?;
        let health = self.health.as_deref().filter(|h| !h.is_empty());
        let selection = match (self.all, health, clients.is_empty()) {
            (true, None, true) => Selection::All,
            (false, Some(h), true) => Selection::Health(
                tenantry_web_health(h).ok_or_else(|| {
                    WebError::field(
                        "health",
                        Msg::both(
                            "not a health: healthy, suspended, progressing, missing, degraded or unknown",
                            "нет такого состояния: healthy, suspended, progressing, missing, degraded или unknown",
                        ),
                    )
                })?,
            ),
            (false, None, false) => Selection::Clients(clients),
            _ => {
                return Err(WebError::rule(
                    "clients",
                    Msg::both(
                        "choose one: every client (all), a list of clients, or a health",
                        "выберите одно: все клиенты, список клиентов или состояние",
                    ),
                ));
            }
        };
        if !(1..=100).contains(&self.batch) {
            return Err(WebError::field(
                "batch",
                Msg::both("from 1 to 100 at once", "от 1 до 100 одновременно"),
            ));
        }
        if self.soak_secs > 86_400 || self.max_failures > 10_000 {
            return Err(WebError::field(
                "soak_secs",
                Msg::both("at most a day of soak", "выдержка — не больше суток"),
            ));
        }
        let canary_clients = ids("canary_clients", &self.canary_clients)?;
        let canary = match (self.canary.filter(|n| *n > 0), canary_clients.is_empty()) {
            (Some(n), true) => Canary::First(n),
            (None, false) => Canary::Clients(canary_clients),
            (None, true) => Canary::None,
            (Some(_), false) => {
                return Err(WebError::rule(
                    "canary",
                    Msg::both(
                        "a number of canaries or a list of them, not both",
                        "число канареек или их список, не то и другое",
                    ),
                ));
            }
        };
        Ok(RolloutOptions {
            selection,
            canary,
            batch: self.batch,
            max_failures: self.max_failures,
            soak: std::time::Duration::from_secs(self.soak_secs),
        })
    }
}

fn tenantry_web_health(s: &str) -> Option<EnvHealth> {
    crate::fleet::HEALTHS
        .into_iter()
        .find(|h| h.as_str().eq_ignore_ascii_case(s.trim()))
}

pub(crate) fn rollout_error(e: RolloutError) -> WebError {
    match e {
        RolloutError::Deploy(d) => d.into(),
        RolloutError::Store(s) => s.into(),
        RolloutError::Refused(why) => WebError::Conflict(why.into()),
    }
}

/// What a start did: the preview, and the rollout's id unless it was a dry run.
pub(crate) struct Started {
    pub preview: Preview,
    pub id: Option<i64>,
}

/// Previews and (unless a dry run) starts a rollout for an operator, audited; this
/// server drives it at once.
pub(crate) async fn start_rollout(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    input: &RolloutInput,
) -> Result<Started, WebError> {
    caller.require(Role::Operator)?;
    let ns = ns_name("namespace", &input.namespace)?;
    let opts = input.options()?;
    let preview = tenantry_engine::rollout::preview(&state.catalog, ns.as_str(), &opts)
        .await
        .map_err(rollout_error)?;
    if input.dry_run {
        return Ok(Started { preview, id: None });
    }
    let id = tenantry_engine::rollout::start(&state.catalog, &preview, &caller.name)
        .await
        .map_err(rollout_error)?;
    let count = preview.plan.canary.len() + preview.plan.rest.len();
    state
        .audit(
            &caller.name,
            &info.address,
            "start rollout",
            ns.as_str(),
            &format!("rollout {id}: {count} client(s)"),
        )
        .await;
    state.drive_rollout(id);
    Ok(Started {
        preview,
        id: Some(id),
    })
}

/// Pauses, resumes or aborts, for an operator, audited.
pub(crate) async fn ask(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    id: i64,
    r: Request,
) -> Result<(), WebError> {
    caller.require(Role::Operator)?;
    state.catalog.request_rollout(id, r).await?;
    let word = match r {
        Request::Go => "resume rollout",
        Request::Pause => "pause rollout",
        Request::Abort => "abort rollout",
    };
    state
        .audit(
            &caller.name,
            &info.address,
            word,
            &format!("rollout {id}"),
            "",
        )
        .await;
    state.drive_rollout(id);
    Ok(())
}

/// Rolls back what rollout `id` deployed, in the background, audited.
pub(crate) async fn start_undo(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    id: i64,
) -> Result<(), WebError> {
    caller.require(Role::Operator)?;
    let r = state.catalog.rollout(id).await?;
    if !r.status.is_final() {
        return Err(WebError::Conflict(Msg::both(
            format!(
                "rollout {id} is {}: abort it first, then undo it",
                r.status.as_str()
            ),
            format!("раскатка {id} ещё идёт: сначала прервите её, затем отмените"),
        )));
    }
    state
        .audit(
            &caller.name,
            &info.address,
            "undo rollout",
            &format!("rollout {id}"),
            "",
        )
        .await;
    let (catalog, opts) = (state.catalog.clone(), state.config.deploy.clone());
    tokio::spawn(async move {
        match tenantry_engine::rollout::undo(&catalog, id, &opts).await {
            Ok(done) => tracing::info!(rollout = id, clients = done.len(), "rollout undone"),
            Err(e) => tracing::warn!(rollout = id, "cannot undo the rollout: {e}"),
        }
    });
    Ok(())
}

/// A rollout id from a path; one that cannot be is a rollout that does not exist.
pub(crate) fn rollout_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>().map_err(|_| {
        WebError::NotFound(Msg::both(
            format!("no rollout {s:?}; rollout ids are numbers"),
            format!("раскатки «{s}» нет: номер раскатки — число"),
        ))
    })
}

/// Every rollout, newest first.
#[utoipa::path(get, path = "/rollouts", tag = "rollouts",
    responses((status = 200, body = Items<RolloutRecord>)))]
async fn list(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Items<RolloutRecord>>, WebError> {
    Ok(Json(Items::of(state.catalog.rollouts().await?)))
}

/// One rollout: its status and each client's.
#[utoipa::path(get, path = "/rollouts/{id}", tag = "rollouts", params(("id" = String, Path, description = "rollout id")),
    responses((status = 200, body = RolloutRecord)))]
async fn show(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<RolloutRecord>, WebError> {
    let id = rollout_id(&id)?;
    Ok(Json(state.catalog.rollout(id).await?))
}

/// Plan a rollout (operator): which clients change and how; unless a dry run, start it
/// (201 with its id): canaries first, then at most `batch` at once, halted when more
/// than `max_failures` fail.
#[utoipa::path(post, path = "/rollouts", tag = "rollouts", request_body = RolloutInput,
    responses(
        (status = 200, description = "a dry run's plan", body = RolloutStarted),
        (status = 201, description = "started", body = RolloutStarted),
    ))]
async fn create(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<RolloutInput>,
) -> Result<Response, WebError> {
    let started = start_rollout(&state, &caller, &info, &input).await?;
    let status = match started.id {
        None => StatusCode::OK,
        Some(_) => StatusCode::CREATED,
    };
    let body = RolloutStarted {
        id: started.id,
        preview: started.preview,
    };
    Ok((status, Json(body)).into_response())
}

async fn control(
    state: AppState,
    info: RequestInfo,
    caller: Caller,
    id: i64,
    r: Request,
) -> Result<Json<RolloutRecord>, WebError> {
    ask(&state, &caller, &info, id, r).await?;
    Ok(Json(state.catalog.rollout(id).await?))
}

/// Pause a rollout (operator): no new client starts; running deploys finish.
#[utoipa::path(post, path = "/rollouts/{id}/pause", tag = "rollouts", params(("id" = String, Path, description = "rollout id")),
    responses((status = 200, body = RolloutRecord)))]
async fn pause(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RolloutRecord>, WebError> {
    control(state, info, caller, rollout_id(&id)?, Request::Pause).await
}

/// Resume a paused rollout (operator).
#[utoipa::path(post, path = "/rollouts/{id}/resume", tag = "rollouts", params(("id" = String, Path, description = "rollout id")),
    responses((status = 200, body = RolloutRecord)))]
async fn resume(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RolloutRecord>, WebError> {
    control(state, info, caller, rollout_id(&id)?, Request::Go).await
}

/// Abort a rollout (operator): no new client starts; it ends when the running deploys
/// have.
#[utoipa::path(post, path = "/rollouts/{id}/abort", tag = "rollouts", params(("id" = String, Path, description = "rollout id")),
    responses((status = 200, body = RolloutRecord)))]
async fn abort(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RolloutRecord>, WebError> {
    control(state, info, caller, rollout_id(&id)?, Request::Abort).await
}

/// Roll every client a finished rollout deployed back to its revision before
/// (operator); runs in the background.
#[utoipa::path(post, path = "/rollouts/{id}/undo", tag = "rollouts", params(("id" = String, Path, description = "rollout id")),
    responses((status = 202, description = "the undo runs in the background")))]
async fn undo(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    start_undo(&state, &caller, &info, rollout_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}
