//! The operations on the client card: deploy, suspend and resume, the revisions
//! with a "roll back to this" button each, and a danger zone to decommission the
//! environment (confirmed by typing the client id). Each starts a run and goes to its
//! live page, as Deploy does.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use tenantry_core::{ClientId, Role};
use tenantry_engine::history::RevisionSummary;
use tenantry_engine::{Decommission, Operation};
use tenantry_store::{EnvState, Environment};

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, when};
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients/{id}/suspend", post(suspend))
        .route("/clients/{id}/resume", post(resume))
        .route("/clients/{id}/rollback", post(rollback))
        .route("/clients/{id}/decommission", post(decommission))
}

/// What a namespace panel of the client card shows of the environment's life.
#[derive(Debug)]
pub struct EnvView {
    pub state: Option<Environment>,
    pub revisions: Vec<RevisionSummary>,
}

impl EnvView {
    pub async fn load(state: &AppState, client: ClientId, ns: &str) -> Result<Self, WebError> {
        Ok(Self {
            state: state.catalog.environment(client, ns).await?,
            revisions: tenantry_engine::history::history(&state.catalog, client, ns).await?,
        })
    }
}

/// The environment's state, where an operation set one other than deployed.
/// Suspend or resume, the revisions, and the danger zone, for an operator.
pub fn panel(ctx: &Ctx, client: ClientId, ns: &str, env: &EnvView) -> Markup {
    let t = |s| ctx.t(s);
    let state = env.state.as_ref().map(|e| e.state);
    let deployed = !env.revisions.is_empty() && state != Some(EnvState::Decommissioned);
    let latest = env.revisions.last().map(|r| r.number);
    html! {
        p { a.overrides href={"/clients/" (client) "/overrides/" (ns)} { (t("This client's own settings here (pinned image, env vars)")) } }
        @if deployed {
            @if state == Some(EnvState::Suspended) {
                form.inline method="post" action={"/clients/" (client) "/resume"} data-confirm=(t("Resume this environment?")) {
                    (ctx.csrf())
                    input type="hidden" name="namespace" value=(ns);
                    button type="submit" { (t("Resume")) }
                }
            } @else {
                form.inline method="post" action={"/clients/" (client) "/suspend"} data-confirm=(t("Suspend this environment? Its pods stop until it is resumed.")) {
                    (ctx.csrf())
                    input type="hidden" name="namespace" value=(ns);
                    button type="submit" { (t("Suspend")) }
                }
            }
        }
        @if !env.revisions.is_empty() {
            details.history {
                summary { (t("Revisions")) " (" (env.revisions.len()) ")" }
                table {
                    thead { tr { th { "#" } th { (t("Image")) } th { (t("Created")) } th { (t("Changes")) } th {} } }
                    tbody {
                        @for r in env.revisions.iter().rev() {
                            tr data-revision=(r.number) {
                                td { (r.number) }
                                td.path { (r.image) }
                                td { (when(&r.created_at)) }
                                td {
                                    @if r.number == 1 { (t("first deploy")) }
                                    @else if r.changes.is_empty() { (t("nothing")) }
                                    @else {
                                        ul { @for c in &r.changes { li.path { (c) } } }
                                        @if !r.diffs.is_empty() {
                                            details.diffs {
                                                summary { (t("Show the manifests' diff")) }
                                                @for d in &r.diffs {
                                                    p.path { b { (d.object) } @if d.before.is_none() { " (" (t("added")) ")" } @if d.after.is_none() { " (" (t("removed")) ")" } }
                                                    (crate::html::diff_hunks(d.before.as_deref().unwrap_or(""), d.after.as_deref().unwrap_or("")))
                                                }
                                            }
                                        }
                                    }
                                }
                                td {
                                    @if Some(r.number) != latest {
                                        form method="post" action={"/clients/" (client) "/rollback"} data-confirm=(t("Roll back to this revision?")) {
                                            (ctx.csrf())
                                            input type="hidden" name="namespace" value=(ns);
                                            input type="hidden" name="to" value=(r.number);
                                            button type="submit" { (t("Roll back to this")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if deployed {
            details.danger-zone {
                summary { (t("Danger zone")) }
                form method="post" action={"/clients/" (client) "/decommission"} {
                    (ctx.csrf())
                    input type="hidden" name="namespace" value=(ns);
                    p { (t("Decommission deletes this environment's objects. Its generated secrets are kept unless you forget them.")) }
                    label { input type="checkbox" name="drop_databases" value="on"; " " (t("Also drop its databases")) }
                    label { input type="checkbox" name="forget_secrets" value="on"; " " (t("Also forget its generated secrets")) }
                    label { (t("Type the client id to confirm")) input name="confirm" autocomplete="off" required; }
                    button.danger type="submit" { (t("Decommission")) }
                }
            }
        }
    }
}

/// A decommission deletes an environment: the client id must be typed again.
pub(crate) fn confirmed(id: &str, typed: &str) -> Result<(), WebError> {
    if typed.trim() == id {
        Ok(())
    } else {
        Err(WebError::rule(
            "confirm",
            crate::error::Msg::both(
                format!(
                    "type the client id to confirm ({id}): a decommission deletes the environment"
                ),
                format!(
                    "для подтверждения введите идентификатор клиента ({id}): вывод из эксплуатации удаляет окружение"
                ),
            ),
        ))
    }
}

/// Starts `op` for an operator from a form with `namespace`, audited; goes to the run.
pub(crate) async fn start(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: &str,
    form: &FormData,
    op: Operation,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    let id = ClientId::parse(id).map_err(|e| WebError::not_found(e.to_string()))?;
    let ns = form.get("namespace");
    let run = state.start_operation(id, ns, op).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            op.noun(),
            &id.to_string(),
            &format!("namespace {ns}, run {run}"),
        )
        .await;
    Ok(Redirect::to(&format!("/runs/{run}")).into_response())
}

async fn suspend(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    start(&state, &info, &caller, &id, &form, Operation::Suspend).await
}

async fn resume(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    start(&state, &info, &caller, &id, &form, Operation::Resume).await
}

async fn rollback(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let to = match form.get("to") {
        "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| WebError::field("to", "a revision number"))?,
        ),
    };
    start(&state, &info, &caller, &id, &form, Operation::Rollback(to)).await
}

async fn decommission(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    confirmed(&id, form.get("confirm"))?;
    let op = Operation::Decommission(Decommission {
        drop_databases: form.get("drop_databases") == "on",
        forget_secrets: form.get("forget_secrets") == "on",
    });
    start(&state, &info, &caller, &id, &form, op).await
}
