//! Catalog pages: the namespaces list with the form for a new one, and env vars (a
//! namespace's own page is `params`).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use tenantry_core::Role;
use tenantry_store::Scope;

use crate::AppState;
use crate::actions::{self, NamespaceInput, scope_of};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, notice, page, with_status};
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/namespaces", get(namespaces).post(add_namespace))
        .route("/env", get(env).post(set_env))
        .route("/env/delete", post(unset_env))
}

async fn namespaces_page(
    state: &AppState,
    ctx: &Ctx,
    error: Option<&str>,
    form: &FormData,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let list = state.catalog.namespaces().await?;
    Ok(page(
        ctx,
        t("Namespaces"),
        html! {
            @if let Some(e) = error { (notice("error", e)) }
            table {
                thead { tr { th { (t("Name")) } th { (t("Kubernetes namespace")) } th { (t("Cluster API URL")) } th { (t("Token")) } } }
                tbody { @for n in &list { tr {
                    td { a href={"/namespaces/" (n.name.as_str())} { (n.name.as_str()) } }
                    td { (n.k8s_namespace.as_str()) }
                    td { code { (n.api_root_url.as_str()) } }
                    td { (tenantry_core::secret::MASK) }
                } } }
            }
            @if ctx.can(Role::Admin) {
                details.card open[error.is_some()] {
                    summary { (t("New namespace")) }
                    form method="post" action="/namespaces" {
                        (ctx.csrf())
                        div.grid {
                            label { (t("Name")) input name="name" value=(form.get("name")) required pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?"; }
                            label { (t("Kubernetes namespace")) input name="k8s_namespace" value=(form.get("k8s_namespace")); }
                        }
                        label { (t("Cluster API URL")) input name="api_root_url" value=(form.get("api_root_url")) required placeholder="https://rancher.example/k8s/clusters/c-xxxxx"; }
                        label { (t("Token")) input name="token" type="password" autocomplete="off" required; }
                        label { (t("CA certificate (PEM)")) textarea name="ca_bundle" rows="4" { (form.get("ca_bundle")) } }
                        button type="submit" { (t("Create")) }
                    }
                }
            }
        },
    ))
}

async fn namespaces(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    namespaces_page(&state, &ctx, None, &FormData::default()).await
}

async fn add_namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    let input = NamespaceInput {
        name: form.get("name").to_owned(),
        k8s_namespace: Some(form.get("k8s_namespace").to_owned()),
        api_root_url: form.get("api_root_url").to_owned(),
        token: form.get("token").to_owned(),
        ca_bundle: Some(form.get("ca_bundle").to_owned()),
    };
    match actions::create_namespace(&state, &info, &caller, &input).await {
        Ok(ns) => Ok(Redirect::to(&format!("/namespaces/{}", ns.name.as_str())).into_response()),
        Err(e @ (WebError::Forbidden(_) | WebError::Internal(_))) => Err(e),
        Err(e) => {
            let ctx = Ctx::new(&info, caller);
            Ok(with_status(
                namespaces_page(&state, &ctx, Some(&e.message_in(ctx.lang)), &form)
                    .await?
                    .into_response(),
                &e,
            ))
        }
    }
}

async fn env_page(state: &AppState, ctx: &Ctx, error: Option<&str>) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let namespaces = state.catalog.namespaces().await?;
    let global = state.catalog.env_vars(&Scope::Global).await?;
    let mut per_ns = Vec::new();
    for ns in &namespaces {
        let own: Vec<_> = state
            .catalog
            .env_vars(&Scope::Namespace(ns.name.clone()))
            .await?
            .into_iter()
            .filter(|e| e.source == tenantry_store::EnvSource::Namespace)
            .collect();
        per_ns.push((ns.name.clone(), own));
    }
    let admin = ctx.can(Role::Admin);
    let row = |scope: &str, e: &tenantry_store::EnvEntry| {
        html! {
            tr {
                td { code { (e.name) } } td { code { (e.value) } }
                @if admin { td {
                    form.inline method="post" action="/env/delete" data-confirm=(t("Unset this env var?")) { (ctx.csrf())
                        input type="hidden" name="namespace" value=(scope); input type="hidden" name="name" value=(e.name);
                        button.link type="submit" { (t("Unset")) } }
                } }
            }
        }
    };
    Ok(page(
        ctx,
        t("Env vars"),
        html! {
            @if let Some(e) = error { (notice("error", e)) }
            h2 { (t("global")) }
            table.env { tbody { @for e in &global { (row("", e)) } } }
            @for (ns, own) in &per_ns {
                h2 { (ns.as_str()) }
                @if own.is_empty() { p.empty { (t("No env vars of its own: it uses the global ones.")) } } @else { table.env { tbody { @for e in own { (row(ns.as_str(), e)) } } } }
            }
            @if admin {
                form.card method="post" action="/env" #set-env {
                    (ctx.csrf())
                    div.grid {
                        label { (t("Scope")) select name="namespace" { option value="" { (t("global")) } @for ns in &namespaces { option value=(ns.name.as_str()) { (ns.name.as_str()) } } } }
                        label { (t("Name")) input name="name" required pattern="[A-Za-z_][A-Za-z0-9_]*"; }
                    }
                    label { (t("Value")) input name="value"; }
                    button type="submit" { (t("Set")) }
                }
            }
        },
    ))
}

async fn env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    env_page(&state, &ctx, None).await
}

async fn set_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    let result = async {
        let scope = scope_of(form.get("namespace"))?;
        actions::set_env(
            &state,
            &info,
            &caller,
            &scope,
            form.get("name"),
            form.get("value"),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to("/env").into_response()),
        Err(e @ (WebError::Field { .. } | WebError::Input { .. })) => {
            let ctx = Ctx::new(&info, caller);
            Ok(with_status(
                env_page(&state, &ctx, Some(&e.message_in(ctx.lang)))
                    .await?
                    .into_response(),
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn unset_env(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    let scope = scope_of(form.get("namespace"))?;
    actions::unset_env(&state, &info, &caller, &scope, form.get("name")).await?;
    Ok(Redirect::to("/env").into_response())
}
