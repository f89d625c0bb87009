//! The fleet's pages: the fleet (the home page: every client × namespace with its live
//! health and drift, counts, filters, updated live over server-sent events) and an
//! environment's page (its objects with health and drift, the field-level diff with a
//! Sync button, its pods, the Events of its objects, the tail of each pod's log).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use maud::{Markup, html};

use crate::AppState;
use crate::api_input::QueryMap;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::fleet::{FleetQuery, FleetView, HEALTHS, env_view, event_subjects, fleet_view};
use crate::fleet_words::{health_badge, health_word, reason_shown};
use crate::html::{Ctx, page, status_badge, urlencode, when};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fleet", get(fleet))
        .route("/fleet/events", get(events))
        .route("/clients/{id}/environments/{ns}", get(environment))
}

/// The link to the fleet with `q` changed by `f`.
fn link(q: &FleetQuery, f: impl FnOnce(&mut FleetQuery)) -> String {
    let mut q = q.clone();
    q.page = 1;
    f(&mut q);
    let mut parts = Vec::new();
    if let Some(h) = q.health {
        parts.push(format!("health={}", h.as_str().to_ascii_lowercase()));
    }
    if q.drifted {
        parts.push("drifted=true".to_owned());
    }
    if let Some(n) = &q.namespace {
        parts.push(format!("namespace={}", urlencode(n)));
    }
    if let Some(s) = &q.q {
        parts.push(format!("q={}", urlencode(s)));
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    format!("/fleet?{}", parts.join("&"))
}

async fn fleet(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    QueryMap(query): QueryMap,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let q = FleetQuery::parse(&query)?;
    let view = fleet_view(&state, &q).await?;
    let namespaces = state.catalog.namespaces().await?;
    let t = |s| ctx.t(s);
    let body = html! {
        form.filters method="get" action="/fleet" {
            label { (t("Namespace")) " "
                select name="namespace" {
                    option value="" { (t("all")) }
                    @for n in &namespaces {
                        option value=(n.name.as_str()) selected[q.namespace.as_deref() == Some(n.name.as_str())] { (n.name.as_str()) }
                    }
                }
            }
            label { (t("Health")) " "
                select name="health" {
                    option value="" { (t("all")) }
                    @for h in HEALTHS {
                        option value=(h.as_str().to_ascii_lowercase()) selected[q.health == Some(h)] { (health_word(ctx.lang, h)) }
                    }
                }
            }
            label { input type="checkbox" name="drifted" value="true" checked[q.drifted]; " " (t("drifted only")) }
            input type="search" name="q" value=(q.q.clone().unwrap_or_default()) placeholder=(t("Search by id, organisation, contact, phone or e-mail"));
            button type="submit" { (t("Filter")) }
        }
        div #fleet-body data-live="/fleet/events" { (fleet_body(&ctx, &q, &view)) }
    };
    Ok(page(&ctx, t("Fleet"), body))
}

fn fleet_body(ctx: &Ctx, q: &FleetQuery, view: &FleetView) -> Markup {
    let t = |s| ctx.t(s);
    let pages = view.matched.div_ceil(view.per_page).max(1);
    html! {
        p.counts {
            a href=(link(q, |q| { q.health = None; q.drifted = false; })) { (t("All")) " " b { (view.counts.total) } }
            @for h in HEALTHS {
                @let n = view.counts.by_health.get(h.as_str()).copied().unwrap_or(0);
                " · " a.count href=(link(q, |q| q.health = Some(h))) data-count=(h.as_str().to_ascii_lowercase()) { (health_word(ctx.lang, h)) " " b { (n) } }
            }
            " · " a.count href=(link(q, |q| q.drifted = true)) data-count="drifted" { (t("Drifted")) " " b { (view.counts.drifted) } }
        }
        @for ns in view.namespaces.iter().filter(|n| !n.synced || n.error.is_some()) {
            p.notice.warn data-syncing=(ns.namespace) {
                (ns.namespace) ": "
                @if let Some(e) = &ns.error { (t("the cluster cannot be watched")) " — " (e) } @else { (t("reading the cluster…")) }
            }
        }
        @if view.rows.is_empty() {
            p.empty { (t("No environment matches.")) }
        } @else {
            table #fleet {
                thead { tr {
                    th { (t("Client")) } th { (t("Organisation")) } th { (t("Namespace")) } th { (t("Health")) }
                    th { (t("Sync")) } th { (t("Revision")) } th { (t("Last run")) } th { (t("Reason")) }
                } }
                tbody {
                    @for r in &view.rows {
                        tr data-client=(r.row.client) data-namespace=(r.row.namespace) data-health=(r.row.health.as_str().to_ascii_lowercase()) data-drifted=(r.row.drifted) {
                            td { a href={"/clients/" (r.row.client) "/environments/" (r.row.namespace)} { (r.row.client) } }
                            td { (r.organisation) }
                            td { (r.row.namespace) }
                            td { (health_badge(ctx.lang, r.row.health)) }
                            td { @if r.row.drifted { span.badge.drifted { (t("drifted")) " (" (r.row.out_of_sync) ")" } } @else { (t("in sync")) } }
                            td { @if let Some(n) = r.row.revision { (n) } @else { "—" } }
                            td { @if let Some(run) = &r.row.last_run { a href={"/runs/" (run.id)} { (status_badge(ctx.lang, run.status.as_str())) } " " (when(&run.started_at)) } @else { "—" } }
                            td.reason { (reason_shown(ctx.lang, &r.row.reason)) }
                        }
                    }
                }
            }
            @if pages > 1 {
                p.pager {
                    @if view.page > 1 { a href=(link(q, |q| q.page = view.page - 1)) { "← " (t("Previous")) } " " }
                    (view.page) " / " (pages)
                    @if view.page < pages { " " a href=(link(q, |q| q.page = view.page + 1)) { (t("Next")) " →" } }
                }
            }
        }
    }
}

