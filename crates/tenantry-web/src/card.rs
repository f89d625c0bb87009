//! The client card: the client's own fields, its environments per namespace with their
//! operations, the revisions, the contacts, the run history, archive and restore.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tenantry_core::Role;
use tenantry_store::{Client, EnvStatus, RunRecord};

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, env_badge, notice, page, status_badge, took, when, with_status};
use crate::input::client_id;

/// A contact person's inputs, with `note` (a problem of one of them) shown beside it.
pub fn contact_fields(
    ctx: &Ctx,
    c: Option<&crate::input::ContactInput>,
    note: Option<&FieldNote>,
) -> Markup {
    let t = |s| ctx.t(s);
    let empty = crate::input::ContactInput::default();
    let c = c.unwrap_or(&empty);
    html! {
        div.grid {
            label { (t("Name")) input name="contact_name" value=(c.name) aria-invalid=[invalid(note, "contact_name")]; (beside(note, "contact_name")) }
            label { (t("Position")) input name="contact_role" value=(c.role.as_deref().unwrap_or("")) aria-invalid=[invalid(note, "contact_role")]; (beside(note, "contact_role")) }
            label { (t("Phones")) input name="contact_phones" value=(c.phones.join(", ")) placeholder="+7 900 000-00-00, доб. 12" aria-invalid=[invalid(note, "contact_phones")]; (beside(note, "contact_phones")) }
            label { (t("E-mails")) input name="contact_emails" value=(c.emails.join(", ")) placeholder="name@example.com" aria-invalid=[invalid(note, "contact_emails")]; (beside(note, "contact_emails")) }
            label.wide { (t("Note")) input name="contact_note" value=(c.note.as_deref().unwrap_or("")) aria-invalid=[invalid(note, "contact_note")]; (beside(note, "contact_note")) }
        }
    }
}

/// A problem of one input of a form, to show beside it.
#[derive(Debug, Clone)]
pub struct FieldNote {
    pub input: &'static str,
    pub message: String,
}

impl FieldNote {
    /// The note for `e` in `lang`, when it is about one input of a form.
    pub fn of(e: &WebError, lang: crate::i18n::Lang) -> Option<Self> {
        match e {
            WebError::Input { field, problem } => Some(Self {
                input: crate::forms::place_of(field).input,
                message: crate::forms::problem(lang, problem),
            }),
            WebError::Field { field, message, .. } => Some(Self {
                input: crate::forms::place_of(field).input,
                message: message.in_lang(lang).to_owned(),
            }),
            _ => None,
        }
    }
}

pub fn invalid(note: Option<&FieldNote>, input: &str) -> Option<&'static str> {
    note.filter(|n| n.input == input).map(|_| "true")
}

pub fn beside(note: Option<&FieldNote>, input: &str) -> Markup {
    html! {
        @if let Some(n) = note.filter(|n| n.input == input) {
            span.field-error role="alert" data-for=(input) { (n.message) }
        }
    }
}

/// A form of the card sent back with a problem: what was typed, and the problem.
#[derive(Debug, Clone)]
pub enum Returned {
    Client {
        organisation: String,
        phones: String,
        emails: String,
    },
    AddContact(crate::input::ContactInput),
    EditContact(i64, crate::input::ContactInput),
}

