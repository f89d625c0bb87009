//! A namespace's page: its settings, and its parameters — every known parameter with
//! its description and kind in the page's language, edited in place per row; a new one
//! only after the admin confirms it is not a typo of a known one; the audit log keeps
//! the old value beside the new (masked for secrets).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tenantry_core::{ParamKind, Role};
use tenantry_store::{ParamEntry, Scope, StoredValue};

use crate::AppState;
use crate::actions;
use crate::actions::{NamespacePatch, ns_name};
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, notice, page, with_status};
use crate::i18n::Lang;
use crate::input::FormData;

/// A value as the table shows it.
pub fn show_value(v: Option<&StoredValue>, reveal: bool) -> String {
    match v {
        None => String::new(),
        Some(StoredValue::Plain(s)) => s.clone(),
        Some(StoredValue::Secret(s)) if reveal => s.expose_secret().to_owned(),
        Some(StoredValue::Secret(_)) => tenantry_core::secret::MASK.to_owned(),
    }
}

/// What a parameter's kind means, in `lang`.
fn kind_text(lang: Lang, k: ParamKind) -> String {
    match (lang, k) {
        (Lang::En, ParamKind::Generated(g)) => format!("generated per client ({g})"),
        (Lang::Ru, ParamKind::Generated(g)) => format!("создаётся для клиента ({g})"),
        (_, ParamKind::Plain) => lang.t("value").to_owned(),
        (_, ParamKind::Secret) => lang.t("secret").to_owned(),
        (_, ParamKind::Builtin) => lang.t("set by tenantry").to_owned(),
    }
}

/// The description of a default parameter in Russian; others keep what was typed.
fn description(lang: Lang, name: &str, typed: &str) -> String {
    if lang == Lang::En {
        return typed.to_owned();
    }
    match name {
        "api-root-url" => "Корневой URL API кластера (из пространства)",
        "namespace-id" => {
            "Пространство имён Kubernetes, в котором разворачивается окружение (из пространства)"
        }
        "client-id" => "Идентификатор окружения клиента, система выдаёт его в виде C<N>",
        "organisation-name" => "Название организации клиента",
        "clickhouse-host" => "Хост ClickHouse (системный доступ)",
        "clickhouse-admin-user" => "Администратор ClickHouse (системный доступ)",
        "clickhouse-admin-password" => "Пароль администратора ClickHouse (системный доступ)",
        "clickhouse-user-password" => "Пароль пользователя ClickHouse клиента",
        "postgres-host" => "Хост PostgreSQL (системный доступ)",
        "postgres-admin-user" => "Администратор PostgreSQL (системный доступ)",
        "postgres-admin-password" => "Пароль администратора PostgreSQL (системный доступ)",
        "postgres-user-password" => "Пароль пользователя PostgreSQL клиента",
        "keys-secret-seed" => "Ключ подписи токенов авторизации: 64 случайных байта в hex",
        "keys-token-ttl-hours" => "Время жизни токена доступа пользователя, часов",
        "keys-rsa-path" => "Путь к файлу закрытого ключа в поде",
        "rsa-content" => "Закрытый ключ RSA 2048 бит окружения (PEM, base64)",
        "sms4b-passcode-lifetime-seconds" => "Время жизни кода подтверждения телефона, секунд",
        "sms4b-sender" => "Имя отправителя служебных SMS",
        "sms4b-token" => "Токен API sms4b (из кабинета sms4b)",
        "public-dns" => "Публичное DNS-имя сервиса",
        "docker-image" => "Docker-образ, который запускают новые окружения",
        "nfs-server" => "NFS-сервер для статических файлов",
        _ => typed,
    }
    .to_owned()
}

