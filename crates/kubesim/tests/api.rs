//! kubesim answers as the real API server does: status codes, `Status` bodies, server-set
//! metadata, selectors, paging, watches, conflicts, immutability, cascading deletes.

mod common;
#[path = "api/controllers.rs"]
mod controllers;
#[path = "api/deletion.rs"]
mod deletion;
#[path = "api/reads.rs"]
mod reads;
#[path = "api/requests.rs"]
mod requests;

use common::{Api, PREFIX, s, sim, sim_with};
use serde_json::{Value, json};

fn cm(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn read_watch(resp: reqwest::Response, n: usize) -> Vec<Value> {
    use futures_util_free::collect_lines;
    collect_lines(resp, n).await
}

mod futures_util_free {
    use serde_json::Value;

    pub async fn collect_lines(mut resp: reqwest::Response, n: usize) -> Vec<Value> {
        let mut buf = String::new();
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while out.len() < n {
            let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                .await
                .expect("watch timed out")
                .unwrap();
            let Some(chunk) = chunk else { break };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(i) = buf.find('\n') {
                let line: String = buf.drain(..=i).collect();
                let v: Value = serde_json::from_str(line.trim()).unwrap();
                if v["type"] != "BOOKMARK" {
                    out.push(v);
                }
            }
        }
        out
    }
}

/// The Events a namespace holds about `kind`/`name`: (reason, message, component).
async fn controller_events(api: &Api, kind: &str, name: &str) -> Vec<(String, String, String)> {
    let sel = format!("involvedObject.kind%3D{kind},involvedObject.name%3D{name}");
    let (_, evs) = api
        .get(&format!(
            "/api/v1/namespaces/default/events?fieldSelector={sel}"
        ))
        .await;
    evs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(e, "/reason").to_owned(),
                s(e, "/message").to_owned(),
                s(e, "/source/component").to_owned(),
            )
        })
        .collect()
}
