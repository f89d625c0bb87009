//! The running simulator: state shared by the API and the controllers, the router with
//! its admin endpoints, and starting it (plain or TLS).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use crate::config::{Config, FaultConfig, Scenarios, Timings, glob_match};
use crate::faults::Faults;
use crate::status::ApiError;
use crate::store::Store;

/// State shared by the API handlers and the controllers.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub scenarios: RwLock<Scenarios>,
    pub faults: Faults,
    /// Container logs by (namespace, pod).
    pub logs: crate::logs::Logs,
    ip: AtomicU32,
    /// Bumped to end every open watch, as an API server restarting behind a load
    /// balancer does (the state, in etcd, stays).
    pub watch_epoch: tokio::sync::watch::Sender<u64>,
    /// Requests received, by method (what a test asserts a client did not send).
    requests: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Self> {
        let shared = Arc::new(Self {
            store: Store::new(config.history),
            scenarios: RwLock::new(config.scenarios.clone()),
            faults: Faults::new(config.faults.clone()),
            logs: crate::logs::Logs::default(),
            ip: AtomicU32::new(10),
            watch_epoch: tokio::sync::watch::Sender::new(0),
            requests: std::sync::Mutex::default(),
            config,
        });
        for ns in &shared.config.namespaces {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = crate::registry::create_object(&shared, crate::resources::NAMESPACES, "", obj);
        }
        crate::nodes::register(&shared);
        shared
    }

    pub(crate) fn count_request(&self, method: &str) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry(method.to_owned()).or_default() += 1;
        }
    }

    /// How many requests of each method the API has received so far.
    pub fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        self.requests.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.config.token else {
            return true;
        };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| t.trim() == token)
    }

    pub fn next_cluster_ip(&self) -> String {
        let n = self.ip.fetch_add(1, Ordering::Relaxed);
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }

    pub fn scenarios(&self) -> Scenarios {
        self.scenarios
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn append_log(&self, ns: &str, pod: &str, line: &str) {
        self.logs.append(ns, pod, line);
    }
}

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
    pub shared: Arc<Shared>,
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

/// Starts a simulator on `listener` (plain HTTP) with its controllers, in this process.
pub fn spawn(config: Config, listener: tokio::net::TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let shared = Shared::new(config);
    let app = router(shared.clone());
    let (down, down_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(crate::tls::serve_plain(listener, app, down_rx));
    let controllers = if shared.config.controllers {
        tokio::spawn(crate::controllers::run(shared.clone()))
    } else {
        tokio::spawn(async {})
    };
    Ok(Running {
        addr,
        shared,
        server,
        controllers,
        tls: false,
        down,
    })
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
    let shared = Shared::new(config);
    let app = router(shared.clone());
    let (down, down_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(crate::tls::serve(listener, tls, app, down_rx));
    let controllers = if shared.config.controllers {
        tokio::spawn(crate::controllers::run(shared.clone()))
    } else {
        tokio::spawn(async {})
    };
    Ok(Running {
        addr,
        shared,
        server,
        controllers,
        tls: true,
        down,
    })
}

/// Binds 127.0.0.1 on a free port and starts a simulator there.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    spawn(config, listener)
}
