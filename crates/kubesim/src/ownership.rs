//! Field ownership (`metadata.managedFields`), as server-side apply keeps it: which
//! manager set which field, with which operation. An apply conflicts with another
//! manager's field it would change (unless forced, which takes the field over); a field
//! an applier stops applying is removed unless someone else owns it; every other write
//! (create, update, patch) makes its manager the owner of what it changed. Pure: objects
//! in, objects out; no HTTP, no store.
//!
//! Paths are the API's `FieldsV1` keys from the object's root: `f:spec`, `f:replicas`;
//! list items by merge key `k:{"name":"web"}` (the item itself is its `.`), set items by
//! value `v:"x"`; lists without a merge key are one field.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::smp::{ListStrategy, context_of, strategy};

pub type Path = Vec<String>;

/// One manager's entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: String,
    fields: BTreeSet<Path>,
}

/// Who wrote, and how: the manager, `Apply` or `Update`, the object's apiVersion, the time,
/// and whether the status subresource was written.
#[derive(Debug, Clone)]
pub struct Writer {
    pub manager: String,
    pub api_version: String,
    pub now: String,
    pub status: bool,
}

/// Fields another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflicts(pub Vec<(String, String, String)>);

impl Conflicts {
    /// The API server's message: `Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas`.
    pub fn message(&self) -> String {
        let n = self.0.len();
        let noun = if n == 1 { "conflict" } else { "conflicts" };
        let each: Vec<String> = self
            .0
            .iter()
            .map(|(m, v, f)| format!("conflict with {m:?} using {v}: {f}"))
            .collect();
        format!("Apply failed with {n} {noun}: {}", each.join("\n"))
    }
}

/// The leaf paths `obj` sets: the spec (or, for a status write, the status) and the
/// metadata a manager owns (labels, annotations, finalizers, owner references).
pub fn paths(kind: &str, obj: &Value, status: bool) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let Value::Object(map) = obj else {
        return out;
    };
    for (k, v) in map {
        let wanted = match k.as_str() {
            "apiVersion" | "kind" => false,
            "status" => status,
            "metadata" => true,
            _ => !status,
        };
        if !wanted {
            continue;
        }
        let here = vec![format!("f:{k}")];
        if k == "metadata" {
            if let Value::Object(meta) = v {
                for key in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(inner) = meta.get(key) {
                        let p = vec![here[0].clone(), format!("f:{key}")];
                        walk("", key, inner, p, &mut out);
                    }
                }
            }
            continue;
        }
        walk(kind, k, v, here, &mut out);
    }
    out
}

fn walk(parent: &str, field: &str, v: &Value, here: Path, out: &mut BTreeSet<Path>) {
    let ctx = context_of(parent, field);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, inner) in map {
                let mut p = here.clone();
                p.push(format!("f:{k}"));
                walk(ctx, k, inner, p, out);
            }
        }
        Value::Array(items) => match strategy(parent, field) {
            ListStrategy::MergeOn(key) => {
                for item in items {
                    let mut p = here.clone();
                    p.push(item_key(key, item));
                    let mut me = p.clone();
                    me.push(".".to_owned());
                    out.insert(me);
                    if let Value::Object(m) = item {
                        for (k, inner) in m {
                            let mut q = p.clone();
                            q.push(format!("f:{k}"));
                            walk(ctx, k, inner, q, out);
                        }
                    }
                }
            }
            ListStrategy::Set => {
                for item in items {
                    let mut p = here.clone();
                    p.push(format!("v:{item}"));
                    out.insert(p);
                }
            }
            ListStrategy::Replace => {
                out.insert(here);
            }
        },
        _ => {
            out.insert(here);
        }
    }
}

fn item_key(key: &str, item: &Value) -> String {
    format!(
        "k:{}",
        json!({key: item.get(key).cloned().unwrap_or(Value::Null)})
    )
}

/// The value at `path` in `obj` (`None` when absent).
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut v = obj;
    for step in path {
        v = step_into(v, step)?;
    }
    Some(v)
}

fn step_into<'a>(v: &'a Value, step: &str) -> Option<&'a Value> {
    if step == "." {
        return Some(v);
    }
    if let Some(k) = step.strip_prefix("f:") {
        return v.get(k);
    }
    let items = v.as_array()?;
    if let Some(k) = step.strip_prefix("k:") {
        let wanted: Map<String, Value> = serde_json::from_str(k).ok()?;
        return items
            .iter()
            .find(|i| wanted.iter().all(|(kk, vv)| i.get(kk) == Some(vv)));
    }
    let item: Value = serde_json::from_str(step.strip_prefix("v:")?).ok()?;
    items.iter().find(|i| **i == item)
}

/// Removes what `path` names from `obj`: a field, or a list item (its `.`).
fn remove_at(obj: &mut Value, path: &[String]) {
    let (last, parent) = match path {
        [parent @ .., item, dot] if dot == "." => (item, parent),
        [parent @ .., last] => (last, parent),
        [] => return,
    };
    let mut v = obj;
    for step in parent {
        let next = match step.strip_prefix("f:") {
            Some(k) => v.get_mut(k),
            None => {
                let found = step_into(v, step).cloned();
                v.as_array_mut()
                    .and_then(|items| items.iter_mut().find(|i| Some(&**i) == found.as_ref()))
            }
        };
        let Some(next) = next else { return };
        v = next;
    }
    if let Some(k) = last.strip_prefix("f:") {
        if let Some(m) = v.as_object_mut() {
            m.remove(k);
        }
    } else if let Some(found) = step_into(v, last).cloned()
        && let Some(items) = v.as_array_mut()
    {
        items.retain(|i| *i != found);
    }
}

