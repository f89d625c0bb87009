//! Adoption's pure half: which objects of a namespace make up an environment built by
//! hand with the team's templates, which client each belongs to, the per-client
//! generated values they hold, and what adopting one writes (ownership) and records
//! (revision 0). The engine lists the cluster and acts; everything decided is here.
//!
//! The templates are matched as *shapes*: each rendered with a mark in place of every
//! macro value ([`pattern::mark`]). An object name `lms-config-⟨0⟩` finds `lms-config-c42`
//! and says C42; a DSN `postgres://⟨0⟩:⟨5⟩@⟨3⟩:5432/…` at the same place in the live
//! ConfigMap gives the password that macro 5 stands for.

pub mod pattern;
mod shape;

pub use shape::{Marks, Shape, shapes};

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::client::ClientId;
use crate::default_templates::{CLIENT_LABEL, MANAGED_BY};
use crate::drift::ADOPTED_CONFIG_HASH;
use pattern::Pattern;

/// A live object named in a report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectKey {
    pub kind: String,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn key_of(v: &Value) -> ObjectKey {
    ObjectKey {
        kind: v["kind"].as_str().unwrap_or("").to_owned(),
        name: name_of(v).to_owned(),
    }
}

/// The objects of one environment found in the cluster.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The client id as the cluster writes it (`c42` in names).
    pub written: String,
    /// Each template's live object (with `kind`).
    pub objects: BTreeMap<String, Value>,
    /// Required objects not found: what their names would be.
    pub missing: Vec<ObjectKey>,
}

impl Found {
    /// Whether every object found already carries tenantry's labels for this client.
    pub fn managed(&self, client: ClientId) -> bool {
        !self.objects.is_empty() && self.objects.values().all(|o| is_ours(o, client))
    }
}

/// Whether `o` carries tenantry's labels for `client`.
pub fn is_ours(o: &Value, client: ClientId) -> bool {
    let labels = o.pointer("/metadata/labels");
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    label(MANAGED_BY.0) == Some(MANAGED_BY.1) && label(CLIENT_LABEL) == Some(&client.to_string())
}

/// What a namespace holds, sorted into environments.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub environments: BTreeMap<ClientId, Found>,
    /// Objects of the kinds environments are made of that no template's name matched
    /// (not tenantry's, not the cluster's own).
    pub unmatched: Vec<ObjectKey>,
}

/// Objects every namespace has, or that a controller owns: never an environment's.
fn is_cluster_own(o: &Value) -> bool {
    let name = name_of(o);
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty())
        || (o["kind"] == "ConfigMap" && name == "kube-root-ca.crt")
        || (o["kind"] == "Secret" && o["type"] == "kubernetes.io/service-account-token")
        || (o["kind"] == "Service" && name == "kubernetes")
}

/// Sorts `live` (objects with `kind`) into environments by the names the shapes give
/// them, case-insensitively.
pub fn discover(shapes: &[Shape], marks: &Marks, live: &[Value]) -> Discovery {
    let patterns: Vec<(&Shape, Pattern)> = shapes
        .iter()
        .filter_map(|s| {
            let p = Pattern::of(s.name())?;
            let has_client = p.holes().any(|h| h == marks.client);
            has_client.then_some((s, p))
        })
        .collect();
    let hole = |i| marks.hole(i);
    let mut out = Discovery::default();
    for o in live {
        let kind = o["kind"].as_str().unwrap_or("");
        let name = name_of(o);
        let hit = patterns
            .iter()
            .filter(|(s, _)| s.kind == kind)
            .find_map(|(s, p)| {
                let written = p.captures(name, &hole)?.remove(&marks.client)?;
                let id = ClientId::parse(&written).ok()?;
                Some((s, id, written))
            });
        match hit {
            Some((s, id, written)) => {
                let env = out.environments.entry(id).or_default();
                if env.written.is_empty() {
                    env.written = written;
                }
                env.objects.insert(s.template.clone(), o.clone());
            }
            None if o
                .pointer("/metadata/labels")
                .and_then(|l| l.get(CLIENT_LABEL))
                .is_some() => {}
            None if is_cluster_own(o) => {}
            None => out.unmatched.push(key_of(o)),
        }
    }
    for (id, env) in &mut out.environments {
        let lower = id.to_string().to_lowercase();
        for (s, _) in &patterns {
            if s.required() && !env.objects.contains_key(&s.template) {
                let name = s.name().replace(&pattern::mark(marks.client), &lower);
                env.missing.push(ObjectKey {
                    kind: s.kind.clone(),
                    name: strip_marks(&name),
                });
            }
        }
    }
    out.unmatched.sort();
    out
}

/// A marked text with its remaining marks shown as `…`.
fn strip_marks(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '\u{1}' => {
                inside = true;
                out.push('…');
            }
            '\u{2}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// A generated value read from a live object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub value: String,
    /// Where: `ConfigMap lms-config-c42 data.LMS_STORAGE_POSTGRES_DSN`.
    pub from: String,
}

/// The generated values an environment's objects hold.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// By macro name.
    pub values: BTreeMap<String, Taken>,
    /// Values found twice, differently: which one was kept and why.
    pub conflicts: Vec<String>,
}

