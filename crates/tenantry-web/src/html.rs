//! The page frame and small pieces every page uses (maud, escaped by construction).

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use tenantry_core::Role;

use crate::auth::{Caller, RequestInfo};
use crate::i18n::Lang;

/// What a page needs to know about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub caller: Caller,
}

impl Ctx {
    pub fn new(info: &RequestInfo, caller: Caller) -> Self {
        Self {
            lang: info.lang,
            caller,
        }
    }

    pub fn t(&self, s: &'static str) -> &'static str {
        self.lang.t(s)
    }

    /// The hidden CSRF field every state-changing form carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="_csrf" value=(self.caller.csrf()); }
    }

    pub fn can(&self, role: Role) -> bool {
        self.caller.can(role)
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — tenantry" }
            link rel="icon" href="data:,";
            link rel="stylesheet" href="/static/style.css";
            script src="/static/app.js" defer {}
        }
    }
}

fn lang_switch(lang: Lang) -> Markup {
    html! {
        span.lang {
            @if lang == Lang::Ru { b { "RU" } } @else { a href="?lang=ru" hreflang="ru" { "RU" } }
            " · "
            @if lang == Lang::En { b { "EN" } } @else { a href="?lang=en" hreflang="en" { "EN" } }
        }
    }
}

/// A whole page: navigation for the caller's role, the title, the body.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    let t = |s| ctx.t(s);
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            (head(title))
            body {
                header {
                    a.brand href="/clients" { "tenantry" }
                    nav {
                        a href="/clients" { (t("Clients")) }
                        a href="/runs" { (t("Runs")) }
                        a href="/namespaces" { (t("Namespaces")) }
                        a href="/env" { (t("Env vars")) }
                        a href="/templates" { (t("Templates")) }
                        @if ctx.can(Role::Admin) {
                            a href="/audit" { (t("Audit log")) }
                            a href="/users" { (t("Users")) }
                            a href="/tokens" { (t("API tokens")) }
                        }
                    }
                    div.who {
                        (lang_switch(ctx.lang))
                        a.user href="/account/password" title=(t("Change my password")) { (ctx.caller.name) " (" (t(ctx.caller.role.as_str())) ")" }
                        form method="post" action="/logout" {
                            (ctx.csrf())
                            button.link type="submit" { (t("Log out")) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page for someone not logged in (login, setup, errors).
pub fn bare_page(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title))
            body.bare {
                header { a.brand href="/" { "tenantry" } div.who { (lang_switch(lang)) } }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub fn error_page(lang: Lang, status: StatusCode, message: &str) -> Markup {
    let title = match status {
        StatusCode::NOT_FOUND => lang.t("Not found"),
        StatusCode::FORBIDDEN => lang.t("Forbidden"),
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    bare_page(
        lang,
        title,
        html! {
            p.error role="alert" { (message) }
            p { a href="/clients" { (lang.t("Clients")) } }
        },
    )
}

/// A run or step status as a coloured badge, in the page's language.
pub fn status_badge(lang: Lang, status: &str) -> Markup {
    let text = match status {
        "running" => lang.t("running"),
        "succeeded" => lang.t("succeeded"),
        "failed" => lang.t("failed"),
        "interrupted" => lang.t("interrupted"),
        "pending" => lang.t("pending"),
        "done" => lang.t("done"),
        "skipped" => lang.t("skipped"),
        _ => lang.t("not deployed"),
    };
    html! { span class={"badge " (status)} data-status=(status) { (text) } }
}

/// A client environment's status in a namespace (`data-env` names it for scripts).
pub fn env_badge(lang: Lang, status: tenantry_store::EnvStatus) -> Markup {
    use tenantry_store::EnvStatus as S;
    let text = match status {
        S::NotDeployed => lang.t("not deployed"),
        S::Deploying => lang.t("deploying"),
        S::Healthy => lang.t("healthy"),
        S::Failed => lang.t("failed"),
        S::Suspended => lang.t("suspended"),
        S::Decommissioning => lang.t("decommissioning"),
        S::Decommissioned => lang.t("decommissioned"),
    };
    html! { span class={"badge env " (status.as_str())} data-env=(status.as_str()) { (text) } }
}

/// A line diff of `old` and `new` as hunks (three lines of context), old first: `-`
/// lines removed, `+` lines added.
pub fn diff_hunks(old: &str, new: &str) -> Markup {
    let d = similar::TextDiff::from_lines(old, new);
    html! {
        pre.diff { @for (i, group) in d.grouped_ops(3).iter().enumerate() {
            @if i > 0 { span.hunk { "…\n" } }
            @for op in group { @for change in d.iter_changes(op) {
                @let (class, sign) = match change.tag() {
                    similar::ChangeTag::Delete => ("del", "-"),
                    similar::ChangeTag::Insert => ("ins", "+"),
                    similar::ChangeTag::Equal => ("eq", " "),
                };
                span class=(class) { (sign) (change.value()) @if change.missing_newline() { "\n" } }
            } }
        } }
    }
}

pub fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A notice shown above a page's body (after a save, or a form's error).
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { p class=(kind) role=(if kind == "error" { "alert" } else { "status" }) { (text) } }
}

/// A page answered with the status of the error it shows.
pub fn with_status(
    mut r: axum::response::Response,
    e: &crate::WebError,
) -> axum::response::Response {
    *r.status_mut() = e.status();
    r
}
