//! `metrics.k8s.io/v1beta1`, as metrics-server serves it: the usage of each node and of
//! each running pod's containers (`kubectl top`, the Python client's metrics helpers).
//! The figures are small, steady and made up; what is real is which pods are running.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::nodes;
use crate::registry::now;
use crate::resources::PODS;
use crate::selector::LabelSelector;
use crate::sim::Shared;
use crate::status::ApiError;

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";

/// `/apis/metrics.k8s.io/v1beta1`.
pub fn resource_list() -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/{VERSION}"),
           "resources": [
               {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
               {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}]})
}

fn running(p: &Value) -> bool {
    p.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn pod_metrics(p: &Value) -> Value {
    let containers: Vec<Value> = p
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| json!({"name": c["name"], "usage": {"cpu": "1m", "memory": "4Mi"}}))
        .collect();
    json!({"kind": "PodMetrics", "apiVersion": format!("{GROUP}/{VERSION}"),
           "metadata": {"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"],
                        "labels": p.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                        "creationTimestamp": now()},
           "timestamp": now(), "window": "15s", "containers": containers})
}

/// Answers a GET below `/apis/metrics.k8s.io/v1beta1/`.
pub fn handle(sim: &Shared, rest: &[&str], q: &HashMap<String, String>) -> Result<Value, ApiError> {
    let selector = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))
        .map_err(ApiError::bad_request)?;
    let pods = |ns: Option<&str>| -> Vec<Value> {
        sim.store
            .list(&PODS.qualified_plural(), ns)
            .0
            .iter()
            .filter(|p| running(p) && selector.matches(p))
            .map(|p| pod_metrics(p))
            .collect()
    };
    let list = |kind: &str, items: Vec<Value>| json!({"kind": kind, "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {}, "items": items});
    let not_found = |what: &str, name: &str| {
        ApiError::not_found_message(format!("{what}.{GROUP} {name:?} not found"))
    };
    match rest {
        ["nodes"] => Ok(list(
            "NodeMetricsList",
            nodes::NAMES.iter().map(|n| node_metrics(sim, n)).collect(),
        )),
        ["nodes", name] if nodes::NAMES.contains(name) => Ok(node_metrics(sim, name)),
        ["nodes", name] => Err(not_found("nodemetrics", name)),
        ["pods"] => Ok(list("PodMetricsList", pods(None))),
        ["namespaces", ns, "pods"] => Ok(list("PodMetricsList", pods(Some(ns)))),
        ["namespaces", ns, "pods", name] => pods(Some(ns))
            .into_iter()
            .find(|p| p["metadata"]["name"] == *name)
            .ok_or_else(|| not_found("podmetrics", name)),
        _ => Err(ApiError::not_found_path()),
    }
}

fn node_metrics(sim: &Shared, node: &str) -> Value {
    let on_node = sim
        .store
        .list(&PODS.qualified_plural(), None)
        .0
        .iter()
        .filter(|p| running(p) && s(p, "/spec/nodeName") == node)
        .count();
    json!({"kind": "NodeMetrics", "apiVersion": format!("{GROUP}/{VERSION}"),
           "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}, "creationTimestamp": now()},
           "timestamp": now(), "window": "15s",
           "usage": {"cpu": format!("{}m", 50 + on_node), "memory": format!("{}Mi", 512 + 4 * on_node)}})
}
