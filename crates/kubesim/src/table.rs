//! Server-side printing: the `Table` kubectl asks for (`Accept: …;as=Table`), with the
//! columns a real cluster shows for each kind.

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use crate::resources::Resource;

/// Whether the client asked for a Table.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.contains("as=Table") && a.contains("g=meta.k8s.io"))
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn i(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

/// `5s`, `3m`, `2h`, `4d`, as kubectl shows ages.
pub fn age(timestamp: &str) -> String {
    let Ok(t) =
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
    else {
        return "<unknown>".into();
    };
    let secs = (time::OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

fn pod_status(p: &Value) -> String {
    let statuses = p
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for c in statuses.into_iter().flatten() {
        for state in ["waiting", "terminated"] {
            let r = c
                .pointer(&format!("/state/{state}/reason"))
                .and_then(Value::as_str);
            if let Some(r) = r
                && !(state == "terminated" && r == "Completed")
            {
                return r.to_owned();
            }
        }
    }
    match s(p, "/status/phase") {
        "Succeeded" => "Completed".into(),
        "" => "Pending".into(),
        other => other.into(),
    }
}

fn columns(kind: &str) -> Vec<(&'static str, &'static str)> {
    let mut c = match kind {
        "Pod" => vec![
            ("Name", "string"),
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "integer"),
        ],
        "Deployment" => vec![
            ("Name", "string"),
            ("Ready", "string"),
            ("Up-to-date", "string"),
            ("Available", "string"),
        ],
        "ReplicaSet" => vec![
            ("Name", "string"),
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
        ],
        "Job" => vec![
            ("Name", "string"),
            ("Status", "string"),
            ("Completions", "string"),
        ],
        "Service" => vec![
            ("Name", "string"),
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
        ],
        "ConfigMap" => vec![("Name", "string"), ("Data", "integer")],
        "Secret" => vec![("Name", "string"), ("Type", "string"), ("Data", "integer")],
        "Ingress" => vec![
            ("Name", "string"),
            ("Class", "string"),
            ("Hosts", "string"),
            ("Address", "string"),
            ("Ports", "string"),
        ],
        "Namespace" => vec![("Name", "string"), ("Status", "string")],
        "Node" => vec![
            ("Name", "string"),
            ("Status", "string"),
            ("Roles", "string"),
        ],
        "DaemonSet" => vec![
            ("Name", "string"),
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        "StatefulSet" => vec![("Name", "string"), ("Ready", "string")],
        "ReplicationController" => vec![
            ("Name", "string"),
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
        ],
        "Event" => vec![
            ("Last Seen", "string"),
            ("Type", "string"),
            ("Reason", "string"),
            ("Object", "string"),
            ("Message", "string"),
        ],
        _ => vec![("Name", "string")],
    };
    if kind != "Event" {
        c.push(("Age", "string"));
    }
    c
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let age_cell = json!(age(s(o, "/metadata/creationTimestamp")));
    let count = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_object)
            .map_or(0, serde_json::Map::len)
    };
    let mut c = match kind {
        "Pod" => {
            let cs = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let total = o
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = cs
                .into_iter()
                .flatten()
                .filter(|c| c["ready"] == true)
                .count();
            let restarts: i64 = cs
                .into_iter()
                .flatten()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts),
            ]
        }
        "Deployment" => vec![
            name,
            json!(format!(
                "{}/{}",
                i(o, "/status/readyReplicas"),
                i(o, "/spec/replicas")
            )),
            json!(i(o, "/status/updatedReplicas").to_string()),
            json!(i(o, "/status/availableReplicas").to_string()),
        ],
        "ReplicaSet" => vec![
            name,
            json!(i(o, "/spec/replicas")),
            json!(i(o, "/status/replicas")),
            json!(i(o, "/status/readyReplicas")),
        ],
        "Job" => {
            let conds = o.pointer("/status/conditions").and_then(Value::as_array);
            let has = |t: &str| {
                conds
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == t && c["status"] == "True")
            };
            let status = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else {
                "Running"
            };
            vec![
                name,
                json!(status),
                json!(format!(
                    "{}/{}",
                    i(o, "/status/succeeded"),
                    o.pointer("/spec/completions")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
            ]
        }
        "Service" => {
            let ports: Vec<String> = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect();
            vec![
                name,
                json!(s(o, "/spec/type")),
                json!(s(o, "/spec/clusterIP")),
                json!("<none>"),
                json!(ports.join(",")),
            ]
        }
        "ConfigMap" => vec![name, json!(count("/data") + count("/binaryData"))],
        "Secret" => vec![name, json!(s(o, "/type")), json!(count("/data"))],
        "Ingress" => {
            let hosts: Vec<&str> = o
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r["host"].as_str())
                .collect();
            let ports = if o.pointer("/spec/tls").is_some() {
                "80, 443"
            } else {
                "80"
            };
            vec![
                name,
                json!(
                    o.pointer("/spec/ingressClassName")
                        .and_then(Value::as_str)
                        .unwrap_or("<none>")
                ),
                json!(hosts.join(",")),
                json!(""),
                json!(ports),
            ]
        }
        "Namespace" => vec![name, json!(s(o, "/status/phase"))],
        "Node" => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
            ]
        }
        "DaemonSet" => vec![
            name,
            json!(i(o, "/status/desiredNumberScheduled")),
            json!(i(o, "/status/currentNumberScheduled")),
            json!(i(o, "/status/numberReady")),
            json!(i(o, "/status/updatedNumberScheduled")),
            json!(i(o, "/status/numberAvailable")),
        ],
        "StatefulSet" => vec![
            name,
            json!(format!(
                "{}/{}",
                i(o, "/status/readyReplicas"),
                i(o, "/spec/replicas")
            )),
        ],
        "ReplicationController" => vec![
            name,
            json!(i(o, "/spec/replicas")),
            json!(i(o, "/status/replicas")),
            json!(i(o, "/status/readyReplicas")),
        ],
        "Event" => vec![
            json!(age(s(o, "/lastTimestamp"))),
            json!(s(o, "/type")),
            json!(s(o, "/reason")),
            json!(format!(
                "{}/{}",
                s(o, "/involvedObject/kind").to_lowercase(),
                s(o, "/involvedObject/name")
            )),
            json!(s(o, "/message")),
        ],
        _ => vec![name],
    };
    if kind != "Event" {
        c.push(age_cell);
    }
    c.extend(wide_cells(kind, o));
    c
}

