//! The HTTP server: the router (the API, and the `/kubesim/scenarios` and
//! `/kubesim/faults` admin endpoints), and starting a simulator (plain or TLS) with its
//! controllers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::faults::FaultConfig;
use crate::scenarios::Scenarios;
use crate::sim::Shared;
use crate::status::ApiError;

async fn admin_scenarios(
    axum::extract::State(sim): axum::extract::State<Arc<Shared>>,
    method: Method,
    body: axum::body::Bytes,
) -> Response {
    if method == Method::PUT {
        match serde_json::from_slice::<Scenarios>(&body) {
            Ok(s) => {
                *sim.scenarios
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = s
            }
            Err(e) => return ApiError::bad_request(format!("bad scenarios: {e}")).into_response(),
        }
    }
    axum::Json(sim.scenarios()).into_response()
}

async fn admin_faults(
    axum::extract::State(sim): axum::extract::State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<FaultConfig>(&body) {
        Ok(f) => {
            sim.faults.set(f.clone());
            axum::Json(f).into_response()
        }
        Err(e) => ApiError::bad_request(format!("bad faults: {e}")).into_response(),
    }
}

/// The HTTP application: the API, and `/kubesim/scenarios` and `/kubesim/faults` to
/// change behaviour while running (same auth as the API).
pub fn router(shared: Arc<Shared>) -> Router {
    let prefix = shared.config.path_prefix.trim_end_matches('/').to_owned();
    let admin = Router::new()
        .route(
            "/kubesim/scenarios",
            axum::routing::get(admin_scenarios).put(admin_scenarios),
        )
        .route("/kubesim/faults", axum::routing::put(admin_faults))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), auth));
    let admin = if prefix.is_empty() {
        admin
    } else {
        Router::new().nest(&prefix, admin)
    };
    admin.fallback(crate::api::handle).with_state(shared)
}

async fn auth(
    axum::extract::State(sim): axum::extract::State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if sim.authorised(req.headers()) {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    controllers: tokio::task::JoinHandle<()>,
    tls: bool,
    /// Turned true when the simulator stops: every open connection is dropped.
    down: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// The API root URL, prefix included.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            if self.tls { "https" } else { "http" },
            self.addr,
            self.shared.config.path_prefix.trim_end_matches('/')
        )
    }

    pub fn set_scenarios(&self, s: Scenarios) {
        *self
            .shared
            .scenarios
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = s;
    }

    pub fn set_faults(&self, f: FaultConfig) {
        self.shared.faults.set(f);
    }

    /// Ends every open watch (the connection closes cleanly); the state stays, so
    /// clients resume from the last version they saw.
    pub fn end_watches(&self) {
        self.shared.watch_epoch.send_modify(|e| *e += 1);
    }

    /// Stops as a killed API server would: the listener closes, every open connection
    /// (watches included) is dropped, and the state is gone.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.down.send(true);
        self.server.abort();
        self.controllers.abort();
    }
}

/// A simulator of `config` served by `serve` (given the app and the "down" signal), with
/// its controllers running beside it.
fn run<F>(
    config: Config,
    addr: SocketAddr,
    tls: bool,
    serve: impl FnOnce(Router, tokio::sync::watch::Receiver<bool>) -> F,
) -> Running
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let shared = Shared::new(config);
    let app = router(shared.clone());
    let (down, down_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve(app, down_rx));
    let controllers = if shared.config.controllers {
        tokio::spawn(crate::controllers::run(shared.clone()))
    } else {
        tokio::spawn(async {})
    };
    Running {
        addr,
        shared,
        server,
        controllers,
        tls,
        down,
    }
}

/// Starts a simulator on `listener` (plain HTTP) with its controllers, in this process.
pub fn spawn(config: Config, listener: tokio::net::TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    Ok(run(config, addr, false, |app, down| {
        crate::tls::serve_plain(listener, app, down)
    }))
}

/// Starts a simulator serving HTTPS on `listener`, with a CA written to `dir/ca.crt`
/// and a certificate for `hosts` (loopback names are always included).
pub fn spawn_tls(
    config: Config,
    listener: tokio::net::TcpListener,
    dir: &std::path::Path,
    hosts: &[String],
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let mut names: Vec<String> = vec![
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
        addr.ip().to_string(),
    ];
    names.extend(hosts.iter().cloned());
    names.dedup();
    let tls = crate::tls::server_config(dir, &names)?;
    Ok(run(config, addr, true, |app, down| {
        crate::tls::serve(listener, tls, app, down)
    }))
}

/// Binds 127.0.0.1 on a free port and starts a simulator there.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    spawn(config, listener)
}
