//! Tenantry's web UI and JSON API (`tenantry serve`, `tenantry demo`): server-rendered
//! pages in Russian and English, login with roles, the catalogs, the template editor,
//! one-click deploy with live progress, and `/api/v1` described by OpenAPI. It drives the
//! same engine as the CLI; everything it keeps is in the catalog, so several instances
//! can share one PostgreSQL catalog.

#![recursion_limit = "256"]

mod access;
mod actions;
mod admin;
mod adoption;
pub mod api;
mod api_admin;
mod api_clients;
mod api_fleet;
mod api_input;
mod api_overrides;
mod api_rollouts;
mod api_types;
mod api_webhooks;
pub mod auth;
mod background;
mod caller;
mod card;
mod client_actions;
mod clients;
mod cookies;
pub mod error;
mod failure_words;
mod fleet;
mod fleet_env;
mod fleet_pages;
mod fleet_words;
mod forms;
mod hashing;
pub mod html;
pub mod i18n;
mod input;
mod lifecycle;
mod login;
mod login_pages;
mod messages;
mod metrics;
mod openapi;
mod overrides;
mod params;
mod phrases;
mod phrases_day2;
mod reports;
mod respond;
mod rollouts;
mod runs;
mod templates;
mod webhook_send;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tenantry_core::ClientId;
use tenantry_engine::DeployOptions;
use tenantry_store::{Catalog, NewAudit};

pub use error::WebError;

/// A role from a form field or JSON; a problem names the field.
pub fn parse_role(s: &str) -> Result<tenantry_core::Role, WebError> {
    s.parse()
        .map_err(|e: tenantry_core::user::RoleError| WebError::field("role", messages::role(&e)))
}

/// The address people reach the server at (`--public-url`): requests for another
/// `Host`, and state changes from another `Origin`, are refused.
#[derive(Debug, Clone)]
pub struct PublicUrl {
    /// As given, for messages.
    pub url: String,
    /// `host[:port]` as a browser sends it in `Host`.
    pub authority: String,
    /// `scheme://host[:port]` as a browser sends it in `Origin`.
    pub origin: String,
}

impl PublicUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let u = url::Url::parse(s.trim()).map_err(|e| {
            format!("{s:?} is not a URL ({e}); give the address people open, e.g. https://tenantry.example.com")
        })?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("{s:?} is not an http or https URL"));
        }
        let host = u.host_str().ok_or_else(|| format!("{s:?} names no host"))?;
        let authority = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Ok(Self {
            url: u.to_string(),
            origin: format!("{}://{authority}", u.scheme()),
            authority,
        })
    }
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Config {
    pub deploy: DeployOptions,
    /// Mark cookies `Secure` and give them the `__Host-` prefix (the server is reached
    /// over TLS, directly or via a proxy).
    pub secure_cookies: bool,
    /// Check `Host` and `Origin` against this address.
    pub public_url: Option<PublicUrl>,
    /// Audit entries older than this many days are dropped.
    pub audit_retention_days: u32,
    /// The most password hashes computed at once (0: one per core).
    pub hash_concurrency: usize,
    /// Self-heal deploys an environment at most once in this long.
    pub heal_gap: std::time::Duration,
    /// A webhook delivery that failed waits this long, doubled at each failure.
    pub webhook_backoff: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            deploy: DeployOptions::default(),
            secure_cookies: false,
            public_url: None,
            audit_retention_days: 365,
            hash_concurrency: 0,
            heal_gap: std::time::Duration::from_secs(300),
            webhook_backoff: std::time::Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub catalog: Catalog,
    pub config: Arc<Config>,
    /// A hash checked for unknown user names, so a login takes as long either way.
    pub(crate) dummy_hash: String,
    /// Where every password hash is computed, a bounded number at once.
    pub hasher: Arc<hashing::Hasher>,
    /// The live fleet, started at first use (`serve` starts it at once).
    fleet: Arc<std::sync::OnceLock<tenantry_engine::fleet::cache::FleetCache>>,
    pub(crate) run_metrics: metrics::Shared,
    pub(crate) healed: Arc<background::Healed>,
    /// The rollouts this process is driving.
    pub(crate) driving: Arc<std::sync::Mutex<std::collections::BTreeSet<i64>>>,
    pub(crate) drift_told: Arc<background::DriftTold>,
}

