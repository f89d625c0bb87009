//! The API's clients: the list and search, one client with its environments, its
//! contacts, and the operations on its environments (deploy, suspend, resume, roll
//! back, decommission) with their history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tenantry_core::Role;
use tenantry_engine::Operation;
use tenantry_engine::history::RevisionSummary;
use tenantry_store::ClientFilter;
use tenantry_store::Contact;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::actions::ns_name;
use crate::api_input::{Body, QueryMap, flag, int};
use crate::api_types::{Client, ClientPage, EnvironmentStatus, Items, Run};
use crate::auth::{Caller, RequestInfo};
use crate::client_actions;
use crate::error::WebError;
use crate::input::client_id;
use crate::input::{ClientInput, ClientPatch, ContactInput};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, patch_client))
        .routes(routes!(add_contact))
        .routes(routes!(update_contact, remove_contact))
        .routes(routes!(deploy))
        .routes(routes!(archive))
        .routes(routes!(restore))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(rollback))
        .routes(routes!(decommission))
        .routes(routes!(history))
}

/// A client as the API shows it: its fields, `organisation` as the input names it, and
/// the state of its environment in each namespace.
async fn client_view(state: &AppState, c: tenantry_store::Client) -> Result<Client, WebError> {
    let environments = state
        .catalog
        .environment_statuses(c.id)
        .await?
        .into_iter()
        .map(|(namespace, status, run)| EnvironmentStatus {
            namespace,
            status,
            run,
        })
        .collect();
    Ok(Client {
        organisation: c.name.as_str().to_owned(),
        client: c,
        environments,
    })
}

/// Clients, a page at a time.
#[utoipa::path(get, path = "/clients", tag = "clients",
    params(
        ("q" = Option<String>, Query, description = "search by id, organisation, contact, phone (any spacing) or e-mail"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 1_000_000_000),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000),
        ("archived" = Option<bool>, Query, description = "include archived clients"),
    ),
    responses((status = 200, body = ClientPage)))]
async fn list_clients(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<ClientPage>, WebError> {
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
    for c in clients {
        items.push(client_view(&state, c).await?);
    }
    Ok(Json(ClientPage {
        total,
        offset,
        items,
    }))
}

/// Create a client (operator).
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = ClientInput,
    responses((status = 201, body = Client)))]
async fn create_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<ClientInput>,
) -> Result<Response, WebError> {
    let client = client_actions::create_client(&state, &info, &caller, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(client_view(&state, client).await?),
    )
        .into_response())
}

/// One client.
#[utoipa::path(get, path = "/clients/{id}", tag = "clients", params(("id" = String, Path, description = "client id, C<N>")),
    responses((status = 200, body = Client)))]
async fn get_client(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Client>, WebError> {
    let id = client_id(&id)?;
    let c = state.catalog.client(id).await?;
    Ok(Json(client_view(&state, c).await?))
}

/// Archive a client (operator); 409 naming the namespaces while any of its
/// environments exists.
#[utoipa::path(post, path = "/clients/{id}/archive", tag = "clients", params(("id" = String, Path, description = "client id, C<N>")),
    responses((status = 200, body = Client)))]
async fn archive(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Client>, WebError> {
    let c = crate::clients::set_archived(&state, &info, &caller, client_id(&id)?, true).await?;
    Ok(Json(client_view(&state, c).await?))
}

/// Restore an archived client (operator).
#[utoipa::path(post, path = "/clients/{id}/restore", tag = "clients", params(("id" = String, Path, description = "client id, C<N>")),
    responses((status = 200, body = Client)))]
async fn restore(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Client>, WebError> {
    let c = crate::clients::set_archived(&state, &info, &caller, client_id(&id)?, false).await?;
    Ok(Json(client_view(&state, c).await?))
}

/// Change a client's organisation, phones or e-mails (operator); absent fields stay.
#[utoipa::path(patch, path = "/clients/{id}", tag = "clients", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = ClientPatch, responses((status = 200, body = Client)))]
async fn patch_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(p): Body<ClientPatch>,
) -> Result<Json<Client>, WebError> {
    let id = client_id(&id)?;
    let c = client_actions::update_client(&state, &info, &caller, id, &p).await?;
    Ok(Json(client_view(&state, c).await?))
}

