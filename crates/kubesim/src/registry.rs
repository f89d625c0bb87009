//! The registry: what an object write means, beneath both the HTTP layer (`api`) and the
//! simulated controllers. Creating (defaults, validation, server metadata), committing a
//! write of an existing object (preconditions, finalizers, dry runs), and deleting (owner
//! references, propagation, finalizers). Nothing here knows HTTP.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::{self, RESOURCES, Resource};
use crate::sim::Shared;
use crate::status::{ApiError, Cause};
use crate::store::{Key, StoreError, rv_of};
use crate::validate::{apply_defaults, validate};

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn store_err(res: &Resource, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found(res, name),
        StoreError::AlreadyExists => ApiError::already_exists(res, name),
        StoreError::Conflict => ApiError::conflict(res, name),
        StoreError::Gone { oldest } => {
            ApiError::gone(format!("too old resource version: {oldest}"))
        }
    }
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

pub fn has_spec(kind: &str) -> bool {
    !matches!(
        kind,
        "ConfigMap" | "Secret" | "Event" | "Namespace" | "ServiceAccount" | "Role" | "RoleBinding"
    )
}

pub fn initial_status(kind: &str) -> Option<Value> {
    match kind {
        "Pod" => Some(json!({"phase": "Pending", "qosClass": "BestEffort"})),
        "Deployment" | "Job" | "CronJob" | "APIService" => Some(json!({})),
        // The fields these statuses require, as the API server answers a create.
        "ReplicaSet" | "ReplicationController" => Some(json!({"replicas": 0})),
        "StatefulSet" => Some(json!({"replicas": 0, "availableReplicas": 0})),
        "DaemonSet" => Some(json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
                                   "desiredNumberScheduled": 0, "numberReady": 0})),
        "Service" => Some(json!({"loadBalancer": {}})),
        "Ingress" => Some(json!({"loadBalancer": {}})),
        _ => None,
    }
}

pub fn random_suffix() -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let u = uuid::Uuid::new_v4();
    u.as_bytes()
        .iter()
        .take(5)
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect()
}

/// Prepares and stores a new object: what `POST` does, also used by controllers.
pub fn create_object(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    mut obj: Value,
) -> Result<Value, ApiError> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta_ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if res.namespaced {
        if meta_ns.as_deref().is_some_and(|m| m != ns) {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        obj["metadata"]["namespace"] = json!(ns);
        if sim
            .store
            .get(&Key::new(resources::NAMESPACES, "", ns))
            .is_none()
        {
            return Err(ApiError::not_found(resources::NAMESPACES, ns));
        }
    }
    if obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
        {
            Some(g) if !g.is_empty() => {
                obj["metadata"]["name"] = json!(format!("{g}{}", random_suffix()))
            }
            _ => {
                return Err(ApiError::invalid(
                    res,
                    "",
                    vec![Cause::required(
                        "metadata.name",
                        "name or generateName is required",
                    )],
                ));
            }
        }
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let uid = uuid::Uuid::new_v4().to_string();
    apply_defaults(res.kind, &mut obj, &uid, &sim.next_cluster_ip());
    if res.kind == "Secret" {
        fold_string_data(&mut obj);
    }
    let causes = validate(res.kind, &obj);
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, &name, causes));
    }
    if res.kind == "Secret" {
        decode_secret_data(&obj)?;
    }
    let meta = &mut obj["metadata"];
    meta["uid"] = json!(uid);
    meta["creationTimestamp"] = json!(now());
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
    }
    if has_spec(res.kind) {
        meta["generation"] = json!(1);
    }
    if let Some(s) = initial_status(res.kind) {
        obj["status"] = s;
    }
    sim.store
        .create(Key::new(res, ns, &name), obj)
        .map(|v| (*v).clone())
        .map_err(|e| store_err(res, &name, e))
}

/// A Secret's `stringData`, written into `data` as base64 (over what `data` had for the
/// same key) and not stored, as the API server does.
pub fn fold_string_data(obj: &mut Value) {
    use base64::Engine;
    let Some(Value::Object(plain)) = obj.as_object_mut().and_then(|o| o.remove("stringData"))
    else {
        return;
    };
    if !obj["data"].is_object() {
        obj["data"] = json!({});
    }
    for (k, v) in plain {
        let text = v.as_str().unwrap_or("");
        obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

pub fn decode_secret_data(obj: &Value) -> Result<(), ApiError> {
    use base64::Engine;
    for (k, v) in obj
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let s = v.as_str().unwrap_or("");
        base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| {
            ApiError::bad_request(format!("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[{k:?}]: {e}"))
        })?;
    }
    Ok(())
}

