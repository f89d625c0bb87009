//! Outgoing webhooks through the API (admin), and the add and remove the webhooks page
//! shares: who is told of which events, and the delivery log.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_core::Role;
use tenantry_core::webhook::{Event, Format};

use crate::AppState;
use crate::api_input::Body;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::messages::Msg;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(add))
        .route("/webhooks/{id}", delete(remove).put(edit))
        .route("/webhooks/{id}/deliveries", get(deliveries))
}

/// A webhook to add or change: the page's forms and the API's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
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

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    Ok(Json(json!({ "items": state.catalog.webhooks().await? })))
}

async fn add(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(input): Body<WebhookInput>,
) -> Result<Response, WebError> {
    let id = add_webhook(&state, &caller, &info, &input).await?;
    let hook = state
        .catalog
        .webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id);
    Ok((StatusCode::CREATED, Json(json!(hook))).into_response())
}

async fn edit(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    Body(input): Body<WebhookInput>,
) -> Result<Json<Value>, WebError> {
    let id = webhook_id(&id)?;
    edit_webhook(&state, &caller, &info, id, &input).await?;
    let hook = state
        .catalog
        .webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(|| no_webhook(id))?;
    Ok(Json(json!(hook)))
}

async fn remove(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    remove_webhook(&state, &caller, &info, webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let id = webhook_id(&id)?;
    if !state.catalog.webhooks().await?.iter().any(|w| w.id == id) {
        return Err(no_webhook(id));
    }
    Ok(Json(
        json!({ "items": state.catalog.deliveries(Some(id), 100).await? }),
    ))
}