/// Reads the generated values `found` holds, where its templates put them.
pub fn extract(shapes: &[Shape], marks: &Marks, found: &Found) -> Extracted {
    let mut seen: BTreeMap<String, Vec<(Taken, bool)>> = BTreeMap::new();
    for s in shapes {
        let Some(live) = found.objects.get(&s.template) else {
            continue;
        };
        let mut hits = Vec::new();
        walk(&s.body, live, &mut String::new(), marks, &mut hits);
        for (mark, value, path) in hits {
            let Some(name) = marks.names.get(mark) else {
                continue;
            };
            let from = format!("{} {} {path}", s.kind, name_of(live));
            seen.entry(name.clone())
                .or_default()
                .push((Taken { value, from }, s.kind == "Job"));
        }
    }
    let mut out = Extracted::default();
    for (name, mut takes) in seen {
        // The running environment reads its ConfigMap and Secret; a Job ran once.
        takes.sort_by_key(|(_, job)| *job);
        let (first, _) = takes[0].clone();
        for (t, _) in &takes[1..] {
            if t.value != first.value {
                out.conflicts.push(format!(
                    "{{{{{name}}}}} differs between {} and {}; the first is kept",
                    first.from, t.from
                ));
            }
        }
        out.values.insert(name, first);
    }
    out
}

/// Walks a shape and a live object side by side; every string of the shape holding a
/// generated value's mark is matched against the live string in its place.
fn walk(
    shape: &Value,
    live: &Value,
    path: &mut String,
    marks: &Marks,
    out: &mut Vec<(usize, String, String)>,
) {
    match (shape, live) {
        (Value::Object(s), Value::Object(l)) => {
            for (k, sv) in s {
                let Some(lv) = l.get(k) else { continue };
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(sv, lv, path, marks, out);
                path.truncate(len);
            }
        }
        (Value::Array(s), Value::Array(l)) => {
            for (i, sv) in s.iter().enumerate() {
                // Items with a plain name (containers, env vars) are paired by it: an
                // older template may list them in another order or have others.
                let lv = match sv.get("name").and_then(Value::as_str) {
                    Some(n) if Pattern::of(n).is_none() => l
                        .iter()
                        .find(|x| x.get("name").and_then(Value::as_str) == Some(n)),
                    _ => l.get(i),
                };
                let Some(lv) = lv else { continue };
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(sv, lv, path, marks, out);
                path.truncate(len);
            }
        }
        (Value::String(s), Value::String(l)) => {
            let Some(p) = Pattern::of(s) else { return };
            let wanted = |i: usize| marks.generated.contains_key(&i);
            if !p.holes().any(wanted) {
                return;
            }
            let hole = |i| marks.hole(i);
            let got = p
                .captures(l, &hole)
                .or_else(|| p.up_to_last(&wanted)?.captures(l, &hole));
            for (i, v) in got.into_iter().flatten().filter(|(i, _)| wanted(*i)) {
                out.push((i, v, path.clone()));
            }
        }
        _ => {}
    }
}

/// The merge patch that makes `live` tenantry's for `client`: its labels, and on a
/// Deployment the config hash its pods run with (an annotation of the Deployment, not of
/// its pod template, so no pod restarts). The resource version makes it refused if the
/// object changed since it was read.
pub fn ownership_patch(live: &Value, client: ClientId, config_hash: Option<&str>) -> Value {
    let mut meta = json!({
        "resourceVersion": live.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null),
        "labels": {MANAGED_BY.0: MANAGED_BY.1, CLIENT_LABEL: client.to_string()},
    });
    if let Some(h) = config_hash {
        meta["annotations"] = json!({ ADOPTED_CONFIG_HASH: h });
    }
    json!({ "metadata": meta })
}

/// Server metadata a recorded object does not keep.
const SERVER_META: &[&str] = &[
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "ownerReferences",
];

/// Annotations the server or kubectl write.
const SERVER_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
];

/// `live` as revision 0 records it: the object as adopted (ownership applied), without
/// status and server metadata; a Job without the selector the server made for it, so a
/// rollback can create it again.
pub fn as_recorded(
    shape: &Shape,
    live: &Value,
    client: ClientId,
    config_hash: Option<&str>,
) -> Value {
    let mut o = live.clone();
    let Some(m) = o.as_object_mut() else {
        return o;
    };
    m.remove("status");
    m.insert("kind".into(), json!(shape.kind));
    m.insert("apiVersion".into(), json!(shape.api_version));
    let meta = m
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        for k in SERVER_META {
            meta.remove(*k);
        }
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        labels[MANAGED_BY.0] = json!(MANAGED_BY.1);
        labels[CLIENT_LABEL] = json!(client.to_string());
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            for k in SERVER_ANNOTATIONS {
                a.remove(*k);
            }
            if let Some(h) = config_hash {
                a.insert(ADOPTED_CONFIG_HASH.into(), json!(h));
            }
        }
        if annotations.as_object().is_some_and(Map::is_empty) {
            meta.remove("annotations");
        }
    }
    if shape.kind == "Job" {
        if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("selector");
        }
        if let Some(Value::Object(l)) = o.pointer_mut("/spec/template/metadata/labels") {
            l.remove("controller-uid");
            l.remove("batch.kubernetes.io/controller-uid");
        }
    }
    o
}

#[cfg(test)]
mod tests;
