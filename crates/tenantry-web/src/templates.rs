//! Request templates in the UI: the list; the editor, which checks before it saves
//! (unknown macros with the closest known name, the order among the other templates,
//! bodies that are no objects; saved anyway only when asked), previews the unsaved text
//! for a chosen client and keeps a comment in the history; the history with each
//! version's changes beside the version before it, and restore.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_core::Role;
use tenantry_core::template::{Template, TemplateName};
use tenantry_core::template_check::Found;

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, diff_side_by_side, notice, page, when, with_status};
use crate::input::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/templates", get(templates))
        .route("/templates/{name}", get(template).post(save_template))
        .route("/templates/{name}/restore", post(restore_template))
}

pub fn template_name(s: &str) -> Result<TemplateName, WebError> {
    TemplateName::parse(s).map_err(|e| WebError::not_found(e.to_string()))
}

async fn templates(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let list = state.catalog.templates().await?;
    Ok(page(
        &ctx,
        t("Templates"),
        html! {
            table #templates {
                thead { tr { th { (t("Name")) } th { (t("Method")) } th { (t("Path")) } th { (t("Waits for")) } th { (t("After")) } th { (t("Enabled")) } th { (t("Version")) } } }
                tbody { @for s in &list { tr {
                    td { a href={"/templates/" (s.template.name.as_str())} { (s.template.name.as_str()) } }
                    td { (s.template.method.as_str()) }
                    td { code { (s.template.path) } }
                    td { (serde_json::to_value(s.template.wait).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                    td { (s.template.after.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { (if s.template.enabled { "✓" } else { "—" }) }
                    td { (s.version) }
                } } }
            }
        },
    ))
}

/// The client and namespace a preview is rendered for.
#[derive(Debug, Default, Deserialize)]
struct PreviewFor {
    client: Option<String>,
    namespace: Option<String>,
}

/// What the editor shows besides the stored template.
#[derive(Default)]
struct Editor<'a> {
    /// Unsaved text, kept as typed.
    text: Option<&'a str>,
    note: &'a str,
    for_: PreviewFor,
    /// Problems a save was refused for; the form then offers to save anyway.
    problems: Vec<Found>,
    msg: Option<(&'static str, String)>,
}

/// The request `text` would send for the chosen client, masked; or why it cannot.
async fn preview(
    state: &AppState,
    ctx: &Ctx,
    name: &TemplateName,
    text: &str,
    for_: &PreviewFor,
) -> Option<Result<String, String>> {
    let (Some(c), Some(ns)) = (
        for_.client
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty()),
        for_.namespace.as_deref().filter(|n| !n.is_empty()),
    ) else {
        return None;
    };
    let id = match tenantry_core::ClientId::parse(c) {
        Ok(id) => id,
        Err(e) => return Some(Err(e.to_string())),
    };
    let draft = match Template::parse(text) {
        Ok(d) if &d.name == name => d,
        Ok(_) => return Some(Err(ctx.t("The template's name cannot change here.").into())),
        Err(e) => return Some(Err(e.to_string())),
    };
    // A preview changes nothing: values not generated yet are placeholders.
    Some(
        match tenantry_engine::render_draft(&state.catalog, id, ns, &draft).await {
            Ok(Some(r)) => Ok(format!(
                "{} {}\n\n{}",
                r.method.as_str(),
                r.url,
                r.body
                    .map(|b| serde_json::to_string_pretty(&b).unwrap_or_default())
                    .unwrap_or_default()
            )),
            Ok(None) => Err(ctx
                .t("This template is disabled, so it is not in the plan.")
                .into()),
            Err(e) => Err(e.to_string()),
        },
    )
}

async fn template_page(
    state: &AppState,
    ctx: &Ctx,
    name: &TemplateName,
    ed: Editor<'_>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let stored = state.catalog.template(name).await?;
    let current = stored.template.to_file();
    let text = ed.text.unwrap_or(&current);
    let macros: Vec<String> = Template::parse(text)
        .map(|t| t.macros_used().into_iter().collect())
        .unwrap_or_default();
    let history = state.catalog.template_history(name).await?;
    let namespaces = state.catalog.namespaces().await?;
    let preview = preview(state, ctx, name, text, &ed.for_).await;
    let admin = ctx.can(Role::Admin);
    let chosen_ns = ed.for_.namespace.as_deref();
    let client_field = html! {
        div.grid {
            label { (t("Client")) input name="client" value=(ed.for_.client.as_deref().unwrap_or("")) placeholder="C1"; }
            label { (t("Namespace")) select name="namespace" { @for ns in &namespaces { option value=(ns.name.as_str()) selected[chosen_ns == Some(ns.name.as_str())] { (ns.name.as_str()) } } } }
        }
    };
    Ok(page(
        ctx,
        &format!("{} · {}", t("Template"), name.as_str()),
        html! {
            @if let Some((kind, text)) = &ed.msg { (notice(kind, text)) }
            section.card {
                h2 { (t("Editor")) }
                @if admin {
                    form method="post" action={"/templates/" (name.as_str())} #template-editor {
                        (ctx.csrf())
                        textarea.code name="content" rows="30" spellcheck="false" { (text) }
                        @if !ed.problems.is_empty() {
                            ul.problems role="alert" { @for f in &ed.problems { li { (crate::messages::template_problem(ctx.lang, &f.problem)) } } }
                            label.check { input type="checkbox" name="force" value="on"; " " (t("Save anyway, with these problems")) }
                        }
                        label { (t("Comment")) input name="note" value=(ed.note) maxlength="500" placeholder=(t("What changed and why")); }
                        (client_field)
                        div.actions {
                            button type="submit" name="action" value="save" { (t("Save")) }
                            button.secondary type="submit" name="action" value="preview" { (t("Preview")) }
                        }
                    }
                } @else {
                    textarea.code rows="30" spellcheck="false" readonly { (text) }
                }
                p { (t("Macros used")) ": " @for m in &macros { code { "{{" (m) "}}" } " " } }
            }
            section.card #preview {
                h2 { (t("Preview")) }
                @if !admin {
                    form method="get" action={"/templates/" (name.as_str())} {
                        (client_field)
                        button type="submit" { (t("Preview")) }
                    }
                }
                @match &preview {
                    Some(Ok(p)) => pre.preview { (p) },
                    Some(Err(e)) => pre.error role="alert" { (e) },
                    None => p.empty { (t("Choose a client and a namespace to see the request this template sends for it.")) },
                }
            }
            section.card #history {
                h2 { (t("History")) }
                @for (i, v) in history.iter().enumerate() {
                    details data-version=(v.version) {
                        summary { (t("Version")) " " (v.version) " · " (when(&v.created_at)) " · " (v.created_by) @if !v.note.is_empty() { " · " q.note { (crate::messages::history_note(ctx.lang, &v.note)) } } }
                        @match history.get(i + 1) {
                            Some(before) => {
                                p { (t("Changes from version")) " " (before.version) }
                                (diff_side_by_side(&before.template.to_file(), &v.template.to_file(), &format!("{} {}", t("Version"), before.version), &format!("{} {}", t("Version"), v.version)))
                            }
                            None => p.empty { (t("The first version.")) },
                        }
                        @if admin && v.version != stored.version {
                            form method="post" action={"/templates/" (name.as_str()) "/restore"} data-confirm=(t("Restore this version?")) {
                                (ctx.csrf())
                                input type="hidden" name="version" value=(v.version);
                                button type="submit" { (t("Restore")) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

async fn template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<PreviewFor>,
) -> Result<Markup, WebError> {
    let name = template_name(&name)?;
    let ctx = Ctx::new(&info, caller);
    let ed = Editor {
        for_: q,
        ..Editor::default()
    };
    template_page(&state, &ctx, &name, ed).await
}

/// Saves the editor's text (when it parses, keeps its name and has no problems, or
/// the admin saves anyway), or previews it unsaved.
async fn save_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let name = template_name(&name)?;
    let text = form.get("content");
    let note = form.get("note").trim();
    let ctx = Ctx::new(&info, caller.clone());
    let ed = || Editor {
        text: Some(text),
        note,
        for_: PreviewFor {
            client: Some(form.get("client").to_owned()),
            namespace: Some(form.get("namespace").to_owned()),
        },
        ..Editor::default()
    };
    let t = match Template::parse(text) {
        Ok(t) if t.name != name => {
            let e = WebError::field("content", ctx.t("The template's name cannot change here."));
            return refused(&state, &ctx, &name, e, ed()).await;
        }
        Ok(t) => t,
        Err(e) => {
            let e = WebError::field("content", crate::messages::template_error(&e));
            return refused(&state, &ctx, &name, e, ed()).await;
        }
    };
    if form.get("action") == "preview" {
        return Ok(template_page(&state, &ctx, &name, ed())
            .await?
            .into_response());
    }
    let force = form.get("force") == "on";
    match state
        .save_template(&caller.name, &info.address, &t, note, force)
        .await
    {
        Ok(saved) => {
            let msg = format!("{} {} {}", ctx.t("Saved."), ctx.t("Version"), saved.version);
            let ed = Editor {
                msg: Some(("ok", msg)),
                ..ed()
            };
            let ed = Editor { text: None, ..ed };
            Ok(template_page(&state, &ctx, &name, ed)
                .await?
                .into_response())
        }
        Err(WebError::TemplateProblems(problems)) => {
            let e = WebError::TemplateProblems(problems.clone());
            let ed = Editor { problems, ..ed() };
            refused(&state, &ctx, &name, e, ed).await
        }
        Err(e) => refused(&state, &ctx, &name, e, ed()).await,
    }
}

/// The editor again, with what was typed, the error on top and its status.
async fn refused(
    state: &AppState,
    ctx: &Ctx,
    name: &TemplateName,
    e: WebError,
    ed: Editor<'_>,
) -> Result<Response, WebError> {
    let ed = Editor {
        msg: Some(("error", e.message_in(ctx.lang))),
        ..ed
    };
    Ok(with_status(
        template_page(state, ctx, name, ed).await?.into_response(),
        &e,
    ))
}

async fn restore_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let name = template_name(&name)?;
    let version: i64 = form
        .get("version")
        .parse()
        .map_err(|_| WebError::field("version", "not a version number"))?;
    crate::actions::restore_template(&state, &info, &caller, &name, version).await?;
    Ok(Redirect::to(&format!("/templates/{}", name.as_str())).into_response())
}
