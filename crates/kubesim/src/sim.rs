//! The simulator's configuration and shared state, scenarios and faults, and serving.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::status::ApiError;
use crate::store::Store;

/// How long simulated things take. Tests shorten them.
#[derive(Debug, Clone)]
pub struct Timings {
    /// How often controllers and the kubelet look at objects.
    pub tick: Duration,
    pub schedule: Duration,
    pub pull: Duration,
    /// From pulled to running.
    pub start: Duration,
    /// From running to ready.
    pub ready: Duration,
    /// How long a Job's container runs.
    pub job_run: Duration,
    /// How long a crashing container runs before it exits.
    pub crash_after: Duration,
    /// The first back-off after a failure (doubles each time, capped at 8x).
    pub backoff: Duration,
    /// How long one "second" of a deadline (`progressDeadlineSeconds`,
    /// `activeDeadlineSeconds`) lasts.
    pub deadline_second: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(100),
            schedule: Duration::from_millis(200),
            pull: Duration::from_millis(800),
            start: Duration::from_millis(300),
            ready: Duration::from_millis(700),
            job_run: Duration::from_secs(2),
            crash_after: Duration::from_millis(800),
            backoff: Duration::from_secs(2),
            deadline_second: Duration::from_secs(1),
        }
    }
}

impl Timings {
    /// Everything quick, for tests.
    pub fn fast() -> Self {
        Self {
            tick: Duration::from_millis(10),
            schedule: Duration::from_millis(10),
            pull: Duration::from_millis(20),
            start: Duration::from_millis(10),
            ready: Duration::from_millis(20),
            job_run: Duration::from_millis(50),
            crash_after: Duration::from_millis(30),
            backoff: Duration::from_millis(50),
            deadline_second: Duration::from_millis(10),
        }
    }
}

/// Things that go wrong on purpose, chosen by image or command patterns (`*` matches
/// any text).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Scenarios {
    /// Images that cannot be pulled: `ErrImagePull`, then `ImagePullBackOff`.
    pub fail_image_pull: Vec<String>,
    /// Images whose containers exit with code 1 shortly after starting: `CrashLoopBackOff`.
    pub crash_image: Vec<String>,
    /// Images whose containers take this many milliseconds longer to become ready.
    pub slow_ready: HashMap<String, u64>,
    /// Job containers whose command and args match exit with code 1.
    pub fail_job_command: Vec<String>,
}

/// Faults injected before requests are handled, reproducible from a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub seed: u64,
    /// Added to every request.
    pub latency_ms: u64,
    /// Share of requests answered 500 (half) or 503 (half).
    pub error_rate: f64,
    /// Share of requests answered 429 with `Retry-After`.
    pub throttle_rate: f64,
    pub retry_after_seconds: u64,
    /// Share of requests whose connection is dropped without an answer.
    pub drop_rate: f64,
}

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bearer token clients must send; `None` lets everyone in.
    pub token: Option<String>,
    /// Serve the API below this path, as a Rancher proxy does (`/k8s/clusters/c-local`).
    pub path_prefix: String,
    pub timings: Timings,
    pub scenarios: Scenarios,
    pub faults: FaultConfig,
    pub bookmark_interval: Duration,
    /// How many changes watches can resume from.
    pub history: usize,
    /// Namespaces that exist from the start.
    pub namespaces: Vec<String>,
    /// Run the controllers and the kubelet (off: a bare API server, for benchmarks).
    pub controllers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token: None,
            path_prefix: String::new(),
            timings: Timings::default(),
            scenarios: Scenarios::default(),
            faults: FaultConfig::default(),
            bookmark_interval: Duration::from_secs(5),
            history: 100_000,
            namespaces: vec!["default".into(), "kube-system".into()],
            controllers: true,
        }
    }
}

/// A seeded generator (SplitMix64): the same seed gives the same faults in the same order.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug)]
pub struct Faults {
    config: RwLock<FaultConfig>,
    rng: Mutex<Rng>,
}

impl Faults {
    fn new(c: FaultConfig) -> Self {
        Self {
            rng: Mutex::new(Rng(c.seed)),
            config: RwLock::new(c),
        }
    }

    pub fn set(&self, c: FaultConfig) {
        *self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Rng(c.seed);
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = c;
    }

    /// Decides this request's fault, if any; the caller answers with it instead.
    pub async fn before(&self, _method: &Method, path: &str) -> Option<Response> {
        if path.contains("/kubesim/") || path.ends_with("/healthz") {
            return None;
        }
        let c = self
            .config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if c.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(c.latency_ms)).await;
        }
        if c.error_rate == 0.0 && c.throttle_rate == 0.0 && c.drop_rate == 0.0 {
            return None;
        }
        let (a, b) = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (rng.next_f64(), rng.next_f64())
        };
        if a < c.drop_rate {
            let stream = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other("kubesim dropped the connection"))
            });
            return Some(Response::new(axum::body::Body::from_stream(stream)));
        }
        if a < c.drop_rate + c.throttle_rate {
            return Some(ApiError::too_many_requests(c.retry_after_seconds.max(1)).into_response());
        }
        if a < c.drop_rate + c.throttle_rate + c.error_rate {
            return Some(
                if b < 0.5 {
                    ApiError::internal("kubesim: injected fault")
                } else {
                    ApiError::unavailable()
                }
                .into_response(),
            );
        }
        None
    }
}

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
}

impl Shared {
    pub fn new(config: Config) -> Arc<Self> {
        let shared = Arc::new(Self {
            store: Store::new(config.history),
            scenarios: RwLock::new(config.scenarios.clone()),
            faults: Faults::new(config.faults.clone()),
            logs: crate::logs::Logs::default(),
            ip: AtomicU32::new(10),
            config,
        });
        for ns in &shared.config.namespaces {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = crate::api::create_object(&shared, crate::resources::NAMESPACES, "", obj);
        }
        crate::nodes::register(&shared);
        shared
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

/// `*`-globs: `registry.test/bad*` matches `registry.test/bad:1`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_images() {
        assert!(glob_match("registry.test/bad*", "registry.test/bad:1"));
        assert!(glob_match("*crash*", "x/crash-me:2"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("a*z", "abc"));
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let xs: Vec<f64> = (0..5).map(|_| a.next_f64()).collect();
        let ys: Vec<f64> = (0..5).map(|_| b.next_f64()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
