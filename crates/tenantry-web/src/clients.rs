//! The clients pages: the list, the new-client form, and what the client card's forms
//! send (the client's own fields, contacts, archive and restore, deploy).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_core::{ClientId, Role};
use tenantry_store::{Client, ClientFilter, EnvStatus};

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::card::{FieldNote, Returned, beside, card, card_with_error, contact_fields, invalid};
use crate::client_actions;
use crate::error::WebError;
use crate::html::{Ctx, env_badge, notice, page, with_status};
use crate::input::{ClientPatch, FormData, split_emails, split_phones};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(clients).post(create_client))
        .route("/clients/new", get(new_client))
        .route(
            "/clients/{id}",
            get(crate::card::client_card).post(update_client),
        )
        .route("/clients/{id}/contacts", post(add_contact))
        .route("/clients/{id}/contacts/{contact}", post(update_contact))
        .route(
            "/clients/{id}/contacts/{contact}/delete",
            post(remove_contact),
        )
        .route("/clients/{id}/deploy", post(deploy))
        .route("/clients/{id}/archive", post(archive))
        .route("/clients/{id}/restore", post(restore))
}

pub use crate::input::client_id;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<String>,
}

pub const PAGE_SIZE: i64 = 50;

async fn clients(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Markup, WebError> {
    let ctx = Ctx::new(&info, caller);
    let t = |s| ctx.t(s);
    let page_no: i64 = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let search = q.q.clone().unwrap_or_default();
    let filter = ClientFilter {
        search: Some(search.clone()),
        ..Default::default()
    };
    let (list, total) = state
        .catalog
        .list_clients_page(&filter, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
        .await?;
    let ids: Vec<ClientId> = list.iter().map(|c| c.id).collect();
    let runs = state.catalog.latest_runs(&ids).await?;
    let envs = state.catalog.environments_of(&ids).await?;
    let namespaces = state.catalog.namespaces().await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |p: i64| format!("/clients?q={}&page={p}", urlencode(&search));
    let body = html! {
        div.toolbar {
            form.search method="get" action="/clients" role="search" {
                input type="search" name="q" value=(search) placeholder=(t("Search by id, organisation, contact, phone or e-mail")) aria-label=(t("Search"));
                button type="submit" { (t("Search")) }
            }
            @if ctx.can(Role::Operator) { a.button href="/clients/new" { (t("New client")) } }
        }
        @if list.is_empty() {
            p.empty { (if search.trim().is_empty() { t("No clients yet.") } else { t("Nothing found.") }) }
        } @else {
            table #clients {
                thead { tr {
                    th { "ID" } th { (t("Organisation")) } th { (t("Contact persons")) }
                    @for ns in &namespaces { th { (ns.name.as_str()) } }
                } }
                tbody {
                    @for c in &list {
                        tr {
                            td { a href={"/clients/" (c.id)} { (c.id) } }
                            td { a href={"/clients/" (c.id)} { (c.name.as_str()) } }
                            td { (contact_summary(&ctx, c)) }
                            @for ns in &namespaces {
                                td {
                                    @let run = runs.iter().find(|r| r.client == c.id && r.namespace == ns.name.as_str());
                                    @let env = envs.iter().find(|(id, n, _)| *id == c.id && n == ns.name.as_str()).map(|(_, _, e)| e);
                                    @let status = EnvStatus::of(run, env);
                                    @match run {
                                        Some(r) => a href={"/runs/" (r.id)} title={(ctx.t("Run")) " " (r.id) " · " (r.started_at)} { (env_badge(ctx.lang, status)) },
                                        None => (env_badge(ctx.lang, status)),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "← " (t("Previous")) } }
            span { (page_no) " " (t("of")) " " (pages) " · " (total) }
            @if page_no < pages { a href=(link(page_no + 1)) rel="next" { (t("Next")) " →" } }
        }
    };
    Ok(page(&ctx, t("Clients"), body))
}

fn contact_summary(ctx: &Ctx, c: &Client) -> Markup {
    html! {
        @for (i, k) in c.contacts.iter().enumerate() {
            @if i > 0 { "; " }
            (k.name.as_str())
            @if let Some(p) = k.phones.first() { " " span.muted { (p.pretty(ctx.t("ext."))) } }
            @if let Some(e) = k.emails.first() { " " span.muted { (e.as_str()) } }
        }
    }
}

pub use crate::html::urlencode;

async fn new_client_page(
    state: &AppState,
    ctx: &Ctx,
    form: &FormData,
    error: Option<&WebError>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let namespaces = state.catalog.namespaces().await?;
    let given = form.client();
    let blocks = given.contacts.len().max(2) + 1;
    // Which contact block (if any) the problem is in, and the note beside its input.
    let at = error.and_then(|e| match e {
        WebError::Input { field, .. } | WebError::Field { field, .. } => {
            Some(crate::forms::place_of(field).block)
        }
        _ => None,
    });
    let note = error.and_then(|e| FieldNote::of(e, ctx.lang));
    let top = note.as_ref().filter(|_| at == Some(None));
    let body = html! {
        @if let Some(e) = error { (notice("error", &e.message_in(ctx.lang))) }
        form.card method="post" action="/clients" #new-client {
            (ctx.csrf())
            label { (t("Organisation")) input name="organisation" value=(given.organisation) required maxlength="300" autofocus aria-invalid=[invalid(top, "organisation")]; (beside(top, "organisation")) }
            div.grid {
                label { (t("Phones")) textarea name="phones" rows="2" placeholder=(t("One per line or separated by commas")) aria-invalid=[invalid(top, "phones")] { (form.get("phones")) } (beside(top, "phones")) }
                label { (t("E-mails")) textarea name="emails" rows="2" placeholder=(t("One per line or separated by commas")) aria-invalid=[invalid(top, "emails")] { (form.get("emails")) } (beside(top, "emails")) }
            }
            h2 { (t("Contact persons")) }
            @for i in 0..blocks {
                fieldset.contact {
                    legend { (t("Contact person")) " " (i + 1) }
                    (contact_fields(ctx, given.contacts.get(i), note.as_ref().filter(|_| at == Some(Some(i)))))
                }
            }
            label {
                (t("Deploy now to"))
                select name="deploy" {
                    option value="" { (t("Later")) }
                    @for ns in &namespaces {
                        option value=(ns.name.as_str()) selected[form.get("deploy") == ns.name.as_str()] { (ns.name.as_str()) }
                    }
                }
            }
            button type="submit" { (t("Create")) }
        }
    };
    Ok(page(ctx, t("New client"), body))
}

async fn new_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
) -> Result<Markup, WebError> {
    caller.require(Role::Operator)?;
    let ctx = Ctx::new(&info, caller);
    new_client_page(&state, &ctx, &FormData::default(), None).await
}

async fn create_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    form: FormData,
) -> Result<Response, WebError> {
    let ctx = Ctx::new(&info, caller.clone());
    let client = match client_actions::create_client(&state, &info, &caller, &form.client()).await {
        Ok(c) => c,
        Err(e @ (WebError::Input { .. } | WebError::Field { .. })) => {
            let page = new_client_page(&state, &ctx, &form, Some(&e)).await?;
            return Ok(with_status(page.into_response(), &e));
        }
        Err(e) => return Err(e),
    };
    let ns = form.get("deploy");
    if !ns.is_empty() {
        let run = state.start_deploy(client.id, ns).await?;
        state
            .audit(
                &caller.name,
                &info.address,
                "deploy",
                &client.id.to_string(),
                &format!("namespace {ns}, run {run}"),
            )
            .await;
        return Ok(Redirect::to(&format!("/runs/{run}")).into_response());
    }
    Ok(Redirect::to(&format!("/clients/{}", client.id)).into_response())
}

async fn update_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    let patch = ClientPatch {
        organisation: Some(form.get("organisation").to_owned()),
        phones: Some(split_phones(form.get("phones"))),
        emails: Some(split_emails(form.get("emails"))),
    };
    let done = client_actions::update_client(&state, &info, &caller, id, &patch).await;
    let typed = Returned::Client {
        organisation: form.get("organisation").to_owned(),
        phones: form.get("phones").to_owned(),
        emails: form.get("emails").to_owned(),
    };
    back_to_card(&state, &info, caller, id, done, typed).await
}

async fn add_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    let given = form.contacts().into_iter().next().unwrap_or_default();
    let done = client_actions::add_contact(&state, &info, &caller, id, &given, "contact").await;
    back_to_card(&state, &info, caller, id, done, Returned::AddContact(given)).await
}

/// The card again: at once when the change was made, with the form as it was typed and
/// its problem when it was refused.
async fn back_to_card<T>(
    state: &AppState,
    info: &RequestInfo,
    caller: Caller,
    id: tenantry_core::ClientId,
    done: Result<T, WebError>,
    typed: Returned,
) -> Result<Response, WebError> {
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/clients/{id}")).into_response()),
        Err(e @ (WebError::Input { .. } | WebError::Field { .. })) => {
            let old = state.catalog.client(id).await?;
            card_with_error(state, info, caller, &old, &e, typed).await
        }
        Err(e) => Err(e),
    }
}

