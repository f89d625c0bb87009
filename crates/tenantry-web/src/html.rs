//! The page frame and small pieces every page uses (maud, escaped by construction).

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use tenantry_core::Role;

use crate::caller::{Caller, RequestInfo};
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
                    a.brand href="/fleet" { "tenantry" }
                    nav {
                        a href="/fleet" { (t("Fleet")) }
                        a href="/clients" { (t("Clients")) }
                        a href="/runs" { (t("Runs")) }
                        a href="/rollouts" { (t("Rollouts")) }
                        a href="/namespaces" { (t("Namespaces")) }
                        a href="/env" { (t("Env vars")) }
                        a href="/templates" { (t("Templates")) }
                        @if ctx.can(Role::Admin) {
                            a href="/audit" { (t("Audit log")) }
                            a href="/users" { (t("Users")) }
                            a href="/tokens" { (t("API tokens")) }
                            a href="/webhooks" { (t("Webhooks")) }
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

/// The title of an error page: the status's name in `lang`.
pub fn status_title(lang: Lang, status: StatusCode) -> &'static str {
    lang.t(match status {
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::UNAUTHORIZED => "Not logged in",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::CONFLICT => "Conflict",
        StatusCode::MISDIRECTED_REQUEST => "Wrong address",
        StatusCode::UNPROCESSABLE_ENTITY => "Cannot be done",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
        _ => "Server error",
    })
}

/// An error as a page: with the navigation when someone is logged in, and a link to
/// the run that stands in the way when one does.
pub fn error_page(
    lang: Lang,
    status: StatusCode,
    message: &str,
    caller: Option<&Caller>,
    run: Option<i64>,
) -> Markup {
    let title = status_title(lang, status);
    let body = html! {
        p.error role="alert" { (message) }
        @if let Some(run) = run {
            p { a.button href={"/runs/" (run)} { (lang.t("Open the running run")) " #" (run) } }
        }
        p { a href="/clients" { (lang.t("Clients")) } }
    };
    match caller {
        Some(c) => page(
            &Ctx {
                lang,
                caller: c.clone(),
            },
            title,
            body,
        ),
        None => bare_page(lang, title, body),
    }
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

/// A line diff of `old` and `new` side by side, old on the left, in hunks with three
/// lines of context, each line with its number.
pub fn diff_side_by_side(old: &str, new: &str, old_label: &str, new_label: &str) -> Markup {
    let d = similar::TextDiff::from_lines(old, new);
    let (ol, nl) = (d.old_slices(), d.new_slices());
    let line = |s: &str| s.trim_end_matches(['\n', '\r']).to_owned();
    type Side = Option<(usize, String, &'static str)>;
    let mut rows: Vec<Vec<(Side, Side)>> = Vec::new();
    for group in d.grouped_ops(3) {
        let mut hunk = Vec::new();
        for op in group {
            let (tag, o, n) = op.as_tag_tuple();
            let len = o.len().max(n.len());
            for k in 0..len {
                let (oc, nc) = match tag {
                    similar::DiffTag::Equal => ("eq", "eq"),
                    _ => ("del", "ins"),
                };
                let left = (k < o.len()).then(|| (o.start + k + 1, line(ol[o.start + k]), oc));
                let right = (k < n.len()).then(|| (n.start + k + 1, line(nl[n.start + k]), nc));
                hunk.push((left, right));
            }
        }
        rows.push(hunk);
    }
    html! {
        table.diff2 {
            thead { tr { th colspan="2" { (old_label) } th colspan="2" { (new_label) } } }
            @for (i, hunk) in rows.iter().enumerate() {
                tbody {
                    @if i > 0 { tr.hunk { td colspan="4" { "…" } } }
                    @for (left, right) in hunk {
                        tr { @for side in [left, right] {
                            @match side {
                                Some((n, text, class)) => { td.num { (n) } td class=(class) { (text) } }
                                None => { td.num {} td.none {} }
                            }
                        } }
                    }
                }
            }
        }
    }
}

/// A stored time (RFC 3339, often with nanoseconds) for people: to the second, in UTC
/// here, and in the reader's own time zone once the page's script has run.
pub fn when(iso: &str) -> Markup {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(iso, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            let shown = format!(
                "{} {:02}:{:02}:{:02} UTC",
                t.date(),
                t.hour(),
                t.minute(),
                t.second()
            );
            html! { time datetime=(iso) title=(shown) { (shown) } }
        }
        Err(_) => html! { (iso) },
    }
}

/// How long from `start` to `end` (both RFC 3339), for people: "850 ms", "3.2 s",
/// "2 min 5 s", "1 h 4 min".
pub fn took(lang: Lang, start: &str, end: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let (a, b) = (
        time::OffsetDateTime::parse(start, &Rfc3339).ok()?,
        time::OffsetDateTime::parse(end, &Rfc3339).ok()?,
    );
    let ms = u64::try_from((b - a).whole_milliseconds()).ok()?;
    Some(human_duration(lang, ms))
}

/// Milliseconds for people.
pub fn human_duration(lang: Lang, ms: u64) -> String {
    let s = ms / 1000;
    let (h, min, sec) = match lang {
        Lang::En => ("h", "min", "s"),
        Lang::Ru => ("ч", "мин", "с"),
    };
    match s {
        0..60 => millis(lang, ms),
        60..3600 => format!("{} {min} {} {sec}", s / 60, s % 60),
        _ => format!("{} {h} {} {min}", s / 3600, s % 3600 / 60),
    }
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn millis(lang: Lang, ms: u64) -> String {
    match (lang, ms < 1000) {
        (Lang::En, true) => format!("{ms} ms"),
        (Lang::Ru, true) => format!("{ms} мс"),
        (Lang::En, false) => format!("{:.1} s", ms as f64 / 1000.0),
        (Lang::Ru, false) => format!("{:.1} с", ms as f64 / 1000.0).replace('.', ","),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_second_and_durations_in_words() {
        let m = when("2026-11-30T14:00:05.123456789Z").into_string();
        assert!(m.contains(">2026-11-30 14:00:05 UTC</time>"), "{m}");
        assert!(
            m.contains("datetime=\"2026-11-30T14:00:05.123456789Z\""),
            "{m}"
        );
        assert_eq!(when("not a time").into_string(), "not a time");
        assert_eq!(
            took(Lang::En, "2026-11-30T14:00:05.5Z", "2026-11-30T14:02:10.5Z").as_deref(),
            Some("2 min 5 s")
        );
        assert_eq!(human_duration(Lang::En, 850), "850 ms");
        assert_eq!(human_duration(Lang::En, 3_200), "3.2 s");
        assert_eq!(human_duration(Lang::Ru, 3_200), "3,2 с");
        assert_eq!(human_duration(Lang::En, 3_840_000), "1 h 4 min");
        assert_eq!(human_duration(Lang::Ru, 125_000), "2 мин 5 с");
    }
}
