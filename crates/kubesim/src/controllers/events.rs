//! Events the controllers write about the objects they act on, as the real ones do
//! (`ScalingReplicaSet`, `SuccessfulCreate`, `SuccessfulDelete`, `Completed`,
//! `BackoffLimitExceeded`), a repeat counted on the first.

// The controllers share the module's imports and helpers.
use super::*;

/// Who writes an Event: a controller, or the kubelet of a node (which also names the
/// container field it is about).
pub(super) struct Source<'a> {
    pub component: &'a str,
    pub host: Option<&'a str>,
    pub field_path: Option<&'a str>,
}

/// Records an Event about `obj` (of `kind`, in `api_version`) from `source`, a repeat
/// counted on the first.
#[allow(clippy::too_many_arguments)]
pub(super) fn object_event(
    sim: &Shared,
    state: &mut State,
    obj: &Value,
    kind: &str,
    api_version: &str,
    source: &Source<'_>,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let ns = s(obj, "/metadata/namespace").to_owned();
    let name = s(obj, "/metadata/name");
    let key = format!("{ns}/{kind}/{name}/{reason}/{message}");
    let t = now();
    if let Some(ev) = state.events.get(&key) {
        let _ = sim.store.modify(&Key::new(EVENTS, &ns, ev), |cur| {
            let mut n = cur.clone();
            n["count"] = json!(cur["count"].as_i64().unwrap_or(1) + 1);
            n["lastTimestamp"] = json!(t);
            Some(n)
        });
        return;
    }
    let ev_name = format!("{name}.{:x}", uuid::Uuid::new_v4().as_u128() as u64);
    let mut ev = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": ev_name, "namespace": ns},
        "involvedObject": {"apiVersion": api_version, "kind": kind, "name": name, "namespace": ns,
                           "uid": s(obj, "/metadata/uid")},
        "reason": reason, "message": message, "type": type_, "count": 1,
        "source": {"component": source.component},
        "firstTimestamp": t, "lastTimestamp": t, "reportingComponent": source.component,
    });
    match source.field_path {
        Some(path) => ev["involvedObject"]["fieldPath"] = json!(path),
        None => {
            ev["involvedObject"]["resourceVersion"] = json!(s(obj, "/metadata/resourceVersion"))
        }
    }
    if let Some(host) = source.host {
        ev["source"]["host"] = json!(host);
        ev["reportingInstance"] = json!(host);
    }
    if create_object(sim, EVENTS, &ns, ev).is_ok() {
        state.events.insert(key, ev_name);
    }
}

/// A controller's Event (`component`, e.g. `job-controller`).
#[allow(clippy::too_many_arguments)]
pub(super) fn controller_event(
    sim: &Shared,
    state: &mut State,
    obj: &Value,
    kind: &str,
    api_version: &str,
    component: &str,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let source = Source {
        component,
        host: None,
        field_path: None,
    };
    object_event(
        sim,
        state,
        obj,
        kind,
        api_version,
        &source,
        type_,
        reason,
        message,
    );
}
