//! Shared helpers: a simulator per test and a small JSON client for it.
#![allow(dead_code, reason = "each test file uses a different part")]

use std::time::{Duration, Instant};

use kubesim::{Config, Running, Timings};
use serde_json::Value;

pub const TOKEN: &str = "test-token";
pub const PREFIX: &str = "/k8s/clusters/c-local";

pub async fn sim() -> Running {
    sim_with(|_| {}).await
}

pub async fn sim_with(f: impl FnOnce(&mut Config)) -> Running {
    let mut c = Config {
        token: Some(TOKEN.into()),
        path_prefix: PREFIX.into(),
        timings: Timings::fast(),
        bookmark_interval: Duration::from_millis(100),
        ..Config::default()
    };
    f(&mut c);
    kubesim::start(c).await.unwrap()
}

#[derive(Debug)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    pub fn new(sim: &Running) -> Self {
        Self {
            base: sim.url(),
            http: reqwest::Client::new(),
            token: Some(TOKEN.into()),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.parse().unwrap(), url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", content_type).body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, "").await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(body), "application/json")
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("PUT", path, Some(body), "application/json").await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None, "").await
    }

    /// Polls `path` until `pred` holds, or fails after 5 s with the last object.
    pub async fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let (code, v) = self.get(path).await;
            if code == 200 && pred(&v) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "timed out waiting for {what}: {v:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

pub fn container_state(pod: &Value) -> (String, String, String) {
    let st = pod
        .pointer("/status/containerStatuses/0/state")
        .cloned()
        .unwrap_or_default();
    let (k, inner) = st
        .as_object()
        .and_then(|m| m.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_default();
    (
        k,
        s(&inner, "/reason").to_owned(),
        s(&inner, "/message").to_owned(),
    )
}