/// The parameters table: values per row, edited in place by an admin; the form for a new
/// parameter below it.
pub fn section(ctx: &Ctx, ns: &str, params: &[ParamEntry], reveal: bool) -> Markup {
    let t = |s| ctx.t(s);
    let admin = ctx.can(Role::Admin);
    html! {
        table #params {
            thead { tr { th { (t("Parameter")) } th { (t("Kind")) } th { (t("global")) } th { (ns) } } }
            tbody { @for p in params {
                @let name = p.def.name.as_str();
                @let secret = p.def.kind.is_secret() || matches!(p.namespaced, Some(StoredValue::Secret(_)));
                tr data-param=(name) {
                    td { code { (name) } br; span.muted { (description(ctx.lang, name, &p.def.description)) } }
                    td { (kind_text(ctx.lang, p.def.kind)) }
                    td { code { (show_value(p.global.as_ref(), reveal && admin)) } }
                    td {
                        @if admin && p.def.kind.is_settable() {
                            form.inline.param method="post" action={"/namespaces/" (ns) "/params"} {
                                (ctx.csrf())
                                input type="hidden" name="name" value=(name);
                                @if secret {
                                    @if reveal { code.revealed { (show_value(p.namespaced.as_ref(), true)) } " " }
                                    input type="hidden" name="secret" value="1";
                                    input name="value" type="password" autocomplete="off" aria-label=(name)
                                        placeholder=(if p.namespaced.is_some() { t("•••••• (type to replace)") } else { "" });
                                } @else {
                                    input name="value" value=(show_value(p.namespaced.as_ref(), false)) aria-label=(name);
                                }
                                button type="submit" { (t("Save")) }
                                @if p.namespaced.is_some() {
                                    button.link type="submit" name="unset" value="1" data-confirm-button=(t("Unset this parameter here?")) { (t("Unset")) }
                                }
                            }
                        } @else {
                            code { (show_value(p.namespaced.as_ref(), reveal && admin)) }
                        }
                    }
                }
            } }
        }
        @if admin {
            details.card #new-param {
                summary { (t("A new parameter")) }
                form method="post" action={"/namespaces/" (ns) "/params"} #set-param {
                    (ctx.csrf())
                    div.grid {
                        label { (t("Parameter")) input name="name" list="param-names" required; }
                        label { (t("Value")) input name="value" autocomplete="off"; }
                    }
                    datalist #param-names { @for p in params.iter().filter(|p| p.def.kind.is_settable()) { option value=(p.def.name.as_str()) { (description(ctx.lang, p.def.name.as_str(), &p.def.description)) } } }
                    label.check { input type="checkbox" name="secret" value="1"; " " (t("Secret")) }
                    button type="submit" { (t("Set")) }
                }
            }
        }
    }
}

