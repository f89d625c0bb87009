//! Pages for operators: login and first-start setup, the clients list, the new-client
//! form, and the client card with its contacts, environments and run history.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenantry_core::{ClientId, Role, UserName};
use tenantry_store::{Client, ClientFilter, EnvStatus, RunRecord};

use crate::AppState;
use crate::auth::{self, Caller, RequestInfo};
use crate::error::WebError;
use crate::html::{Ctx, bare_page, env_badge, notice, page, status_badge, took, when, with_status};
use crate::i18n::Lang;
use crate::input::{ClientPatch, FormData, split_list};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/clients") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/setup", get(setup_form).post(setup))
        .route("/clients", get(clients).post(create_client))
        .route("/clients/new", get(new_client))
        .route("/clients/{id}", get(client_card).post(update_client))
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

pub fn client_id(s: &str) -> Result<ClientId, WebError> {
    ClientId::parse(s).map_err(|e| WebError::NotFound(e.to_string()))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

use crate::login::safe_next;

fn login_page(state: &AppState, info: &RequestInfo, next: &str, error: Option<&str>) -> Response {
    let pre = auth::random_token();
    let lang = info.lang;
    let body = html! {
        @if let Some(e) = error { (notice("error", e)) }
        form.card.narrow method="post" action="/login" {
            input type="hidden" name="_csrf" value=(pre);
            input type="hidden" name="next" value=(next);
            label { (lang.t("User name")) input name="name" autocomplete="username" required autofocus; }
            label { (lang.t("Password")) input name="password" type="password" autocomplete="current-password" required; }
            button type="submit" { (lang.t("Log in")) }
        }
    };
    pre_login_page(state, lang, lang.t("Log in"), &pre, body)
}

/// A page for someone not logged in whose form carries `pre`, the random value also
/// set as the pre-login cookie (the CSRF check of /login and /setup).
fn pre_login_page(state: &AppState, lang: Lang, title: &str, pre: &str, body: Markup) -> Response {
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(state, state.pre_cookie(), pre, Some(3600)),
        )],
        bare_page(lang, title, body),
    )
        .into_response()
}

async fn login_form(
    State(state): State<AppState>,
    info: RequestInfo,
    Query(q): Query<LoginQuery>,
) -> Response {
    if info.caller.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_page(&state, &info, &safe_next(q.next.as_deref()), None)
}

