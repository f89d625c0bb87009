//! A client's own settings in a namespace (`/clients/{id}/overrides/{ns}`): every
//! parameter and env var its rendering sees, where each comes from (its own, the
//! namespace's, global), and for an admin the forms to pin a value for this client
//! alone — a canary on a new image — or to drop the pin.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use tenantry_core::Role;
use tenantry_store::{EnvSource, Scope, StoredValue, ValueSource};

use crate::AppState;
use crate::actions;
use crate::api_overrides::client_scope;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, page};
use crate::i18n::Lang;
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients/{id}/overrides/{ns}", get(show))
        .route("/clients/{id}/overrides/{ns}/params", post(set_param))
        .route("/clients/{id}/overrides/{ns}/env", post(set_env))
        .route("/clients/{id}/overrides/{ns}/env/delete", post(unset_env))
}

fn source_word(lang: Lang, s: Option<ValueSource>) -> &'static str {
    match s {
        Some(ValueSource::Client) => lang.t("this client"),
        Some(ValueSource::Namespace) => lang.t("the namespace"),
        Some(ValueSource::Global) => lang.t("global"),
        None => "—",
    }
}

fn env_source(s: EnvSource) -> Option<ValueSource> {
    Some(match s {
        EnvSource::Client => ValueSource::Client,
        EnvSource::Namespace => ValueSource::Namespace,
        EnvSource::Global => ValueSource::Global,
    })
}

async fn show(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns)): Path<(String, String)>,
) -> Result<Markup, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    let params = state.catalog.params(&scope).await?;
    let env = state.catalog.env_vars(&scope).await?;
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let admin = ctx.can(Role::Admin);
    let base = format!("/clients/{id}/overrides/{ns}");
    let body = html! {
        p { (t("A value set here is this client's alone in this namespace: it wins over the namespace's and the global one. A deploy applies it.")) }
        h2 { (t("Parameters")) }
        table #override-params {
            thead { tr { th { (t("Name")) } th { (t("Value")) } th { (t("From")) } @if admin { th {} } } }
            tbody {
                @for p in params.iter().filter(|p| p.def.kind.is_settable()) {
                    @let own = p.source() == Some(ValueSource::Client);
                    @let secret = p.def.kind.is_secret() || matches!(p.effective(), Some(StoredValue::Secret(_)));
                    tr data-param=(p.def.name.as_str()) data-source=(p.source().map_or("", |s| s.as_str())) {
                        td { code { (p.def.name.as_str()) } }
                        td { @match p.effective() {
                            Some(StoredValue::Plain(v)) => code { (v) },
                            Some(StoredValue::Secret(_)) => (tenantry_core::secret::MASK),
                            None => "—",
                        } }
                        td { @if own { b { (source_word(ctx.lang, p.source())) } } @else { (source_word(ctx.lang, p.source())) } }
                        @if admin {
                            td {
                                form.inline method="post" action={(base) "/params"} {
                                    (ctx.csrf())
                                    input type="hidden" name="name" value=(p.def.name.as_str());
                                    input name="value" type=(if secret { "password" } else { "text" }) aria-label=(p.def.name.as_str()) autocomplete="off";
                                    button type="submit" { (t("Pin for this client")) }
                                }
                                @if own {
                                    form.inline method="post" action={(base) "/params"} data-confirm=(t("Drop this client's own value?")) {
                                        (ctx.csrf())
                                        input type="hidden" name="name" value=(p.def.name.as_str());
                                        input type="hidden" name="unset" value="1";
                                        button type="submit" { (t("Drop the pin")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t("Env vars")) }
        table #override-env {
            thead { tr { th { (t("Name")) } th { (t("Value")) } th { (t("From")) } @if admin { th {} } } }
            tbody {
                @for e in &env {
                    tr data-env=(e.name) data-source=(env_source(e.source).map_or("", |s| s.as_str())) {
                        td { code { (e.name) } } td { code { (e.value) } }
                        td { (source_word(ctx.lang, env_source(e.source))) }
                        @if admin {
                            td { @if e.source == EnvSource::Client {
                                form.inline method="post" action={(base) "/env/delete"} data-confirm=(t("Drop this client's own value?")) {
                                    (ctx.csrf())
                                    input type="hidden" name="name" value=(e.name);
                                    button type="submit" { (t("Drop the pin")) }
                                }
                            } }
                        }
                    }
                }
            }
        }
        @if admin {
            form method="post" action={(base) "/env"} #override-env-form {
                (ctx.csrf())
                label { (t("Name")) " " input name="name" required; }
                label { (t("Value")) " " input name="value"; }
                button type="submit" { (t("Pin for this client")) }
            }
        }
        p { a href={"/clients/" (id)} { (t("Client card")) } }
    };
    Ok(page(
        &ctx,
        &format!("{id} · {ns} — {}", t("own settings")),
        body,
    ))
}

fn back(scope: &Scope) -> Response {
    match scope {
        Scope::Client(ns, id) => {
            Redirect::to(&format!("/clients/{id}/overrides/{ns}")).into_response()
        }
        _ => Redirect::to("/clients").into_response(),
    }
}

async fn set_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    if form.get("unset") == "1" {
        actions::unset_param(&state, &info, &caller, &scope, form.get("name")).await?;
    } else {
        actions::set_param(
            &state,
            &info,
            &caller,
            &scope,
            form.get("name"),
            form.get("value"),
            false,
            false,
        )
        .await?;
    }
    Ok(back(&scope))
}

async fn set_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    actions::set_env(
        &state,
        &info,
        &caller,
        &scope,
        form.get("name"),
        form.get("value"),
    )
    .await?;
    Ok(back(&scope))
}

async fn unset_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, ns)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, WebError> {
    let scope = client_scope(&state, &id, &ns).await?;
    actions::unset_env(&state, &info, &caller, &scope, form.get("name")).await?;
    Ok(back(&scope))
}
