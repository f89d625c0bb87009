//! Adopting the environments built by hand in a namespace (see `tenantry_engine::adopt`):
//! the action the page and the API share (operator; audited; the fleet told), and the
//! page — what was found, the values read (where, never what), what a first deploy
//! would change, and a form to adopt them, with the organisations of new clients.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;
use tenantry_core::Role;
use tenantry_engine::adopt::{AdoptOptions, AdoptReport, AdoptStatus, EnvAdoption, Why};

use crate::AppState;
use crate::actions::ns_name;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, page};
use crate::i18n::Lang;
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new().route("/namespaces/{name}/adopt", get(show).post(adopt))
}

/// Runs an adoption for `caller` (an operator): a dry run changes nothing; a real one
/// is audited and the fleet re-reads the catalog.
pub(crate) async fn run_adoption(
    state: &AppState,
    caller: &Caller,
    info: &RequestInfo,
    ns: &str,
    opts: &AdoptOptions,
) -> Result<AdoptReport, WebError> {
    caller.require(Role::Operator)?;
    let ns = ns_name("namespace", ns)?;
    let report =
        tenantry_engine::adopt::adopt(&state.catalog, ns.as_str(), opts, &state.config.deploy)
            .await?;
    if !opts.dry_run {
        let list = |s: AdoptStatus| {
            report
                .environments
                .iter()
                .filter(|e| e.status == s)
                .map(|e| e.client.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let detail = format!(
            "adopted: {}; failed: {}",
            list(AdoptStatus::Adopted),
            list(AdoptStatus::Failed)
        );
        state
            .audit(&caller.name, &info.address, "adopt", ns.as_str(), &detail)
            .await;
        state.fleet().nudge();
    }
    Ok(report)
}

/// The organisations typed for new clients: `org_C42` fields.
fn names_from(
    form: &FormData,
) -> Result<BTreeMap<tenantry_core::ClientId, tenantry_core::OrgName>, WebError> {
    let mut out = BTreeMap::new();
    for (k, v) in &form.0 {
        let Some(id) = k.strip_prefix("org_") else {
            continue;
        };
        if v.trim().is_empty() {
            continue;
        }
        let id = crate::input::client_id(id)?;
        out.insert(id, crate::input::org(k, v)?);
    }
    Ok(out)
}

async fn show(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(ns): Path<String>,
) -> Result<Markup, WebError> {
    let opts = AdoptOptions {
        dry_run: true,
        partial: true,
        ..AdoptOptions::default()
    };
    let report = run_adoption(&state, &caller, &info, &ns, &opts).await?;
    let ctx = Ctx::new(&info, caller);
    Ok(body(&ctx, &ns, &report))
}

async fn adopt(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(ns): Path<String>,
    form: FormData,
) -> Result<Markup, WebError> {
    let opts = AdoptOptions {
        dry_run: false,
        partial: form.get("partial") == "on",
        names: names_from(&form)?,
    };
    let report = run_adoption(&state, &caller, &info, &ns, &opts).await?;
    let ctx = Ctx::new(&info, caller);
    Ok(body(&ctx, &ns, &report))
}

/// What became of an environment, in `lang`.
fn status_text(lang: Lang, e: &EnvAdoption, dry_run: bool) -> String {
    let t = |s| lang.t(s);
    match (e.status, dry_run) {
        (AdoptStatus::Adopted, _) => format!(
            "{} {}, {} {}",
            t("adopted in run"),
            e.run.unwrap_or_default(),
            t("as revision"),
            e.revision.unwrap_or_default()
        ),
        // The page's survey includes incomplete ones; they need the box ticked.
        (AdoptStatus::WouldAdopt, _) if !e.missing.is_empty() => t("incomplete").to_owned(),
        (AdoptStatus::WouldAdopt, _) => t("can be adopted").to_owned(),
        (AdoptStatus::AlreadyManaged, _) => t("already managed").to_owned(),
        (AdoptStatus::Incomplete, _) => t("incomplete").to_owned(),
        (AdoptStatus::Skipped, _) => t("not adopted").to_owned(),
        (AdoptStatus::Failed, _) => t("failed").to_owned(),
    }
}

/// Why an environment was not adopted, in `lang` (the engine's and cluster's own words
/// kept where they are quoted).
fn why_text(lang: Lang, e: &EnvAdoption) -> Option<String> {
    let t = |s| lang.t(s);
    let missing: Vec<String> = e.missing.iter().map(ToString::to_string).collect();
    Some(match e.why.as_ref()? {
        Why::Managed => t("Tenantry manages it already.").to_owned(),
        Why::Incomplete => format!(
            "{} {}",
            t("Missing; adopt it with “also incomplete ones”, and a deploy then creates them:"),
            missing.join(", ")
        ),
        Why::DeployedBefore => t("Tenantry deployed it before, yet its objects are not labelled as tenantry's: deploy it instead.").to_owned(),
        Why::Archived => t("The client is archived: restore it first.").to_owned(),
        Why::DoesNotRender(text) => format!("{} {text}", t("Its plan does not render:")),
        Why::SecretsDiffer(names) => format!(
            "{} {}",
            t("The catalog already has other values for it than its objects hold (they would lock the running environment out); rotate or forget the catalog's first:"),
            names.join(", ")
        ),
        Why::Failed(text) => format!("{} {text}", t("Adopting it failed:")),
    })
}

fn shown(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

fn environment(ctx: &Ctx, ns: &str, e: &EnvAdoption, dry_run: bool) -> Markup {
    let t = |s| ctx.t(s);
    let open = e.status == AdoptStatus::WouldAdopt;
    html! {
        section.card.adoption data-client=(e.client) data-status=(serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) {
            h3 { (e.client) " " small { "(" (t("in the cluster:")) " " (e.written) ")" } " — " (status_text(ctx.lang, e, dry_run)) }
            @if let Some(why) = why_text(ctx.lang, e) { p.notice.warn { (why) } }
            @if let (Some(run), AdoptStatus::Adopted) = (e.run, e.status) {
                p { a href={"/runs/" (run)} { (t("The run")) } " · " a href={"/clients/" (e.client) "/environments/" (ns)} { (t("The environment")) } }
            }
            @if open {
                label { (t("Organisation")) " "
                    input type="text" name={"org_" (e.client)} form="adopt-form" value=(e.organisation) maxlength="300";
                }
            } @else {
                p { (t("Organisation")) ": " (e.organisation) }
            }
            @if e.status != AdoptStatus::AlreadyManaged {
                p { (t("Objects")) ": " (e.objects.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                @if !e.missing.is_empty() {
                    p { (t("Missing")) ": " (e.missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                }
                ul.values {
                    @for v in &e.values { li { code { (v.name) } " — " (t("read from")) " " (v.from) } }
                    @for n in &e.not_found { li { code { (n) } " — " (t("not in its objects: generated at the first deploy")) } }
                    @for c in &e.conflicts { li.warn { (t("differs in two places; the running environment's value is kept:")) " " (c) } }
                }
                @if e.changes.is_empty() {
                    p.ok { (t("A first deploy would change nothing.")) }
                } @else {
                    p { (t("A first deploy would change:")) @if e.restarts_pods { " " b { (t("(its pods would restart)")) } } }
                    table.diff {
                        thead { tr { th { (t("Object")) } th { (t("Field")) } th { (t("Now")) } th { (t("After a deploy")) } } }
                        tbody {
                            @for c in &e.changes {
                                @if c.change == "create" {
                                    tr { td { (c.kind) " " (c.name) } td colspan="3" { (t("created (missing now)")) } }
                                }
                                @for f in &c.fields {
                                    tr {
                                        td { (c.kind) " " (c.name) } td { code { (f.path) } }
                                        td { (f.live.as_ref().map_or_else(|| t("(absent)").to_owned(), shown)) }
                                        td { (if f.desired.is_null() { t("(absent)").to_owned() } else { shown(&f.desired) }) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn body(ctx: &Ctx, ns: &str, r: &AdoptReport) -> Markup {
    let t = |s| ctx.t(s);
    let adoptable = r
        .environments
        .iter()
        .filter(|e| e.status == AdoptStatus::WouldAdopt)
        .count();
    let html = html! {
        p { (t("Environments built by hand with the team's templates, found by their objects' names. Adopting one stores its client, passwords, seed and RSA key in the catalog as they are, labels its objects as tenantry's (no pod restarts) and records them as revision 0; nothing is rebuilt.")) }
        @if !r.dry_run {
            p.notice #adopt-result {
                (t("Adopted")) ": " b { (r.count(AdoptStatus::Adopted)) } " · "
                (t("failed")) ": " b { (r.count(AdoptStatus::Failed)) }
            }
        }
        @if r.environments.is_empty() {
            p.empty { (t("No environment built by hand was found in this namespace.")) }
        }
        @for e in &r.environments { (environment(ctx, ns, e, r.dry_run)) }
        @if !r.unmatched.is_empty() {
            h3 { (t("Objects that matched no environment")) }
            p { (r.unmatched.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
        }
        @if r.dry_run && adoptable > 0 && ctx.can(Role::Operator) {
            form #adopt-form method="post" action={"/namespaces/" (ns) "/adopt"} {
                (ctx.csrf())
                label { input type="checkbox" name="partial"; " " (t("also incomplete ones (a deploy then creates what they lack)")) }
                " "
                button type="submit" data-confirm=(t("Adopt these environments?")) { (t("Adopt")) }
            }
        }
        p { a href={"/namespaces/" (ns)} { (t("Back to the namespace")) } }
    };
    page(
        ctx,
        &format!("{} — {ns}", t("Adopt environments built by hand")),
        html,
    )
}