async fn login(
    State(state): State<AppState>,
    info: RequestInfo,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> Response {
    let next = safe_next(Some(form.get("next")));
    // The session this browser had ends with this login (ASVS 7.2.4).
    let previous = auth::cookie(&headers, state.session_cookie()).map(|s| auth::sha256_hex(&s));
    match crate::login::login(
        &state,
        form.get("name"),
        form.get("password"),
        &info.address,
        previous.as_deref(),
    )
    .await
    {
        Ok((sid, user)) => {
            state
                .audit(user.name.as_str(), &info.address, "login", "", "")
                .await;
            (
                [(
                    header::SET_COOKIE,
                    auth::set_cookie(&state, state.session_cookie(), &sid, None),
                )],
                Redirect::to(&next),
            )
                .into_response()
        }
        Err(e @ (WebError::LoginFailed | WebError::TooManyAttempts { .. } | WebError::Busy)) => {
            // Only names that could be users are recorded (the field is the caller's).
            if let Ok(name) = UserName::parse(form.get("name")) {
                let what = match &e {
                    WebError::LoginFailed => "login failed",
                    _ => "login refused: throttled",
                };
                state
                    .audit(name.as_str(), &info.address, what, "", "")
                    .await;
            }
            let mut r = login_page(&state, &info, &next, Some(&e.message_in(info.lang)));
            *r.status_mut() = e.status();
            if let Some(s) = e.retry_after()
                && let Ok(v) = s.to_string().parse()
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn logout(State(state): State<AppState>, info: RequestInfo, caller: Caller) -> Response {
    if let auth::Via::Session { id_hash, .. } = &caller.via {
        if let Err(e) = state.catalog.delete_session(id_hash).await {
            return WebError::from(e).into_response();
        }
        state
            .audit(&caller.name, &info.address, "logout", "", "")
            .await;
    }
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(&state, state.session_cookie(), "", Some(0)),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

fn setup_page(state: &AppState, info: &RequestInfo, token: &str, error: Option<&str>) -> Response {
    let lang = info.lang;
    let pre = auth::random_token();
    let body = html! {
        @if let Some(e) = error { (notice("error", e)) }
        form.card.narrow method="post" action="/setup" {
            input type="hidden" name="_csrf" value=(pre);
            label { (lang.t("Setup token")) input name="token" value=(token) required; }
            label { (lang.t("User name")) input name="name" autocomplete="username" required; }
            label { (lang.t("Password")) input name="password" type="password" autocomplete="new-password" minlength="10" required; }
            button type="submit" { (lang.t("Create")) }
        }
    };
    pre_login_page(
        state,
        lang,
        lang.t("First start: create the administrator"),
        &pre,
        body,
    )
}

async fn setup_form(
    State(state): State<AppState>,
    info: RequestInfo,
    Query(q): Query<SetupQuery>,
) -> Result<Response, WebError> {
    if state.catalog.count_users().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(setup_page(
        &state,
        &info,
        q.token.as_deref().unwrap_or(""),
        None,
    ))
}

async fn setup(
    State(state): State<AppState>,
    info: RequestInfo,
    form: FormData,
) -> Result<Response, WebError> {
    let attempt = async {
        let name = UserName::parse(form.get("name"))
            .map_err(|e| WebError::field("name", e.to_string()))?;
        let password = form.get("password");
        auth::check_password(password, name.as_str())?;
        if !state
            .catalog
            .take_setup_token(
                &auth::sha256_hex(form.get("token").trim()),
                auth::unix_now(),
            )
            .await?
        {
            return Err(WebError::field(
                "token",
                "the setup token is wrong, was used or is older than an hour; it is printed when the server starts with no users, or create an admin with `tenantry user add NAME --role admin --password-stdin`",
            ));
        }
        let hash = state.hasher.hash(password).await?;
        let user = state
            .catalog
            .create_user(&name, Role::Admin, &hash, auth::unix_now())
            .await?;
        state
            .audit(
                user.name.as_str(),
                &info.address,
                "create user",
                user.name.as_str(),
                "first admin, with the setup token",
            )
            .await;
        Ok(())
    };
    match attempt.await {
        Ok(()) => Ok(Redirect::to("/login").into_response()),
        Err(e @ WebError::Field { .. }) => Ok(with_status(
            setup_page(&state, &info, form.get("token"), Some(&e.to_string())),
            &e,
        )),
        Err(e) => Err(e),
    }
}

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
                            td { (contact_summary(c)) }
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

fn contact_summary(c: &Client) -> Markup {
    html! {
        @for (i, k) in c.contacts.iter().enumerate() {
            @if i > 0 { "; " }
            (k.name.as_str())
            @if let Some(p) = k.phones.first() { " " span.muted { (p.as_str()) } }
            @if let Some(e) = k.emails.first() { " " span.muted { (e.as_str()) } }
        }
    }
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn contact_fields(ctx: &Ctx, c: Option<&crate::input::ContactInput>) -> Markup {
    let t = |s| ctx.t(s);
    let empty = crate::input::ContactInput::default();
    let c = c.unwrap_or(&empty);
    html! {
        div.grid {
            label { (t("Name")) input name="contact_name" value=(c.name); }
            label { (t("Position")) input name="contact_role" value=(c.role.as_deref().unwrap_or("")); }
            label { (t("Phones")) input name="contact_phones" value=(c.phones.join(", ")) placeholder="+7 900 000-00-00"; }
            label { (t("E-mails")) input name="contact_emails" value=(c.emails.join(", ")) placeholder="name@example.com"; }
            label.wide { (t("Note")) input name="contact_note" value=(c.note.as_deref().unwrap_or("")); }
        }
    }
}

async fn new_client_page(
    state: &AppState,
    ctx: &Ctx,
    form: &FormData,
    error: Option<&str>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let namespaces = state.catalog.namespaces().await?;
    let given = form.client();
    let blocks = given.contacts.len().max(2) + 1;
    let body = html! {
        @if let Some(e) = error { (notice("error", e)) }
        form.card method="post" action="/clients" #new-client {
            (ctx.csrf())
            label { (t("Organisation")) input name="organisation" value=(given.organisation) required maxlength="300" autofocus; }
            div.grid {
                label { (t("Phones")) textarea name="phones" rows="2" placeholder=(t("One per line or separated by commas")) { (given.phones.join("\n")) } }
                label { (t("E-mails")) textarea name="emails" rows="2" placeholder=(t("One per line or separated by commas")) { (given.emails.join("\n")) } }
            }
            h2 { (t("Contact persons")) }
            @for i in 0..blocks {
                fieldset.contact {
                    legend { (t("Contact person")) " " (i + 1) }
                    (contact_fields(ctx, given.contacts.get(i)))
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
    caller.require(Role::Operator)?;
    let ctx = Ctx::new(&info, caller.clone());
    let new = match form.client().parse() {
        Ok(n) => n,
        Err(e) => {
            let page = new_client_page(&state, &ctx, &form, Some(&e.to_string())).await?;
            return Ok(with_status(page.into_response(), &e));
        }
    };
    let client = state.catalog.create_client(&new).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "create client",
            &client.id.to_string(),
            client.name.as_str(),
        )
        .await;
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

async fn client_card(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let id = client_id(&id)?;
    let ctx = Ctx::new(&info, caller);
    let c = state.catalog.client(id).await?;
    card(&state, &ctx, &c, None).await
}

async fn card(
    state: &AppState,
    ctx: &Ctx,
    c: &Client,
    error: Option<&str>,
) -> Result<Markup, WebError> {
    let t = |s| ctx.t(s);
    let namespaces = state.catalog.namespaces().await?;
    let latest = state.catalog.latest_runs(&[c.id]).await?;
    let history = state.catalog.runs(Some(c.id), 20).await?;
    let mut envs = Vec::with_capacity(namespaces.len());
    for ns in &namespaces {
        envs.push(crate::lifecycle::EnvView::load(state, c.id, ns.name.as_str()).await?);
    }
    let operator = ctx.can(Role::Operator) && !c.archived;
    let body = html! {
        @if let Some(e) = error { (notice("error", e)) }
        section.card {
            @if operator {
                form method="post" action={"/clients/" (c.id)} #client-details {
                    (ctx.csrf())
                    label { (t("Organisation")) input name="organisation" value=(c.name.as_str()) required maxlength="300"; }
                    div.grid {
                        label { (t("Phones")) textarea name="phones" rows="2" { (c.phones.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("\n")) } }
                        label { (t("E-mails")) textarea name="emails" rows="2" { (c.emails.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("\n")) } }
                    }
                    button type="submit" { (t("Save")) }
                }
            } @else {
                dl {
                    dt { (t("Organisation")) } dd { (c.name.as_str()) }
                    dt { (t("Phones")) } dd { (c.phones.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
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
                    @if let Some(reason) = last.and_then(|r| r.reason.as_deref()) { p.reason { (first_line(reason)) } }
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
            section.contact.card data-contact=(k.id) {
                @if operator {
                    form method="post" action={"/clients/" (c.id) "/contacts/" (k.id)} {
                        (ctx.csrf())
                        (contact_fields(ctx, Some(&crate::input::ContactInput {
                            name: k.name.to_string(),
                            role: k.role.clone(),
                            note: k.note.clone(),
                            phones: k.phones.iter().map(|p| p.as_str().to_owned()).collect(),
                            emails: k.emails.iter().map(|p| p.as_str().to_owned()).collect(),
                        })))
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
                    p { (k.phones.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) " " (k.emails.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
                    @if let Some(n) = &k.note { p.muted { (n) } }
                }
            }
        }
        @if operator {
            details.card {
                summary { (t("Add a contact person")) }
                form method="post" action={"/clients/" (c.id) "/contacts"} #add-contact {
                    (ctx.csrf())
                    (contact_fields(ctx, None))
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
async fn card_with_error(
    state: &AppState,
    info: &RequestInfo,
    caller: Caller,
    c: &Client,
    e: &WebError,
) -> Result<Response, WebError> {
    let ctx = Ctx::new(info, caller);
    let page = card(state, &ctx, c, Some(&e.to_string())).await?;
    Ok(with_status(page.into_response(), e))
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
                            td { @if let Some(f) = &r.finished_at { (when(f)) " · " (took(&r.started_at, f).unwrap_or_default()) } }
                            td.reason { (first_line(r.reason.as_deref().unwrap_or(""))) }
                        }
                    }
                }
            }
        }
    }
}

async fn update_client(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    let id = client_id(&id)?;
    let old = state.catalog.client(id).await?;
    let patch = ClientPatch {
        organisation: Some(form.get("organisation").to_owned()),
        phones: Some(split_list(form.get("phones"))),
        emails: Some(split_list(form.get("emails"))),
    };
    match patch.update_from(&old) {
        Ok(u) => {
            state.catalog.update_client(id, &u).await?;
            state
                .audit(
                    &caller.name,
                    &info.address,
                    "update client",
                    &id.to_string(),
                    "",
                )
                .await;
            Ok(Redirect::to(&format!("/clients/{id}")).into_response())
        }
        Err(e) => card_with_error(&state, &info, caller, &old, &e).await,
    }
}

async fn add_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    let id = client_id(&id)?;
    let old = state.catalog.client(id).await?;
    let given = form.contacts();
    let parsed = match given.first() {
        Some(c) => c.parse("contact"),
        None => Err(WebError::field(
            "contact.name",
            "a contact person needs a name",
        )),
    };
    match parsed {
        Ok(new) => {
            state.catalog.add_contact(id, &new).await?;
            state
                .audit(
                    &caller.name,
                    &info.address,
                    "add contact",
                    &id.to_string(),
                    new.name.as_str(),
                )
                .await;
            Ok(Redirect::to(&format!("/clients/{id}")).into_response())
        }
        Err(e) => card_with_error(&state, &info, caller, &old, &e).await,
    }
}

async fn update_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, i64)>,
    form: FormData,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    let id = client_id(&id)?;
    let old = state.catalog.client(id).await?;
    let k = old
        .contacts
        .iter()
        .find(|k| k.id == contact)
        .ok_or_else(|| WebError::NotFound(format!("client {id} has no contact #{contact}")))?;
    let input = form.contacts().into_iter().next().unwrap_or_default();
    match input.update_from(k, "contact") {
        Ok(u) => {
            state.catalog.update_contact(id, contact, &u).await?;
            state
                .audit(
                    &caller.name,
                    &info.address,
                    "update contact",
                    &id.to_string(),
                    &input.name,
                )
                .await;
            Ok(Redirect::to(&format!("/clients/{id}")).into_response())
        }
        Err(e) => card_with_error(&state, &info, caller, &old, &e).await,
    }
}

async fn remove_contact(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path((id, contact)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    caller.require(Role::Operator)?;
    let id = client_id(&id)?;
    state.catalog.remove_contact(id, contact).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "remove contact",
            &id.to_string(),
            &format!("#{contact}"),
        )
        .await;
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
                card(&state, &ctx, &c, Some(&e.message_in(info.lang)))
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
