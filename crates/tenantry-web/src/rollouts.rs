//! The rollout pages: the list with a form to plan one, the preview (who changes and
//! how, who is up to date) with a confirmation, and a rollout's page — its clients'
//! progress, updated live over server-sent events, with pause, resume, abort and undo.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use maud::{Markup, html};
use tenantry_core::rollout::{ClientState, Request, Status};
use tenantry_core::{ClientId, Role};
use tenantry_engine::rollout::Preview;
use tenantry_store::RolloutRecord;

use crate::AppState;
use crate::api_rollouts::{RolloutInput, ask, rollout_id, start_rollout, start_undo};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, page};
use crate::i18n::Lang;
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rollouts", get(list).post(create))
        .route("/rollouts/{id}", get(show))
        .route("/rollouts/{id}/events", get(events))
        .route("/rollouts/{id}/pause", post(pause))
        .route("/rollouts/{id}/resume", post(resume))
        .route("/rollouts/{id}/abort", post(abort))
        .route("/rollouts/{id}/undo", post(undo))
}

pub fn status_word(lang: Lang, s: Status) -> &'static str {
    match s {
        Status::Running => lang.t("in progress"),
        Status::Paused => lang.t("paused"),
        Status::Halted => lang.t("halted"),
        Status::Succeeded => lang.t("succeeded"),
        Status::Aborted => lang.t("aborted"),
    }
}

fn client_word(lang: Lang, s: ClientState) -> &'static str {
    match s {
        ClientState::Pending => lang.t("waiting"),
        ClientState::UpToDate => lang.t("up to date"),
        ClientState::Running => lang.t("deploying"),
        ClientState::Succeeded { .. } => lang.t("succeeded"),
        ClientState::Failed => lang.t("failed"),
    }
}