async fn update_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, i64)>,
    form: FormData,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    let input = form.contacts().into_iter().next().unwrap_or_default();
    let done =
        client_actions::update_contact(&state, &info, &caller, id, contact, &input, "contact")
            .await;
    back_to_card(
        &state,
        &info,
        caller,
        id,
        done,
        Returned::EditContact(contact, input),
    )
    .await
}

async fn remove_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    client_actions::remove_contact(&state, &info, &caller, id, contact).await?;
    Ok(Redirect::to(&format!("/clients/{id}")).into_response())
}

/// Archives (`archive`) or restores a client, for the card and the API alike, audited.
pub async fn set_archived(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: ClientId,
    archive: bool,
) -> Result<Client, WebError> {
    caller.require(Role::Operator)?;
    let c = if archive {
        state.catalog.archive_client(id).await?
    } else {
        state.catalog.restore_client(id).await?
    };
    let action = if archive {
        "archive client"
    } else {
        "restore client"
    };
    state
        .audit(&caller.name, &info.address, action, &id.to_string(), "")
        .await;
    Ok(c)
}

async fn archive(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    match set_archived(&state, &info, &caller, id, true).await {
        Ok(_) => Ok(Redirect::to(&format!("/clients/{id}")).into_response()),
        Err(e @ WebError::Conflict(_)) => {
            let c = state.catalog.client(id).await?;
            let ctx = Ctx::new(&info, caller);
            Ok(with_status(
                card(&state, &ctx, &c, Some(&e), None)
                    .await?
                    .into_response(),
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn restore(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = client_id(&id)?;
    set_archived(&state, &info, &caller, id, false).await?;
    Ok(Redirect::to(&format!("/clients/{id}")).into_response())
}

async fn deploy(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    let op = tenantry_engine::Operation::Deploy;
    crate::lifecycle::start(&state, &info, &caller, &id, &form, op).await
}