/// The path as the API server names it in a conflict: `.spec.containers[name="web"].image`.
pub fn display(path: &[String]) -> String {
    let mut s = String::new();
    for step in path {
        if let Some(f) = step.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = step.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = step.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

fn read(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|e| {
            let text = |k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut fields = BTreeSet::new();
            collect(e.get("fieldsV1")?, Vec::new(), &mut fields);
            Some(Entry {
                manager: text("manager"),
                operation: text("operation"),
                api_version: text("apiVersion"),
                time: text("time"),
                subresource: text("subresource"),
                fields,
            })
        })
        .collect()
}

fn collect(tree: &Value, here: Path, out: &mut BTreeSet<Path>) {
    match tree {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let mut p = here.clone();
                p.push(k.clone());
                collect(v, p, out);
            }
        }
        _ if !here.is_empty() => {
            out.insert(here);
        }
        _ => {}
    }
}

fn tree(fields: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for step in path {
            node = node
                .entry(step.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("a FieldsV1 node is an object");
        }
    }
    Value::Object(root)
}

fn write_entries(obj: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({"manager": e.manager, "operation": e.operation,
                "apiVersion": e.api_version, "time": e.time, "fieldsType": "FieldsV1",
                "fieldsV1": tree(&e.fields)});
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".to_owned(), Value::Array(list));
        }
    }
}

fn entry_of<'e>(entries: &'e mut Vec<Entry>, w: &Writer, operation: &str) -> &'e mut Entry {
    let sub = if w.status { "status" } else { "" };
    let at = entries
        .iter()
        .position(|e| e.manager == w.manager && e.operation == operation && e.subresource == sub);
    let at = at.unwrap_or_else(|| {
        entries.push(Entry {
            manager: w.manager.to_owned(),
            operation: operation.to_owned(),
            api_version: w.api_version.to_owned(),
            time: String::new(),
            subresource: sub.to_owned(),
            fields: BTreeSet::new(),
        });
        entries.len() - 1
    });
    let e = &mut entries[at];
    e.time = w.now.to_owned();
    e.api_version = w.api_version.to_owned();
    e
}

/// A write that is not an apply (create, update, patch): `w.manager` owns what it changed;
/// fields that went away are no one's. `next` gets the new `managedFields`.
pub fn record_update(kind: &str, before: Option<&Value>, next: &mut Value, w: &Writer) {
    let now_set = paths(kind, next, w.status);
    let changed: BTreeSet<Path> = now_set
        .iter()
        .filter(|p| {
            before.is_none_or(|b| match p.last().map(String::as_str) {
                Some(".") => value_at(b, p).is_none(),
                _ => value_at(b, p) != value_at(next, p),
            })
        })
        .cloned()
        .collect();
    let sub = if w.status { "status" } else { "" };
    let mut entries = before.map(read).unwrap_or_default();
    for e in entries.iter_mut().filter(|e| e.subresource == sub) {
        e.fields.retain(|p| now_set.contains(p));
        if e.manager != w.manager {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        entry_of(&mut entries, w, "Update").fields.extend(changed);
    }
    write_entries(next, entries);
}

/// A server-side apply of `applied` by `w.manager` over `current` (`None`: the object is
/// created by it): the object it makes, or the other managers' fields it would change.
pub fn apply(
    kind: &str,
    current: Option<&Value>,
    applied: &Value,
    w: &Writer,
    force: bool,
) -> Result<Value, Conflicts> {
    let applied_set = paths(kind, applied, w.status);
    let mut entries = current.map(read).unwrap_or_default();
    let mut next = current.cloned().unwrap_or_else(|| json!({}));
    let mut patch = applied.clone();
    if let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    crate::smp::apply(kind, &mut next, &patch);

    let sub = if w.status { "status" } else { "" };
    let mine = |e: &Entry| e.manager == w.manager && e.operation == "Apply" && e.subresource == sub;
    // A list item's `.` is its existence, not its content (its fields are their own).
    let differs = |p: &Path| {
        let (was, will) = (current.and_then(|c| value_at(c, p)), value_at(applied, p));
        if p.last().is_some_and(|s| s == ".") {
            was.is_some() != will.is_some()
        } else {
            was != will
        }
    };
    let mut conflicts = Vec::new();
    let others = |e: &Entry| !mine(e) && e.subresource == sub;
    for e in entries.iter().filter(|e| others(e)) {
        for p in e.fields.intersection(&applied_set).filter(|p| differs(p)) {
            conflicts.push((e.manager.clone(), e.api_version.clone(), display(p)));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(Conflicts(conflicts));
    }
    // Forced: the fields change hands. Equal values are owned by both.
    for e in entries.iter_mut().filter(|e| others(e)) {
        e.fields
            .retain(|p| !(applied_set.contains(p) && differs(p)));
    }
    // What this manager applied before and applies no more goes, unless someone else owns it.
    let before: BTreeSet<Path> = entries
        .iter()
        .find(|e| mine(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut dropped: Vec<&Path> = before
        .difference(&applied_set)
        .filter(|p| !entries.iter().any(|e| others(e) && e.fields.contains(*p)))
        .collect();
    // Deepest first, so an item's fields go before the item.
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        remove_at(&mut next, p);
    }
    entry_of(&mut entries, w, "Apply").fields = applied_set;
    write_entries(&mut next, entries);
    Ok(next)
}

#[cfg(test)]
mod tests;
