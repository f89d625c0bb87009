//! Runs: the list, a run's page (steps, verdict with the reason, the requests sent),
//! and its live progress as server-sent events. Progress is read from the catalog, so
//! a page served by one instance follows a deploy run by another.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use maud::{Markup, html};
use serde_json::{Value, json};

use tenantry_store::RunStatus;

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::card::runs_table;
use crate::error::WebError;
use crate::html::{Ctx, millis, page, status_badge, took, when};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list))
        .route("/runs/{id}", get(show))
        .route("/runs/{id}/events", get(events))
}

async fn list(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let runs = state.catalog.runs(None, 200).await?;
    Ok(page(&ctx, ctx.t("Runs"), runs_table(&ctx, &runs, true)))
}

fn steps_of(report: &Value) -> Vec<Value> {
    report.as_array().cloned().unwrap_or_default()
}

async fn show(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let run = state.catalog.run(id).await?;
    let client = state.catalog.client(run.client).await?;
    let requests = state.catalog.run_requests(id).await?;
    let steps = steps_of(&run.report);
    // A finished run shows the pods as it left them; a running one the pods as the
    // cluster has them now (a slow or unreachable cluster does not hold the page up).
    let pods = if let Some(left) = tenantry_engine::pods_of_run(&run) {
        Ok(left)
    } else {
        match tokio::time::timeout(
            Duration::from_secs(3),
            tenantry_engine::pod_states(&state.catalog, run.client, &run.namespace),
        )
        .await
        {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the cluster did not answer within 3 s".to_owned()),
        }
    };
    let body = html! {
        section.card #run data-run=(run.id) data-status=(run.status) {
            dl {
                dt { (t("Client")) } dd { a href={"/clients/" (run.client)} { (run.client) " · " (client.name.as_str()) } }
                dt { (t("Namespace")) } dd { (run.namespace) }
                dt { (t("Status")) } dd #run-status { (status_badge(ctx.lang, run.status.as_str())) }
                dt { (t("Started")) } dd { (when(&run.started_at)) }
                dt { (t("Finished")) } dd #run-finished { @if let Some(f) = &run.finished_at { (when(f)) " · " (took(ctx.lang, &run.started_at, f).unwrap_or_default()) } }
            }
            div #run-reason hidden[run.reason.is_none()] {
                h2 { (t("Reason")) }
                pre.reason role="alert" { (crate::reports::run_reason(ctx.lang, run.reason.as_deref().unwrap_or(""), &steps)) }
            }
        }
        h2 { (t("Steps")) }
        @if run.status == RunStatus::Running { p.muted #live { (t("Live")) " · " (t("Pending steps start when the steps they depend on are done.")) } }
        table #steps {
            thead { tr { th { (t("Step")) } th { (t("Status")) } th { (t("Elapsed")) } th { (t("Detail")) } } }
            tbody {
                @for s in &steps {
                    @let name = s["template"].as_str().unwrap_or("");
                    tr data-template=(name) {
                        td { (name) }
                        td.status { (status_badge(ctx.lang, s["status"].as_str().unwrap_or(""))) }
                        td.elapsed { (millis(ctx.lang, s["elapsed_ms"].as_u64().unwrap_or(0))) }
                        td.detail { pre { (crate::reports::step_of_report(ctx.lang, s)) } }
                    }
                }
            }
        }
        h2 { (t("Pods")) }
        div #pods-of-run {
            @match &pods {
                Ok(list) if list.is_empty() => p.empty #pods { (t("No pods.")) },
                Ok(list) => (pods_table(&ctx, list)),
                Err(e) => p.muted #pods { (e) },
            }
        }
        h2 { (t("Requests sent")) " (" span #request-count { (requests.len()) } ")" }
        table.requests {
            thead { tr { th { "#" } th { (t("Method")) } th { (t("Path")) } th { (t("Status")) } th { (t("Elapsed")) } th { (t("Body (secrets masked)")) } } }
            tbody {
                @for r in &requests {
                    tr {
                        td { (r.seq) } td { (r.method) } td.path { (r.path) } td { (r.status) }
                        td { (millis(ctx.lang, u64::try_from(r.duration_ms).unwrap_or(0))) } td { (body_cell(&r.excerpt)) }
                    }
                }
            }
        }
        // For the live updates: the words for each status in this page's language.
        span #i18n hidden data-running=(t("running")) data-succeeded=(t("succeeded")) data-failed=(t("failed"))
            data-interrupted=(t("interrupted")) data-pending=(t("pending")) data-done=(t("done")) data-skipped=(t("skipped"))
            data-nopods=(t("No pods.")) data-podname=(t("Name")) data-podstatus=(t("Status")) data-podready=(t("Ready"))
            data-podrestarts=(t("Restarts")) data-podcreated=(t("Created")) data-podreason=(t("Reason")) {}
    };
    Ok(page(&ctx, &format!("{} {}", t("Run"), run.id), body))
}