/// The confirmation asked before a parameter no one defined is created.
fn confirm_new(ctx: &Ctx, ns: &str, form: &FormData, suggestion: Option<&str>) -> Markup {
    let t = |s| ctx.t(s);
    let name = form.get("name").trim();
    html! {
        section.card #confirm-new-param role="alertdialog" {
            p { (t("There is no parameter")) " " code { (name) } "." @if let Some(s) = suggestion { " " (t("Did you mean")) " " code { (s) } "?" } }
            p.hint { (t("A new parameter is only used once a template or an env var names it.")) }
            div.actions {
                form method="post" action={"/namespaces/" (ns) "/params"} {
                    (ctx.csrf())
                    @for (k, v) in form.0.iter().filter(|(k, _)| k != "_csrf" && k != "create") {
                        input type="hidden" name=(k) value=(v);
                    }
                    input type="hidden" name="create" value="1";
                    button type="submit" { (t("Create it")) }
                }
                @if let Some(s) = suggestion {
                    form method="post" action={"/namespaces/" (ns) "/params"} {
                        (ctx.csrf())
                        @for (k, v) in form.0.iter().filter(|(k, _)| k != "_csrf" && k != "name") {
                            input type="hidden" name=(k) value=(v);
                        }
                        input type="hidden" name="name" value=(s);
                        button.secondary type="submit" { (t("Set")) " " (s) }
                    }
                }
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/namespaces/{name}", get(namespace).post(update_namespace))
        .route("/namespaces/{name}/params", post(set_param))
}

#[derive(Debug, Deserialize)]
struct RevealQuery {
    reveal: Option<String>,
    /// The parameter just saved, to say so.
    saved: Option<String>,
}

pub async fn namespace_page(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    reveal: bool,
    msg: Option<(&str, &str)>,
    extra: Option<Markup>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let ns = state.catalog.namespace(name).await?;
    let params = state
        .catalog
        .params(&Scope::Namespace(ns.name.clone()))
        .await?;
    let admin = ctx.can(Role::Admin);
    Ok(page(
        ctx,
        &format!("{} · {}", t("Namespace"), ns.name.as_str()),
        html! {
            @if let Some((kind, text)) = msg { (notice(kind, text)) }
            @if let Some(extra) = extra { (extra) }
            @if ctx.can(Role::Operator) {
                p { a #adopt-link href={"/namespaces/" (ns.name.as_str()) "/adopt"} { (t("Adopt environments built by hand")) } }
            }
            section.card {
                h2 { (t("Settings")) }
                @if admin {
                    form method="post" action={"/namespaces/" (ns.name.as_str())} #namespace-settings {
                        (ctx.csrf())
                        div.grid {
                            label { (t("Kubernetes namespace")) input name="k8s_namespace" value=(ns.k8s_namespace.as_str()) required; }
                            label { (t("Cluster API URL")) input name="api_root_url" value=(ns.api_root_url.as_str()) required; }
                        }
                        label { (t("Token")) " " span.muted { (tenantry_core::secret::MASK) }
                            input name="token" type="password" autocomplete="off" placeholder=(t("Leave empty to keep the current token")); }
                        label { (t("CA certificate (PEM)")) textarea name="ca_bundle" rows="4" { (ns.ca_bundle.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default()) } }
                        label { input type="checkbox" name="self_heal" value="on" checked[ns.self_heal]; " " (t("Self-heal: correct drift by a deploy (at most once per 5 minutes per environment, audited)")) }
                        button type="submit" { (t("Save")) }
                    }
                } @else {
                    dl {
                        dt { (t("Kubernetes namespace")) } dd { (ns.k8s_namespace.as_str()) }
                        dt { (t("Cluster API URL")) } dd { code { (ns.api_root_url.as_str()) } }
                        dt { (t("Token")) } dd { (tenantry_core::secret::MASK) }
                        dt { (t("CA certificate (PEM)")) } dd { (if ns.ca_bundle.is_some() { "PEM" } else { t("none: the system's trusted CAs") }) }
                        dt { (t("Self-heal")) } dd { (if ns.self_heal { t("on") } else { t("off") }) }
                    }
                }
            }
            h2 { (t("Parameters")) }
            @if admin {
                p { @if reveal { a href={"/namespaces/" (ns.name.as_str())} { (t("Hide secrets")) } } @else { a href={"/namespaces/" (ns.name.as_str()) "?reveal=1"} { (t("Reveal secrets")) } } }
            }
            (crate::params::section(ctx, ns.name.as_str(), &params, reveal))
        },
    ))
}

async fn namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<RevealQuery>,
) -> Result<Markup, WebError> {
    let reveal = q.reveal.is_some();
    if reveal {
        caller.require(Role::Admin)?;
        state
            .audit(
                &caller.name,
                &info.address,
                "reveal secrets",
                &name,
                "namespace parameters",
            )
            .await;
    }
    let ctx = Ctx::new(&info, caller);
    let saved = q.saved.map(|p| format!("{} {p}", ctx.t("Saved:")));
    namespace_page(
        &state,
        &ctx,
        &name,
        reveal,
        saved.as_deref().map(|m| ("ok", m)),
        None,
    )
    .await
}

async fn update_namespace(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let patch = NamespacePatch {
        k8s_namespace: Some(form.get("k8s_namespace").to_owned()),
        api_root_url: Some(form.get("api_root_url").to_owned()),
        token: Some(form.get("token").to_owned()),
        ca_bundle: Some(form.get("ca_bundle").to_owned()),
        self_heal: Some(form.get("self_heal") == "on"),
    };
    let ctx = Ctx::new(&info, caller.clone());
    match actions::update_namespace(&state, &info, &caller, &name, &patch).await {
        Ok(_) => Ok(namespace_page(
            &state,
            &ctx,
            &name,
            false,
            Some(("ok", ctx.t("Saved."))),
            None,
        )
        .await?
        .into_response()),
        Err(e @ (WebError::Forbidden(_) | WebError::NotFound(_) | WebError::Internal(_))) => Err(e),
        Err(e) => Ok(with_status(
            namespace_page(
                &state,
                &ctx,
                &name,
                false,
                Some(("error", &e.message_in(ctx.lang))),
                None,
            )
            .await?
            .into_response(),
            &e,
        )),
    }
}

pub async fn set_param(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let ctx = Ctx::new(&info, caller.clone());
    let scope = Scope::Namespace(ns_name("namespace", &name)?);
    let param = form.get("name");
    let result = if form.get("unset") == "1" {
        actions::unset_param(&state, &info, &caller, &scope, param).await
    } else {
        actions::set_param(
            &state,
            &info,
            &caller,
            &scope,
            param,
            form.get("value"),
            form.get("secret") == "1",
            form.get("create") == "1",
        )
        .await
        .map(|_| ())
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/namespaces/{name}?saved={}",
            crate::html::urlencode(param.trim())
        ))
        .into_response()),
        Err(WebError::UnknownParam { suggestion, .. }) => {
            let confirm = confirm_new(&ctx, &name, &form, suggestion.as_deref());
            Ok(
                namespace_page(&state, &ctx, &name, false, None, Some(confirm))
                    .await?
                    .into_response(),
            )
        }
        Err(e @ (WebError::Field { .. } | WebError::Input { .. } | WebError::Unprocessable(_))) => {
            let msg = e.message_in(ctx.lang);
            Ok(with_status(
                namespace_page(&state, &ctx, &name, false, Some(("error", &msg)), None)
                    .await?
                    .into_response(),
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}
