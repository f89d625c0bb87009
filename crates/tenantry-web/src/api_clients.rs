//! The API's clients: the list and search, one client with its environments, its
//! contacts, and the operations on its environments (deploy, suspend, resume, roll
//! back, decommission) with their history.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_core::Role;
use tenantry_engine::Operation;
use tenantry_store::ClientFilter;

use crate::AppState;
use crate::actions::ns_name;
use crate::api_input::{Body, QueryMap, flag, int};
use crate::auth::{Caller, RequestInfo};
use crate::client_actions;
use crate::error::WebError;
use crate::input::client_id;
use crate::input::{ClientInput, ClientPatch, ContactInput};
use crate::runs::run_json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients/{id}", get(get_client).patch(patch_client))
        .route("/clients/{id}/contacts", post(add_contact))
        .route(
            "/clients/{id}/contacts/{contact}",
            put(update_contact).delete(remove_contact),
        )
        .route("/clients/{id}/deploy", post(deploy))
        .route("/clients/{id}/archive", post(archive))
        .route("/clients/{id}/restore", post(restore))
        .route("/clients/{id}/suspend", post(suspend))
        .route("/clients/{id}/resume", post(resume))
        .route("/clients/{id}/rollback", post(rollback))
        .route("/clients/{id}/decommission", post(decommission))
        .route("/clients/{id}/history", get(history))
}

/// A client as the API shows it: its fields, `organisation` as the input names it, and
/// the state of its environment in each namespace.
async fn client_json(state: &AppState, c: &tenantry_store::Client) -> Result<Value, WebError> {
    let mut out = json!(c);
    out["organisation"] = json!(c.name.as_str());
    out["environments"] = json!(
        state
            .catalog
            .environment_statuses(c.id)
            .await?
            .into_iter()
            .map(|(ns, status, run)| json!({ "namespace": ns, "status": status, "run": run }))
            .collect::<Vec<_>>()
    );
    Ok(out)
}

async fn list_clients(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    let offset = int(&q, "offset", 0, 1_000_000_000)?;
    let limit = int(&q, "limit", 50, 1000)?;
    let filter = ClientFilter {
        search: q.get("q").cloned(),
        include_archived: flag(&q, "archived")?,
        ..Default::default()
    };
    let (clients, total) = state
        .catalog
        .list_clients_page(&filter, offset, limit)
        .await?;
    let mut items = Vec::with_capacity(clients.len());
    for c in &clients {
        items.push(client_json(&state, c).await?);
    }
    Ok(Json(
        json!({ "total": total, "offset": offset, "items": items }),
    ))
}

async fn create_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<ClientInput>,
) -> Result<Response, WebError> {
    let client = client_actions::create_client(&state, &info, &caller, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(client_json(&state, &client).await?),
    )
        .into_response())
}

async fn get_client(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = client_id(&id)?;
    let c = state.catalog.client(id).await?;
    Ok(Json(client_json(&state, &c).await?))
}

/// Archives a client (operator); 409 naming the namespaces while an environment exists.
async fn archive(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let c = crate::clients::set_archived(&state, &info, &caller, client_id(&id)?, true).await?;
    Ok(Json(client_json(&state, &c).await?))
}

/// Restores an archived client (operator).
async fn restore(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let c = crate::clients::set_archived(&state, &info, &caller, client_id(&id)?, false).await?;
    Ok(Json(client_json(&state, &c).await?))
}

async fn patch_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(p): Body<ClientPatch>,
) -> Result<Json<Value>, WebError> {
    let id = client_id(&id)?;
    let c = client_actions::update_client(&state, &info, &caller, id, &p).await?;
    Ok(Json(client_json(&state, &c).await?))
}

async fn add_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(k): Body<ContactInput>,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    let c = client_actions::add_contact(&state, &info, &caller, id, &k, "body").await?;
    Ok((StatusCode::CREATED, Json(json!(c))).into_response())
}

fn contact_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>()
        .map_err(|_| WebError::not_found(format!("no contact {s:?}; contact ids are numbers")))
}

async fn update_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, String)>,
    Body(k): Body<ContactInput>,
) -> Result<Json<Value>, WebError> {
    let id = client_id(&id)?;
    let contact = contact_id(&contact)?;
    let c = client_actions::update_contact(&state, &info, &caller, id, contact, &k, "body").await?;
    Ok(Json(json!(c)))
}

async fn remove_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, String)>,
) -> Result<StatusCode, WebError> {
    let id = client_id(&id)?;
    let contact = contact_id(&contact)?;
    client_actions::remove_contact(&state, &info, &caller, id, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployInput {
    namespace: String,
}

async fn deploy(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(d): Body<DeployInput>,
) -> Result<Response, WebError> {
    start(&state, &info, &caller, &id, &d.namespace, Operation::Deploy).await
}

/// Starts `op` for an operator, audited; answers 202 with the run.
async fn start(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: &str,
    namespace: &str,
    op: Operation,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    let id = client_id(id)?;
    let ns = ns_name("namespace", namespace)?;
    let run = state.start_operation(id, ns.as_str(), op).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            op.noun(),
            &id.to_string(),
            &format!("namespace {ns}, run {run}"),
        )
        .await;
    let r = state.catalog.run(run).await?;
    Ok((StatusCode::ACCEPTED, Json(run_json(&r))).into_response())
}

async fn suspend(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(d): Body<DeployInput>,
) -> Result<Response, WebError> {
    start(
        &state,
        &info,
        &caller,
        &id,
        &d.namespace,
        Operation::Suspend,
    )
    .await
}

async fn resume(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(d): Body<DeployInput>,
) -> Result<Response, WebError> {
    start(&state, &info, &caller, &id, &d.namespace, Operation::Resume).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackInput {
    namespace: String,
    /// The revision to go back to; the one before the latest when absent.
    #[serde(default)]
    to: Option<i64>,
}

async fn rollback(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(d): Body<RollbackInput>,
) -> Result<Response, WebError> {
    let op = Operation::Rollback(d.to);
    start(&state, &info, &caller, &id, &d.namespace, op).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecommissionInput {
    namespace: String,
    /// The client id typed again: a decommission deletes the environment.
    confirm: String,
    #[serde(default)]
    drop_databases: bool,
    #[serde(default)]
    forget_secrets: bool,
}

async fn decommission(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(d): Body<DecommissionInput>,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    crate::lifecycle::confirmed(&client_id(&id)?.to_string(), &d.confirm)?;
    let op = Operation::Decommission(tenantry_engine::Decommission {
        drop_databases: d.drop_databases,
        forget_secrets: d.forget_secrets,
    });
    start(&state, &info, &caller, &id, &d.namespace, op).await
}

async fn history(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    let id = client_id(&id)?;
    let ns = ns_name(
        "namespace",
        q.get("namespace").ok_or_else(|| {
            WebError::field("namespace", "give the namespace, e.g. ?namespace=lms-dev")
        })?,
    )?;
    state.catalog.client(id).await?;
    let revisions = tenantry_engine::history::history(&state.catalog, id, ns.as_str()).await?;
    Ok(Json(json!({ "items": revisions })))
}
