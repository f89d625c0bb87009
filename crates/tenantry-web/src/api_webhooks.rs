//! Outgoing webhooks through the API (admin), and the add and remove the webhooks page
//! shares: who is told of which events, and the delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tenantry_core::Role;
use tenantry_core::webhook::{Event, Format};
use tenantry_store::{Delivery, Webhook};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api_input::Body;
use crate::api_types::Items;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::messages::Msg;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(remove, edit))
        .routes(routes!(deliveries))
}

/// A webhook to add or change: the page's forms and the API's body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An http:// or https:// address.
    #[schema(format = "http-url")]
    pub url: String,
    /// What it is told of.
    #[schema(value_type = Vec<crate::api_types::WebhookEvent>, min_items = 1)]
    pub events: Vec<String>,
    /// json when absent.
    #[serde(default)]
    #[schema(value_type = Option<crate::api_types::WebhookFormat>)]
    pub format: Option<String>,
    /// Signs each body (HMAC-SHA256, `X-Tenantry-Signature`); kept sealed. On a change:
    /// absent keeps the secret, empty removes it.
    #[serde(default)]
    pub secret: Option<String>,
}

/// The address, events and format of `input`, checked; a problem names its field.
fn checked(input: &WebhookInput) -> Result<(url::Url, Vec<Event>, Format), WebError> {
    let url = tenantry_core::webhook::address(&input.url).map_err(|_| {
        WebError::field(
            "url",
            Msg::both(
                "an http:// or https:// address, e.g. https://hooks.example/tenantry",
                "адрес http:// или https://, например https://hooks.example/tenantry",
            ),
        )
    })?;
    let events = input
        .events
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| Event::parse(e).map_err(|m| WebError::field("events", m)))
        .collect::<Result<Vec<_>, _>>()?;
    if events.is_empty() {
        return Err(WebError::field(
            "events",
            Msg::both(
                "choose at least one event: run.failed, rollout.halted, rollout.finished, drift.detected",
                "выберите хотя бы одно событие: run.failed, rollout.halted, rollout.finished, drift.detected",
            ),
        ));
    }
    let format = Format::parse(input.format.as_deref().unwrap_or("json"))
        .map_err(|m| WebError::field("format", m))?;
    Ok((url, events, format))
}

/// The webhook `id`, or 404.
async fn webhook(state: &AppState, id: i64) -> Result<Webhook, WebError> {
    state
        .catalog
        .webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(|| no_webhook(id))
}

fn no_webhook(id: i64) -> WebError {
    WebError::NotFound(Msg::both(
        format!("no webhook {id}"),
        format!("вебхука {id} нет"),
    ))
}

pub(crate) fn webhook_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>().map_err(|_| {
        WebError::NotFound(Msg::both(
            format!("no webhook {s:?}; webhook ids are numbers"),
            format!("вебхука «{s}» нет: номер вебхука — число"),
        ))
    })
}

/// Adds a webhook for an admin, audited; its id.
pub(crate) async fn add_webhook(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    input: &WebhookInput,
) -> Result<i64, WebError> {
    caller.require(Role::Admin)?;
    let (url, events, format) = checked(input)?;
    let secret = input
        .secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()));
    let id = state
        .catalog
        .add_webhook(url.as_str(), &events, format, secret.as_ref(), &caller.name)
        .await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "add webhook",
            &format!("webhook {id}"),
            url.as_str(),
        )
        .await;
    Ok(id)
}

/// Changes a webhook for an admin, audited: its address, events and format; its secret
/// as `input.secret` says (absent: kept; empty: removed).
pub(crate) async fn edit_webhook(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    id: i64,
    input: &WebhookInput,
) -> Result<(), WebError> {
    use tenantry_store::SecretChange;
    caller.require(Role::Admin)?;
    let (url, events, format) = checked(input)?;
    let secret = match input.secret.as_deref() {
        None => SecretChange::Keep,
        Some("") => SecretChange::Remove,
        Some(s) => SecretChange::Set(SecretString::from(s.to_owned())),
    };
    if !state
        .catalog
        .update_webhook(id, url.as_str(), &events, format, &secret)
        .await?
    {
        return Err(no_webhook(id));
    }
    let signing = match secret {
        SecretChange::Keep => "",
        SecretChange::Remove => ", unsigned",
        SecretChange::Set(_) => ", new secret",
    };
    state
        .audit(
            &caller.name,
            &info.address,
            "edit webhook",
            &format!("webhook {id}"),
            &format!("{url}{signing}"),
        )
        .await;
    Ok(())
}

/// Removes a webhook for an admin, audited.
pub(crate) async fn remove_webhook(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    id: i64,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    if !state.catalog.remove_webhook(id).await? {
        return Err(no_webhook(id));
    }
    state
        .audit(
            &caller.name,
            &info.address,
            "remove webhook",
            &format!("webhook {id}"),
            "",
        )
        .await;
    Ok(())
}

/// Outgoing webhooks (admin); secrets never shown.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = Items<Webhook>)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<Webhook>>, WebError> {
    caller.require(Role::Admin)?;
    Ok(Json(Items::of(state.catalog.webhooks().await?)))
}

/// Add a webhook (admin): its address, the events it is told of, json or slack, and a
/// secret to sign bodies with (HMAC-SHA256 in X-Tenantry-Signature).
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = WebhookInput,
    responses((status = 201, body = Webhook)))]
async fn add(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<WebhookInput>,
) -> Result<Response, WebError> {
    let id = add_webhook(&state, &caller, &info, &input).await?;
    let hook = webhook(&state, id).await?;
    Ok((StatusCode::CREATED, Json(hook)).into_response())
}

/// Change a webhook (admin): its address, events and format; `secret` absent keeps the
/// secret, empty stops signing, a value replaces it. Deliveries not sent yet go as it
/// now says.
#[utoipa::path(put, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    request_body = WebhookInput, responses((status = 200, body = Webhook)))]
async fn edit(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(input): Body<WebhookInput>,
) -> Result<Json<Webhook>, WebError> {
    let id = webhook_id(&id)?;
    edit_webhook(&state, &caller, &info, id, &input).await?;
    let hook = webhook(&state, id).await?;
    Ok(Json(hook))
}

/// Remove a webhook and its delivery log (admin).
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    responses((status = 204, description = "removed")))]
async fn remove(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    remove_webhook(&state, &caller, &info, webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's latest deliveries, each attempt with its answer (admin).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    responses((status = 200, body = Items<Delivery>)))]
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Items<Delivery>>, WebError> {
    caller.require(Role::Admin)?;
    let id = webhook_id(&id)?;
    webhook(&state, id).await?;
    Ok(Json(Items::of(
        state.catalog.deliveries(Some(id), 100).await?,
    )))
}