/// The columns `-o wide` adds (priority 1), after the others.
fn wide_columns(kind: &str) -> Vec<(&'static str, &'static str)> {
    match kind {
        "Pod" => vec![("IP", "string"), ("Node", "string")],
        "Node" => vec![
            ("Version", "string"),
            ("Internal-IP", "string"),
            ("External-IP", "string"),
            ("OS-Image", "string"),
            ("Kernel-Version", "string"),
            ("Container-Runtime", "string"),
        ],
        _ => vec![],
    }
}

fn wide_cells(kind: &str, o: &Value) -> Vec<Value> {
    let or_none = |v: &str| json!(if v.is_empty() { "<none>" } else { v });
    match kind {
        "Pod" => vec![
            or_none(s(o, "/status/podIP")),
            or_none(s(o, "/spec/nodeName")),
        ],
        "Node" => {
            let internal = o
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str())
                .unwrap_or("");
            vec![
                json!(s(o, "/status/nodeInfo/kubeletVersion")),
                or_none(internal),
                json!("<none>"),
                json!(s(o, "/status/nodeInfo/osImage")),
                json!(s(o, "/status/nodeInfo/kernelVersion")),
                json!(s(o, "/status/nodeInfo/containerRuntimeVersion")),
            ]
        }
        _ => vec![],
    }
}

/// A Table of `items`.
pub fn table(res: &Resource, items: &[&Value], rv: u64) -> Value {
    let column = |(n, t): (&str, &str), priority: u8| json!({"name": n, "type": t, "format": if n == "Name" { "name" } else { "" }, "description": n, "priority": priority});
    let defs: Vec<Value> = columns(res.kind)
        .into_iter()
        .map(|c| column(c, 0))
        .chain(wide_columns(res.kind).into_iter().map(|c| column(c, 1)))
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            json!({"cells": cells(res.kind, o), "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": o.get("metadata").cloned().unwrap_or(json!({}))}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv.to_string()},
           "columnDefinitions": defs, "rows": rows})
}