/// Server-sent events: `changed` whenever an environment's state may have changed
/// (coalesced to at most two a second); the page reads itself again. Ends with the
/// caller's session or token.
async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.fleet().subscribe();
    let stream = futures_util::stream::unfold(
        (state, caller, rx, false),
        |(state, caller, mut rx, done)| async move {
            if done {
                return None;
            }
            loop {
                match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                    Ok(Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                        // Let a burst settle into one event.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        while rx.try_recv().is_ok() {}
                        let ev = Event::default().event("changed").data("fleet");
                        return Some((Ok(ev), (state, caller, rx, false)));
                    }
                    Ok(Err(_)) => return None,
                    Err(_) if !caller.still_valid(&state).await => {
                        let ev = Event::default()
                            .event("error")
                            .data("the session ended; log in again");
                        return Some((Ok(ev), (state, caller, rx, true)));
                    }
                    Err(_) => {}
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn environment(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns)): Path<(String, String)>,
    QueryMap(query): QueryMap,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let id = crate::input::client_id(&id)?;
    let env = env_view(&state, id, &ns).await?;
    let lines = crate::api_input::int(&query, "tailLines", 50, 1000)?;
    let lines = u32::try_from(lines).unwrap_or(50).max(1);
    let redactor = tenantry_engine::plan::redactor(&state.catalog, id, &ns)
        .await
        .map_err(tenantry_engine::DeployError::from)?;
    // A slow or unreachable cluster does not hold the page up.
    let wait = Duration::from_secs(3);
    let subjects = event_subjects(&env);
    let pods: Vec<String> = env.report.pods.iter().map(|p| p.name.clone()).collect();
    let (events, logs) = tokio::join!(
        tokio::time::timeout(
            wait,
            tenantry_engine::fleet::events_of(&state.catalog, &ns, &subjects, &redactor, 100)
        ),
        tokio::time::timeout(
            wait,
            tenantry_engine::fleet::log_tails(&state.catalog, &ns, &pods, lines, &redactor)
        ),
    );
    let title = format!("{} · {} · {}", id, env.organisation, ns);
    Ok(page(
        &ctx,
        &title,
        crate::fleet_env::body(&ctx, &env, &ns, lines, events, logs),
    ))
}