impl AppState {
    pub fn new(catalog: Catalog, config: Config) -> Result<Self, WebError> {
        let hasher = match config.hash_concurrency {
            0 => hashing::Hasher::per_core(),
            n => hashing::Hasher::new(n),
        };
        Ok(Self {
            catalog,
            config: Arc::new(config),
            dummy_hash: auth::hash_password(&auth::random_token())?,
            hasher: Arc::new(hasher),
            fleet: Arc::default(),
            run_metrics: Arc::default(),
            healed: Arc::default(),
            driving: Arc::default(),
            drift_told: Arc::default(),
        })
    }

    /// The live fleet of every namespace target, its watches started on first use.
    pub fn fleet(&self) -> &tenantry_engine::fleet::cache::FleetCache {
        self.fleet.get_or_init(|| {
            tenantry_engine::fleet::cache::FleetCache::start(
                self.catalog.clone(),
                std::time::Duration::from_secs(5),
            )
        })
    }

    /// Starts a deploy in the background: the plan renders and the run starts before
    /// this returns (so a render error or an active run is answered at once), the rest
    /// goes on after.
    pub async fn start_deploy(&self, client: ClientId, namespace: &str) -> Result<i64, WebError> {
        self.start_operation(client, namespace, tenantry_engine::Operation::Deploy)
            .await
    }

    /// Starts any operation in the background, as [`start_deploy`](Self::start_deploy).
    pub async fn start_operation(
        &self,
        client: ClientId,
        namespace: &str,
        op: tenantry_engine::Operation,
    ) -> Result<i64, WebError> {
        let opts = self.config.deploy.clone();
        let prepared =
            tenantry_engine::prepare_operation(&self.catalog, client, namespace, op, &opts).await?;
        Ok(self.carry_on(prepared, client, opts))
    }

    /// Runs a prepared deploy in the background; its run's id.
    /// The fleet is told when it ends, and its duration measured.
    pub(crate) fn carry_on(
        &self,
        prepared: tenantry_engine::Prepared,
        client: ClientId,
        opts: tenantry_engine::DeployOptions,
    ) -> i64 {
        let run = prepared.run_id();
        let (fleet, measured) = (self.fleet.clone(), self.run_metrics.clone());
        tokio::spawn(async move {
            match prepared.execute(&opts, &|_| {}).await {
                Ok(o) => {
                    let secs = std::time::Duration::from_millis(o.elapsed_ms).as_secs_f64();
                    measured.observe(o.kind.as_str(), o.status.as_str(), secs);
                    tracing::info!(run, status = %o.status, "{} of {client} in {} ended", o.kind, o.namespace)
                }
                Err(e) => tracing::warn!(run, "the run of {client} ended with an error: {e}"),
            }
            if let Some(f) = fleet.get() {
                f.nudge();
            }
        });
        run
    }

    /// Adds a user, for the Users page and the API alike: the name and role parsed, the
    /// password checked and hashed (off the async threads), the change audited.
    pub async fn create_user(
        &self,
        actor: &str,
        address: &str,
        name: &str,
        role: &str,
        password: &str,
    ) -> Result<tenantry_store::User, WebError> {
        let name = tenantry_core::UserName::parse(name)
            .map_err(|e| WebError::field("name", messages::user_name(&e)))?;
        let role = parse_role(role)?;
        auth::check_password(password, name.as_str())?;
        let hash = self.hasher.hash(password).await?;
        let user = self
            .catalog
            .create_user(&name, role, &hash, auth::unix_now())
            .await?;
        self.audit(actor, address, "create user", name.as_str(), role.as_str())
            .await;
        Ok(user)
    }