/// Add a contact person (operator).
#[utoipa::path(post, path = "/clients/{id}/contacts", tag = "clients", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = ContactInput, responses((status = 201, body = Contact)))]
async fn add_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(k): Body<ContactInput>,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    let c = client_actions::add_contact(&state, &info, &caller, id, &k, "body").await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

fn contact_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>()
        .map_err(|_| WebError::not_found(format!("no contact {s:?}; contact ids are numbers")))
}

/// Replace a contact person (operator).
#[utoipa::path(put, path = "/clients/{id}/contacts/{contact}", tag = "clients",
    params(("id" = String, Path, description = "client id, C<N>"), ("contact" = String, Path, description = "contact id")),
    request_body = ContactInput, responses((status = 200, body = Contact)))]
async fn update_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, String)>,
    Body(k): Body<ContactInput>,
) -> Result<Json<Contact>, WebError> {
    let id = client_id(&id)?;
    let contact = contact_id(&contact)?;
    let c = client_actions::update_contact(&state, &info, &caller, id, contact, &k, "body").await?;
    Ok(Json(c))
}

/// Remove a contact person (operator).
#[utoipa::path(delete, path = "/clients/{id}/contacts/{contact}", tag = "clients",
    params(("id" = String, Path, description = "client id, C<N>"), ("contact" = String, Path, description = "contact id")),
    responses((status = 204, description = "removed")))]
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

/// The namespace an operation acts in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeployInput {
    #[schema(value_type = tenantry_core::NamespaceName)]
    namespace: String,
}

/// Deploy the client to a namespace (operator); the run goes on in the background.
#[utoipa::path(post, path = "/clients/{id}/deploy", tag = "environments", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = DeployInput, responses((status = 202, body = Run)))]
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
    Ok((StatusCode::ACCEPTED, Json(Run::from(&r))).into_response())
}

/// Suspend the client's environment in a namespace: its Deployment to zero replicas
/// (operator).
#[utoipa::path(post, path = "/clients/{id}/suspend", tag = "environments", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = DeployInput, responses((status = 202, body = Run)))]
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

/// Resume a suspended environment: its replicas back, every pod ready (operator).
#[utoipa::path(post, path = "/clients/{id}/resume", tag = "environments", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = DeployInput, responses((status = 202, body = Run)))]
async fn resume(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(d): Body<DeployInput>,
) -> Result<Response, WebError> {
    start(&state, &info, &caller, &id, &d.namespace, Operation::Resume).await
}

/// Where to roll back, and to which revision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RollbackInput {
    #[schema(value_type = tenantry_core::NamespaceName)]
    namespace: String,
    /// The revision to go back to; the one before the latest when absent.
    #[serde(default)]
    #[schema(minimum = 1)]
    to: Option<i64>,
}

/// Deploy an earlier revision again, as a new run and revision (operator).
#[utoipa::path(post, path = "/clients/{id}/rollback", tag = "environments", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = RollbackInput, responses((status = 202, body = Run)))]
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

/// Which environment to delete, confirmed, and what goes with it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecommissionInput {
    #[schema(value_type = tenantry_core::NamespaceName)]
    namespace: String,
    /// The client id typed again: a decommission deletes the environment.
    confirm: String,
    #[serde(default)]
    drop_databases: bool,
    #[serde(default)]
    forget_secrets: bool,
}

/// Delete the client's environment in a namespace (operator); confirm with the client
/// id.
#[utoipa::path(post, path = "/clients/{id}/decommission", tag = "environments", params(("id" = String, Path, description = "client id, C<N>")),
    request_body = DecommissionInput, responses((status = 202, body = Run)))]
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

/// The revisions of the client's environment in a namespace, oldest first.
#[utoipa::path(get, path = "/clients/{id}/history", tag = "environments",
    params(("id" = String, Path, description = "client id, C<N>"), ("namespace" = String, Query)),
    responses((status = 200, body = Items<RevisionSummary>)))]
async fn history(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    QueryMap(q): QueryMap,
) -> Result<Json<Items<RevisionSummary>>, WebError> {
    let id = client_id(&id)?;
    let ns = ns_name(
        "namespace",
        q.get("namespace").ok_or_else(|| {
            WebError::field("namespace", "give the namespace, e.g. ?namespace=lms-dev")
        })?,
    )?;
    state.catalog.client(id).await?;
    let revisions = tenantry_engine::history::history(&state.catalog, id, ns.as_str()).await?;
    Ok(Json(Items::of(revisions)))
}