pub(crate) fn pods_table(ctx: &Ctx, list: &[tenantry_engine::PodState]) -> Markup {
    let t = |s| ctx.t(s);
    html! {
        table #pods {
            thead { tr { th { (t("Name")) } th { (t("Status")) } th { (t("Ready")) } th { (t("Restarts")) } th { (t("Created")) } th { (t("Reason")) } } }
            tbody { @for p in list { tr {
                td { code { (p.name) } } td { (p.phase) } td { (p.ready) } td { (p.restarts) }
                td { @if let Some(c) = &p.created { (when(c)) } @else { "—" } }
                td.reason { (p.reason) }
            } } }
        }
    }
}

/// A request's recorded body: short ones inline, long ones folded, JSON laid out.
fn body_cell(text: &str) -> Markup {
    let pretty = serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    if text.chars().count() <= 100 && pretty.is_none() {
        return html! { code.excerpt { (text) } };
    }
    let head: String = text.chars().take(100).collect();
    html! {
        details.body {
            summary { code.excerpt { (head) "…" } }
            pre.body { (pretty.as_deref().unwrap_or(text)) }
        }
    }
}

/// Server-sent events: `run` with the whole state whenever it changes; the stream ends
/// when the run does, or when the caller's session or token does (checked each poll).
pub async fn events(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    state.catalog.run(id).await?;
    let stream = futures_util::stream::unfold(
        (state, caller, None::<String>, false, (0u32, Value::Null)),
        move |(state, caller, last, done, (mut polls, mut pods))| async move {
            if done {
                return None;
            }
            let mut last = last;
            loop {
                polls += 1;
                if !caller.still_valid(&state).await {
                    let ev = Event::default()
                        .event("error")
                        .data("the session ended; log in again");
                    return Some((Ok(ev), (state, caller, last, true, (polls, pods))));
                }
                let run = match state.catalog.run(id).await {
                    Ok(r) => r,
                    Err(e) => {
                        let ev = Event::default().event("error").data(e.to_string());
                        return Some((Ok(ev), (state, caller, last, true, (polls, pods))));
                    }
                };
                let mut data = json!(crate::api_types::Run::from(&run));
                // Each step also as the page's language says it.
                if let Some(steps) = data["steps"].as_array_mut() {
                    for st in steps {
                        st["shown"] = json!(crate::reports::step_of_report(info.lang, st));
                    }
                }
                if let Some(reason) = run.reason.as_deref() {
                    let steps = steps_of(&run.report);
                    data["reason_shown"] =
                        json!(crate::reports::run_reason(info.lang, reason, &steps));
                }
                data["requests"] = json!(state.catalog.run_request_count(id).await.unwrap_or(0));
                // The pods, as the cluster has them: every second while the run runs, and
                // once more when it ends, so the last event shows what it left (a slow
                // cluster is skipped).
                let finished = run.status != RunStatus::Running;
                if polls % 4 == 1 || finished {
                    let read =
                        tenantry_engine::pod_states(&state.catalog, run.client, &run.namespace);
                    if let Ok(Ok(p)) = tokio::time::timeout(Duration::from_secs(1), read).await {
                        pods = json!(p);
                    }
                }
                data["pods"] = pods.clone();
                let data = data.to_string();
                if last.as_deref() != Some(data.as_str()) {
                    let ev = Event::default().event("run").data(data.clone());
                    return Some((Ok(ev), (state, caller, Some(data), finished, (polls, pods))));
                }
                last = Some(data);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