    /// Saves a template as its new version and audits it.
    pub async fn save_template(
        &self,
        actor: &str,
        address: &str,
        template: &tenantry_core::template::Template,
        note: &str,
        force: bool,
    ) -> Result<tenantry_store::StoredTemplate, WebError> {
        let max = tenantry_core::limits::TEMPLATE_NOTE_CHARS;
        if note.chars().count() > max {
            return Err(WebError::field(
                "note",
                error::Msg::both(
                    format!("a comment has at most {max} characters"),
                    format!("комментарий — не больше {max} символов"),
                ),
            ));
        }
        let problems = self
            .catalog
            .template_problems(std::slice::from_ref(template))
            .await?;
        if !problems.is_empty() && !force {
            return Err(WebError::TemplateProblems(problems));
        }
        let saved = self.catalog.save_template(template, actor, note).await?;
        self.audit(
            actor,
            address,
            "save template",
            template.name.as_str(),
            &match (force && !problems.is_empty(), note.is_empty()) {
                (false, true) => format!("version {}", saved.version),
                (false, false) => format!("version {}: {note}", saved.version),
                (true, _) => format!(
                    "version {} saved despite: {}",
                    saved.version,
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            },
        )
        .await;
        Ok(saved)
    }

    pub async fn audit(
        &self,
        actor: &str,
        address: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) {
        let entry = NewAudit {
            actor,
            action,
            target,
            detail,
            address,
        };
        if let Err(e) = self.catalog.audit(&entry).await {
            tracing::warn!("cannot write the audit log: {e}");
        }
    }

    /// When no user exists: a one-time setup token (stored hashed) for the first admin.
    pub async fn setup_token_if_needed(&self) -> Result<Option<String>, WebError> {
        if self.catalog.count_users().await? > 0 {
            return Ok(None);
        }
        let token = auth::random_token();
        self.catalog
            .set_setup_token(&auth::sha256_hex(&token), auth::unix_now())
            .await?;
        Ok(Some(token))
    }
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

async fn security_headers(req: axum::extract::Request, next: middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// Renders a WebError in the language and format of the request that met it.
async fn render_errors(
    info: Option<axum::Extension<auth::RequestInfo>>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let caller = info.as_ref().and_then(|i| i.caller.clone());
    let lang = info.map_or_else(|| i18n::Lang::from_headers(req.headers()), |i| i.lang);
    let mut r = next.run(req).await;
    if let Some(rendered) = r.extensions_mut().remove::<error::Rendered>()
        && let Some(e) = rendered.0.lock().ok().and_then(|mut g| g.take())
    {
        let headers = std::mem::take(r.headers_mut());
        let mut out = respond::error_as(e, is_api, lang, caller.as_ref());
        for (k, v) in &headers {
            if k == header::SET_COOKIE {
                out.headers_mut().append(k, v.clone());
            }
        }
        return out;
    }
    r
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.catalog.count_users().await {
        Ok(_) => "ok\n".into_response(),
        Err(e) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("the catalog does not answer: {e}\n"),
        )
            .into_response(),
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(login_pages::routes())
        .merge(clients::routes())
        .merge(lifecycle::routes())
        .merge(admin::routes())
        .merge(params::routes())
        .merge(templates::routes())
        .merge(access::routes())
        .merge(runs::routes())
        .merge(fleet_pages::routes())
        .merge(adoption::routes())
        .merge(overrides::routes())
        .merge(rollouts::routes())
        .merge(webhooks::routes())
        .route("/metrics", get(metrics::metrics))
        .nest("/api/v1", api_router())
        .layer(middleware::from_fn(render_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ))
        .route("/healthz", get(healthz))
        .route("/static/{file}", get(static_file))
        .fallback(not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The API's routes, and its OpenAPI document made from the same declarations.
fn api_router() -> Router<AppState> {
    let (router, api) = api::routes().split_for_parts();
    let doc = std::sync::Arc::new(openapi::document(api));
    router.route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
}

async fn not_found(req: axum::extract::Request) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let path = req.uri().path();
    let e = WebError::not_found(error::Msg::both(
        format!("no page {path}"),
        format!("страницы {path} нет"),
    ));
    respond::error(e, is_api, i18n::Lang::from_headers(req.headers()))
}

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (
            include_str!("../assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "style.css" => (
            include_str!("../assets/style.css"),
            "text/css; charset=utf-8",
        ),
        _ => return (axum::http::StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod structure {
    use std::collections::{BTreeMap, BTreeSet};

    /// The modules of this crate and the ones each names (`crate::x`), the crate root
    /// aside.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name == "lib" || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let used: BTreeSet<String> = text
                .match_indices("crate::")
                .map(|(i, _)| {
                    text[i + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect::<String>()
                })
                .filter(|m| !m.is_empty() && *m != name)
                .collect();
            out.insert(name, used);
        }
        out
    }

    /// Modules import one way: no module reaches itself through the ones it names.
    #[test]
    fn no_module_imports_itself_through_others() {
        let graph = imports();
        for start in graph.keys() {
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((m, path)) = stack.pop() {
                for next in graph.get(&m).into_iter().flatten() {
                    if next == start {
                        panic!("a module cycle: {} -> {start}", path.join(" -> "));
                    }
                    if graph.contains_key(next) && seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
    }

    #[test]
    fn no_source_file_is_past_600_lines() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            assert!(lines <= 600, "{} has {lines} lines", path.display());
        }
    }
}
