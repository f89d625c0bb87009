//! The webhooks page (admins): who is told of which events, a form to add one, and the
//! delivery log with each attempt's answer.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use tenantry_core::Role;
use tenantry_core::webhook::EVENTS;

use crate::AppState;
use crate::api_webhooks::{WebhookInput, add_webhook, edit_webhook, remove_webhook, webhook_id};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, page};
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(show).post(add))
        .route("/webhooks/{id}/delete", post(remove))
        .route("/webhooks/{id}/edit", post(edit))
}

async fn show(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    caller.require(Role::Admin)?;
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let hooks = state.catalog.webhooks().await?;
    let log = state.catalog.deliveries(None, 50).await?;
    let body = html! {
        p { (t("Tenantry tells these addresses of what happened: a JSON body (or Slack's text), signed with HMAC-SHA256 of the body under the webhook's secret in X-Tenantry-Signature, tried again with growing waits when it is not taken.")) }
        @if hooks.is_empty() {
            p.empty { (t("No webhook yet.")) }
        } @else {
            table #webhooks {
                thead { tr { th { "#" } th { (t("Address")) } th { (t("Events")) } th { (t("Format")) } th { (t("Signed")) } th {} } }
                tbody {
                    @for w in &hooks {
                        tr data-webhook=(w.id) {
                            td { (w.id) } td { code { (w.url) } } td { (w.events.join(", ")) } td { (w.format) }
                            td { @if w.signed { (t("yes")) } @else { "—" } }
                            td.actions {
                                details.edit {
                                    summary { (t("Edit")) }
                                    form method="post" action={"/webhooks/" (w.id) "/edit"} .webhook-edit {
                                        (ctx.csrf())
                                        label { (t("Address")) " " input name="url" type="url" required value=(w.url); }
                                        fieldset {
                                            legend { (t("Events")) }
                                            @for e in EVENTS { label { input type="checkbox" name="events" value=(e.as_str()) checked[w.events.iter().any(|x| x == e.as_str())]; " " code { (e.as_str()) } } }
                                        }
                                        label { (t("Format")) " " select name="format" {
                                            option value="json" selected[w.format == "json"] { "JSON" }
                                            option value="slack" selected[w.format == "slack"] { "Slack" } } }
                                        label { (t("New secret (empty keeps the current one)")) " " input name="secret" type="password" autocomplete="off"; }
                                        @if w.signed { label { input type="checkbox" name="unsign" value="1"; " " (t("Stop signing")) } }
                                        button type="submit" { (t("Save")) }
                                    }
                                }
                                form.inline method="post" action={"/webhooks/" (w.id) "/delete"} data-confirm=(t("Remove this webhook and its delivery log?")) {
                                    (ctx.csrf()) button type="submit" { (t("Remove")) } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (t("Add a webhook")) }
            form method="post" action="/webhooks" #webhook-form {
                (ctx.csrf())
                label { (t("Address")) " " input name="url" type="url" required placeholder="https://hooks.example/tenantry"; }
                fieldset {
                    legend { (t("Events")) }
                    @for e in EVENTS { label { input type="checkbox" name="events" value=(e.as_str()) checked; " " code { (e.as_str()) } } }
                }
                label { (t("Format")) " " select name="format" { option value="json" { "JSON" } option value="slack" { "Slack" } } }
                label { (t("Secret to sign with (optional)")) " " input name="secret" type="password" autocomplete="off"; }
                button type="submit" { (t("Add")) }
            }
        }
        h2 { (t("Deliveries")) }
        @if log.is_empty() {
            p.empty { (t("Nothing sent yet.")) }
        } @else {
            table #deliveries {
                thead { tr { th { "#" } th { (t("Webhook")) } th { (t("Event")) } th { (t("Status")) } th { (t("Attempts")) } } }
                tbody {
                    @for d in &log {
                        tr data-status=(d.status) {
                            td { (d.id) } td { (d.webhook) } td { code { (d.event) } } td { (d.status) }
                            td { @for a in &d.attempts {
                                span.attempt { (a.n) ": " (a.code.map_or_else(|| a.error.clone().unwrap_or_default(), |c| c.to_string())) } " "
                            } }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, t("Webhooks"), body))
}

/// The add and edit forms as the API's input; an empty secret is none.
fn input_of(form: &FormData) -> WebhookInput {
    WebhookInput {
        url: form.get("url").to_owned(),
        events: form
            .0
            .iter()
            .filter(|(k, _)| k == "events")
            .map(|(_, v)| v.clone())
            .collect(),
        format: Some(form.get("format").to_owned()).filter(|f| !f.is_empty()),
        secret: Some(form.get("secret").to_owned()).filter(|s| !s.is_empty()),
    }
}

async fn add(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    add_webhook(&state, &caller, &info, &input_of(&form)).await?;
    Ok(Redirect::to("/webhooks").into_response())
}

/// The edit form: an empty secret keeps the current one; "Stop signing" removes it.
async fn edit(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let mut input = input_of(&form);
    if form.get("unsign") == "1" {
        input.secret = Some(String::new());
    }
    edit_webhook(&state, &caller, &info, webhook_id(&id)?, &input).await?;
    Ok(Redirect::to("/webhooks").into_response())
}

async fn remove(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    remove_webhook(&state, &caller, &info, webhook_id(&id)?).await?;
    Ok(Redirect::to("/webhooks").into_response())
}