fn split(s: &str) -> Vec<String> {
    s.split([',', ' ', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn number<T: std::str::FromStr>(form: &FormData, field: &str, default: T) -> Result<T, WebError> {
    match form.get(field).trim() {
        "" => Ok(default),
        v => v.parse().map_err(|_| {
            WebError::field(
                field,
                crate::messages::Msg::both("a whole number", "целое число"),
            )
        }),
    }
}

fn input_of(form: &FormData) -> Result<RolloutInput, WebError> {
    let which = form.get("select");
    Ok(RolloutInput {
        namespace: form.get("namespace").to_owned(),
        all: which == "all",
        clients: if which == "clients" {
            split(form.get("clients"))
        } else {
            vec![]
        },
        health: (which == "health").then(|| form.get("health").to_owned()),
        canary: Some(number(form, "canary", 0usize)?).filter(|n| *n > 0),
        canary_clients: split(form.get("canary_clients")),
        batch: number(form, "batch", 5)?,
        max_failures: number(form, "max_failures", 0)?,
        soak_secs: number(form, "soak_secs", 0)?,
        dry_run: form.get("confirm") != "1",
    })
}

async fn list(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let all = state.catalog.rollouts().await?;
    let namespaces = state.catalog.namespaces().await?;
    let body = html! {
        @if all.is_empty() {
            p.empty { (t("No rollout yet.")) }
        } @else {
            table #rollouts {
                thead { tr { th { "#" } th { (t("Namespace")) } th { (t("Status")) } th { (t("Clients")) } th { (t("Started")) } th { (t("By")) } } }
                tbody {
                    @for r in &all {
                        tr data-status=(r.status.as_str()) {
                            td { a href={"/rollouts/" (r.id)} { (r.id) } }
                            td { (r.namespace) } td { (status_word(ctx.lang, r.status)) }
                            td { (r.clients.iter().filter(|c| c.state != ClientState::UpToDate).count()) }
                            td { time datetime=(r.created_at) { (r.created_at) } } td { (r.created_by) }
                        }
                    }
                }
            }
        }
        @if ctx.can(Role::Operator) {
            section.card {
                h2 { (t("Plan a rollout")) }
                p { (t("One change (a new image, an env var, a fixed template) to many clients: the canaries first, then a few at a time; it halts when more fail than you allow. Set the change first (the namespace's parameters, a template), then plan.")) }
                form method="post" action="/rollouts" #rollout-form {
                    (ctx.csrf())
                    label { (t("Namespace")) " " select name="namespace" { @for n in &namespaces { option value=(n.name.as_str()) { (n.name.as_str()) } } } }
                    fieldset {
                        legend { (t("Which clients")) }
                        label { input type="radio" name="select" value="all" checked; " " (t("every client deployed there")) }
                        label { input type="radio" name="select" value="clients"; " " (t("these clients:")) " " input name="clients" placeholder="C1, C2"; }
                        label { input type="radio" name="select" value="health"; " " (t("those now")) " "
                            select name="health" { @for h in crate::fleet::HEALTHS { option value=(h.as_str().to_ascii_lowercase()) { (crate::fleet_words::health_word(ctx.lang, h)) } } } }
                    }
                    div.grid {
                        label { (t("Canaries first: how many")) input name="canary" type="number" min="0" value="1"; }
                        label { (t("or which (instead)")) input name="canary_clients" placeholder="C7"; }
                        label { (t("At most at once")) input name="batch" type="number" min="1" max="100" value="5"; }
                        label { (t("Failures tolerated")) input name="max_failures" type="number" min="0" value="0"; }
                        label { (t("Soak after the canaries, seconds")) input name="soak_secs" type="number" min="0" value="0"; }
                    }
                    button type="submit" { (t("Show what would change")) }
                }
            }
        }
    };
    Ok(page(&ctx, t("Rollouts"), body))
}

fn preview_body(ctx: &Ctx, p: &Preview, form: &FormData) -> Markup {
    let t = |s| ctx.t(s);
    let changing = p.plan.canary.len() + p.plan.rest.len();
    html! {
        p #rollout-plan {
            (t("Clients that change")) ": " b { (changing) } " · " (t("up to date, skipped")) ": " b { (p.clients.iter().filter(|c| c.up_to_date).count()) }
            @if !p.plan.canary.is_empty() {
                " · " (t("canaries")) ": " b { (p.plan.canary.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
            }
            " · " (t("at most at once")) ": " (p.plan.batch) " · " (t("failures tolerated")) ": " (p.plan.max_failures)
        }
        table.diff {
            thead { tr { th { (t("Client")) } th { (t("Object")) } th { (t("Field")) } th { (t("Now")) } th { (t("After a deploy")) } } }
            tbody {
                @for c in p.clients.iter().filter(|c| !c.up_to_date) {
                    @if c.changes.is_empty() {
                        tr { td { (c.client) } td colspan="4" { (t("its last deploy did not end healthy: deployed again")) } }
                    }
                    @for o in &c.changes {
                        @for d in &o.diff {
                            tr { td { (c.client) } td { (o.kind) " " (o.name) } td { code { (d.path) } }
                                td { (d.live.as_ref().map_or_else(|| t("(absent)").to_owned(), ToString::to_string)) } td { (d.desired.to_string()) } }
                        }
                        @if o.diff.is_empty() {
                            tr { td { (c.client) } td { (o.kind) " " (o.name) } td colspan="3" { (o.sync.as_str()) } }
                        }
                    }
                }
            }
        }
        @if changing > 0 {
            form method="post" action="/rollouts" #rollout-confirm {
                (ctx.csrf())
                @for (k, v) in form.0.iter().filter(|(k, _)| k != "_csrf" && k != "confirm") {
                    input type="hidden" name=(k) value=(v);
                }
                input type="hidden" name="confirm" value="1";
                button type="submit" { (t("Start the rollout")) }
            }
        }
        p { a href="/rollouts" { (t("Back to the rollouts")) } }
    }
}

async fn create(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    let input = input_of(&form)?;
    let started = start_rollout(&state, &caller, &info, &input).await?;
    if let Some(id) = started.id {
        return Ok(Redirect::to(&format!("/rollouts/{id}")).into_response());
    }
    let ctx = Ctx::new(&info, caller);
    let title = format!(
        "{} — {}",
        ctx.t("What the rollout would change"),
        input.namespace
    );
    Ok(page(&ctx, &title, preview_body(&ctx, &started.preview, &form)).into_response())
}

/// Why the rollout stands as it does, in the page's language: a halt names the failed
/// clients; an abort is an operator's.
fn rollout_reason(ctx: &Ctx, r: &RolloutRecord) -> Option<String> {
    match r.status {
        Status::Halted => Some(format!(
            "{} {}",
            ctx.t("halted: failed"),
            r.failed().join(", ")
        )),
        Status::Aborted => Some(ctx.t("aborted by an operator").to_owned()),
        _ => r.reason.clone(),
    }
}

/// Each failed client's reason in the page's language: its run's, framed as the run
/// page frames it, or the rollout's own words.
async fn client_reasons(
    state: &AppState,
    ctx: &Ctx,
    r: &RolloutRecord,
) -> HashMap<ClientId, String> {
    let mut out = HashMap::new();
    for c in r.clients.iter().filter(|c| c.reason.is_some()) {
        let said = c.reason.clone().unwrap_or_default();
        let shown = match c.run {
            Some(run) => match state.catalog.run(run).await {
                Ok(rec) if rec.reason.as_deref() == Some(said.as_str()) => {
                    let steps = rec.report.as_array().cloned().unwrap_or_default();
                    crate::reports::run_reason(ctx.lang, &said, &steps)
                }
                _ => ctx.lang.t_any(&said).to_owned(),
            },
            None => ctx.lang.t_any(&said).to_owned(),
        };
        out.insert(c.client, shown);
    }
    out
}

fn rollout_body(ctx: &Ctx, r: &RolloutRecord, reasons: &HashMap<ClientId, String>) -> Markup {
    let t = |s| ctx.t(s);
    let control = |action: &str, label: &'static str, confirm: &'static str| {
        html! {
            form.inline method="post" action={"/rollouts/" (r.id) "/" (action)} data-confirm=(t(confirm)) {
                (ctx.csrf())
                button type="submit" { (t(label)) }
            }
        }
    };
    html! {
        p {
            (t("Status")) ": " b #rollout-status data-status=(r.status.as_str()) { (status_word(ctx.lang, r.status)) }
            @if let Some(why) = rollout_reason(ctx, r) { " — " span.reason { (why) } }
        }
        @if ctx.can(Role::Operator) {
            p.actions {
                @match (r.status, r.request) {
                    (s, _) if s.is_final() => (control("undo", "Undo: every client back to its revision before", "Roll every client of this rollout back?")),
                    (_, Request::Pause) => (control("resume", "Resume", "Resume this rollout?")),
                    _ => (control("pause", "Pause", "Pause this rollout? Running deploys finish.")),
                }
                @if !r.status.is_final() { " " (control("abort", "Abort", "Abort this rollout? Running deploys finish; no new one starts.")) }
            }
        }
        table #rollout-clients {
            thead { tr { th { (t("Client")) } th { (t("Canary")) } th { (t("Status")) } th { (t("Run")) } th { (t("Reason")) } } }
            tbody {
                @for c in &r.clients {
                    tr data-client=(c.client) data-state=(match c.state { ClientState::Succeeded { .. } => "succeeded", ClientState::Failed => "failed", ClientState::Running => "running", ClientState::UpToDate => "up-to-date", ClientState::Pending => "pending" }) {
                        td { a href={"/clients/" (c.client)} { (c.client) } }
                        td { @if c.canary { (t("yes")) } }
                        td { (client_word(ctx.lang, c.state)) }
                        td { @if let Some(run) = c.run { a href={"/runs/" (run)} { (run) } } @else { "—" } }
                        td.reason { (reasons.get(&c.client).cloned().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

async fn show(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let r = state.catalog.rollout(rollout_id(&id)?).await?;
    let ctx = Ctx::new(&info, caller);
    let title = format!("{} {} — {}", ctx.t("Rollout"), r.id, r.namespace);
    let live = (!r.status.is_final()).then(|| format!("/rollouts/{}/events", r.id));
    let reasons = client_reasons(&state, &ctx, &r).await;
    let body = html! {
        div #rollout-body data-live=[live] { (rollout_body(&ctx, &r, &reasons)) }
        p { a href="/rollouts" { (t_back(&ctx)) } }
    };
    Ok(page(&ctx, &title, body))
}

fn t_back(ctx: &Ctx) -> &'static str {
    ctx.t("Back to the rollouts")
}

/// `changed` whenever the rollout changes; the stream ends with it.
async fn events(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let id = rollout_id(&id)?;
    let first = state.catalog.rollout(id).await?;
    let seen = serde_json::to_string(&first).unwrap_or_default();
    let stream = futures_util::stream::unfold(
        (state, seen, false),
        move |(state, seen, done)| async move {
            if done {
                return None;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let Ok(r) = state.catalog.rollout(id).await else {
                    return None;
                };
                let now = serde_json::to_string(&r).unwrap_or_default();
                if now != seen {
                    let over = r.status.is_final();
                    return Some((
                        Ok(Event::default().event("changed").data("rollout")),
                        (state, now, over),
                    ));
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn control(
    state: AppState,
    info: RequestInfo,
    caller: Caller,
    id: &str,
    r: Request,
) -> Result<Response, WebError> {
    let id = rollout_id(id)?;
    ask(&state, &caller, &info, id, r).await?;
    Ok(Redirect::to(&format!("/rollouts/{id}")).into_response())
}

async fn pause(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    control(state, info, caller, &id, Request::Pause).await
}

async fn resume(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    control(state, info, caller, &id, Request::Go).await
}

async fn abort(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    control(state, info, caller, &id, Request::Abort).await
}

async fn undo(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = rollout_id(&id)?;
    start_undo(&state, &caller, &info, id).await?;
    Ok(Redirect::to(&format!("/rollouts/{id}")).into_response())
}