/// Stores a write of an existing object (or, in a dry run, only checks it): the version
/// it was read at must still be current; an object being deleted takes no new
/// finalizers, and goes once its last finalizer is removed.
pub fn commit(
    sim: &Shared,
    res: &Resource,
    key: &Key,
    current: &Value,
    next: Value,
    expect: Option<u64>,
    dry: bool,
) -> Result<Value, ApiError> {
    if terminating(current) {
        let before = finalizers(current);
        let added: Vec<String> = finalizers(&next)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list = added
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::invalid(
                res,
                &key.name,
                vec![Cause::forbidden(
                    "metadata.finalizers",
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                    ),
                )],
            ));
        }
    }
    if dry {
        if expect.is_some_and(|e| Some(e) != rv_of(current)) {
            return Err(ApiError::conflict(res, &key.name));
        }
        return Ok(next);
    }
    let v = sim
        .store
        .update(key, next, expect)
        .map_err(|e| store_err(res, &key.name, e))?;
    if terminating(&v) && finalizers(&v).is_empty() {
        let _ = remove_object(sim, res, &key.ns, &key.name, false);
    }
    Ok((*v).clone())
}

/// Builds the object that replaces `current`: server-owned fields kept, status kept unless
/// this is the status subresource, generation bumped when the spec changed.
pub fn merge_update(
    res: &Resource,
    current: &Value,
    mut next: Value,
    status_only: bool,
) -> Result<Value, ApiError> {
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if status_only {
        let mut out = current.clone();
        out["status"] = next.get("status").cloned().unwrap_or(json!({}));
        return Ok(out);
    }
    for k in [
        "uid",
        "creationTimestamp",
        "namespace",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        if let Some(v) = current.pointer(&format!("/metadata/{k}")) {
            next["metadata"][k] = v.clone();
        }
    }
    if let Some(s) = current.get("status") {
        next["status"] = s.clone();
    }
    if res.kind == "Job" {
        let uid = current
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        apply_defaults("Job", &mut next, &uid, "");
        let mut causes = Vec::new();
        if next.pointer("/spec/template") != current.pointer("/spec/template") {
            causes.push(Cause::immutable("spec.template"));
        }
        if next.pointer("/spec/selector") != current.pointer("/spec/selector") {
            causes.push(Cause::immutable("spec.selector"));
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(res, &name, causes));
        }
    } else {
        let ip = current
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("10.96.0.1")
            .to_owned();
        apply_defaults(res.kind, &mut next, "", &ip);
    }
    if res.kind == "Secret" {
        fold_string_data(&mut next);
        decode_secret_data(&next)?;
    }
    let mut causes = crate::immutable::update_causes(res.kind, current, &next);
    causes.extend(validate(res.kind, &next));
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, &name, causes));
    }
    if has_spec(res.kind) && next.get("spec") != current.get("spec") {
        let g = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        next["metadata"]["generation"] = json!(g + 1);
    }
    Ok(next)
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Deletes an object: one with finalizers is marked (`deletionTimestamp`) and goes when
/// the last is removed; one without goes at once with, unless orphaned, what it owns.
pub fn delete_object(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    orphan: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(res, ns, name);
    let current = stored(sim, res, &key)?;
    if finalizers(&current).is_empty() {
        return remove_object(sim, res, ns, name, orphan);
    }
    if terminating(&current) {
        return Ok((*current).clone());
    }
    sim.store
        .modify(&key, |cur| {
            let mut next = cur.clone();
            next["metadata"]["deletionTimestamp"] = json!(now());
            next["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            Some(next)
        })
        .map(|v| (*v).clone())
        .map_err(|e| store_err(res, name, e))
}

/// Removes an object now and, unless orphaned, everything it owns.
pub fn remove_object(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    orphan: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(res, ns, name);
    let gone = sim
        .store
        .delete(&key)
        .map_err(|e| store_err(res, name, e))?;
    let uid = gone
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let scope = if res.kind == "Namespace" {
        Some(name)
    } else {
        (!ns.is_empty()).then_some(ns)
    };
    for r in RESOURCES.iter().filter(|r| r.namespaced) {
        let (items, _) = sim.store.list(&r.qualified_plural(), scope);
        for o in items {
            let owned = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()));
            let in_ns = res.kind == "Namespace";
            let n = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let ons = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if in_ns {
                let _ = remove_object(sim, r, &ons, &n, false);
            } else if owned && !orphan {
                // The garbage collector deletes a dependent as any client would: one with
                // finalizers stays, terminating, until they are removed.
                let _ = delete_object(sim, r, &ons, &n, false);
            } else if owned {
                let _ = sim.store.modify(&Key::new(r, &ons, &n), |cur| {
                    let mut next = cur.clone();
                    if let Some(refs) = next
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    Some(next)
                });
            }
        }
    }
    Ok((*gone).clone())
}

/// The stored object at `key`, or the NotFound the API server answers.
pub fn stored(sim: &Shared, res: &Resource, key: &Key) -> Result<Arc<Value>, ApiError> {
    sim.store
        .get(key)
        .ok_or_else(|| ApiError::not_found(res, &key.name))
}