/// Phones for people, in the page's language.
pub fn phones_text(ctx: &Ctx, phones: &[tenantry_core::Phone]) -> String {
    let ext = ctx.t("ext.");
    phones
        .iter()
        .map(|p| p.pretty(ext))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn client_card(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let id = client_id(&id)?;
    let ctx = Ctx::new(&info, caller);
    let c = state.catalog.client(id).await?;
    card(&state, &ctx, &c, None, None).await
}

pub async fn card(
    state: &AppState,
    ctx: &Ctx,
    c: &Client,
    error: Option<&WebError>,
    returned: Option<&Returned>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let note = error.and_then(|e| FieldNote::of(e, ctx.lang));
    let note_for = |r: fn(&Returned) -> bool| note.as_ref().filter(|_| returned.is_some_and(r));
    let client_note = note_for(|r| matches!(r, Returned::Client { .. }));
    let add_note = note_for(|r| matches!(r, Returned::AddContact(_)));
    let (org, phones, emails) = match returned {
        Some(Returned::Client {
            organisation,
            phones,
            emails,
        }) => (organisation.clone(), phones.clone(), emails.clone()),
        _ => (
            c.name.as_str().to_owned(),
            c.phones
                .iter()
                .map(|p| p.pretty(ctx.t("ext.")))
                .collect::<Vec<_>>()
                .join("\n"),
            c.emails
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    let namespaces = state.catalog.namespaces().await?;
    let latest = state.catalog.latest_runs(&[c.id]).await?;
    let history = state.catalog.runs(Some(c.id), 20).await?;
    let mut envs = Vec::with_capacity(namespaces.len());
    for ns in &namespaces {
        envs.push(crate::lifecycle::EnvView::load(state, c.id, ns.name.as_str()).await?);
    }
    let operator = ctx.can(Role::Operator) && !c.archived;
    let body = html! {
        @if let Some(e) = error { (notice("error", &e.message_in(ctx.lang))) }
        section.card {
            @if operator {
                form method="post" action={"/clients/" (c.id)} #client-details {
                    (ctx.csrf())
                    label { (t("Organisation")) input name="organisation" value=(org) required maxlength="300" aria-invalid=[invalid(client_note, "organisation")]; (beside(client_note, "organisation")) }
                    div.grid {
                        label { (t("Phones")) textarea name="phones" rows="2" aria-invalid=[invalid(client_note, "phones")] { (phones) } (beside(client_note, "phones")) }
                        label { (t("E-mails")) textarea name="emails" rows="2" aria-invalid=[invalid(client_note, "emails")] { (emails) } (beside(client_note, "emails")) }
                    }
                    button type="submit" { (t("Save")) }
                }
            } @else {
                dl {
                    dt { (t("Organisation")) } dd { (c.name.as_str()) }
                    dt { (t("Phones")) } dd { (phones_text(ctx, &c.phones)) }
                    dt { (t("E-mails")) } dd { (c.emails.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
                }
            }
        }
        h2 { (t("Namespaces")) }
        div.panels {
            @for (ns, env) in namespaces.iter().zip(&envs) {
                @let last = latest.iter().find(|r| r.namespace == ns.name.as_str());
                section.panel data-namespace=(ns.name.as_str()) {
                    h3 { (ns.name.as_str()) " " (env_badge(ctx.lang, EnvStatus::of(last, env.state.as_ref()))) }
                    p {
                        @match last {
                            Some(r) => { (status_badge(ctx.lang, r.status.as_str())) " " a href={"/runs/" (r.id)} { (t("Run")) " " (r.id) } " · " (when(&r.started_at)) },
                            None => (status_badge(ctx.lang, "none")),
                        }
                    }
                    @if let Some(r) = last.filter(|r| r.reason.is_some()) { p.reason { (first_line(&reason_in(ctx, r))) } }
                    @if operator {
                        form method="post" action={"/clients/" (c.id) "/deploy"} data-confirm=(t("Deploy this client now?")) {
                            (ctx.csrf())
                            input type="hidden" name="namespace" value=(ns.name.as_str());
                            button type="submit" { (if last.is_some() { t("Redeploy") } else { t("Deploy") }) }
                        }
                        (crate::lifecycle::panel(ctx, c.id, ns.name.as_str(), env))
                    }
                }
            }
        }
        h2 { (t("Contact persons")) }
        @if c.contacts.is_empty() { p.empty { (t("No contacts yet.")) } }
        @for k in &c.contacts {
            @let edited = match returned { Some(Returned::EditContact(id, input)) if *id == k.id => Some(input), _ => None };
            section.contact.card data-contact=(k.id) {
                @if operator {
                    form method="post" action={"/clients/" (c.id) "/contacts/" (k.id)} {
                        (ctx.csrf())
                        (contact_fields(ctx, Some(edited.cloned().unwrap_or_else(|| crate::input::ContactInput {
                            name: k.name.to_string(),
                            role: k.role.clone(),
                            note: k.note.clone(),
                            phones: k.phones.iter().map(|p| p.pretty(t("ext."))).collect(),
                            emails: k.emails.iter().map(|p| p.as_str().to_owned()).collect(),
                        })).as_ref(), note.as_ref().filter(|_| edited.is_some())))
                        // Save and Remove side by side; Remove submits its own form.
                        div.actions {
                            button type="submit" { (t("Save")) }
                            button.danger type="submit" form={"remove-contact-" (k.id)} { (t("Remove")) }
                        }
                    }
                    form id={"remove-contact-" (k.id)} method="post" action={"/clients/" (c.id) "/contacts/" (k.id) "/delete"} data-confirm=(t("Remove this contact person?")) {
                        (ctx.csrf())
                    }
                } @else {
                    p { b { (k.name.as_str()) } @if let Some(r) = &k.role { ", " (r) } }
                    p { (phones_text(ctx, &k.phones)) " " (k.emails.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
                    @if let Some(n) = &k.note { p.muted { (n) } }
                }
            }
        }
        @if operator {
            details.card open[matches!(returned, Some(Returned::AddContact(_)))] {
                summary { (t("Add a contact person")) }
                form method="post" action={"/clients/" (c.id) "/contacts"} #add-contact {
                    (ctx.csrf())
                    (contact_fields(ctx, match returned { Some(Returned::AddContact(input)) => Some(input), _ => None }, add_note))
                    button type="submit" { (t("Add")) }
                }
            }
        }
        h2 { (t("Run history")) }
        (runs_table(ctx, &history, false))
        @if ctx.can(Role::Operator) {
            section.card #archive {
                @if c.archived {
                    p { (t("This client is archived: it cannot be changed or deployed until it is restored.")) }
                    form method="post" action={"/clients/" (c.id) "/restore"} {
                        (ctx.csrf())
                        button type="submit" { (t("Restore")) }
                    }
                } @else {
                    p.hint { (t("Archiving hides the client from the lists and stops changes; decommission its environments first.")) }
                    form method="post" action={"/clients/" (c.id) "/archive"} data-confirm=(t("Archive this client?")) {
                        (ctx.csrf())
                        button.danger type="submit" { (t("Archive")) }
                    }
                }
            }
        }
    };
    Ok(page(ctx, &format!("{} · {}", c.id, c.name.as_str()), body))
}

/// The client card again, showing what was wrong with the form, with the error's status.
pub async fn card_with_error(
    state: &AppState,
    info: &RequestInfo,
    caller: Caller,
    c: &Client,
    e: &WebError,
    returned: Returned,
) -> Result<Response, WebError> {
    let ctx = Ctx::new(info, caller);
    let page = card(state, &ctx, c, Some(e), Some(&returned)).await?;
    Ok(with_status(page.into_response(), e))
}

/// A run's reason in the page's language (the framing; the cluster's words as they are).
fn reason_in(ctx: &Ctx, r: &RunRecord) -> String {
    let steps = r.report.as_array().cloned().unwrap_or_default();
    crate::reports::run_reason(ctx.lang, r.reason.as_deref().unwrap_or(""), &steps)
}

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

pub fn runs_table(ctx: &Ctx, runs: &[RunRecord], with_client: bool) -> Markup {
    let t = |s| ctx.t(s);
    html! {
        @if runs.is_empty() { p.empty { (t("No runs yet.")) } } @else {
            table.runs {
                thead { tr {
                    th { (t("Run")) }
                    @if with_client { th { (t("Client")) } }
                    th { (t("Namespace")) } th { (t("Status")) } th { (t("Started")) } th { (t("Finished")) } th { (t("Reason")) }
                } }
                tbody {
                    @for r in runs {
                        tr {
                            td { a href={"/runs/" (r.id)} { (r.id) } }
                            @if with_client { td { a href={"/clients/" (r.client)} { (r.client) } } }
                            td { (r.namespace) }
                            td { (status_badge(ctx.lang, r.status.as_str())) }
                            td { (when(&r.started_at)) }
                            td { @if let Some(f) = &r.finished_at { (when(f)) " · " (took(ctx.lang, &r.started_at, f).unwrap_or_default()) } }
                            td.reason { (first_line(&reason_in(ctx, r))) }
                        }
                    }
                }
            }
        }
    }
}
