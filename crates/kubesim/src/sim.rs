//! The simulator's state, shared by the API handlers and the controllers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, header};
use serde_json::json;

use crate::config::Config;
use crate::faults::Faults;
use crate::scenarios::Scenarios;
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
