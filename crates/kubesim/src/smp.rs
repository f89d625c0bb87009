//! Strategic merge patch, as the API server applies it to the built-in kinds kubesim
//! serves: lists merge on the keys the Kubernetes API declares for them (containers on
//! `name`, container ports on `containerPort`, a Service's ports on `port`, …), lists
//! without a merge key are replaced, `finalizers` merge as a set, and the directives
//! (`$patch`, `$setElementOrder/…`, `$retainKeys`, `$deleteFromPrimitiveList/…`) are obeyed,
//! never stored.

use serde_json::{Map, Value};

/// How the list at a field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListStrategy {
    /// Items are objects merged on this key.
    MergeOn(&'static str),
    /// Items are primitives merged as a set.
    Set,
    /// The patch's list replaces the list.
    Replace,
}

/// The strategy of a list field, by its name and the field holding it.
pub(crate) fn strategy(parent: &str, field: &str) -> ListStrategy {
    use ListStrategy::{MergeOn, Replace, Set};
    match (parent, field) {
        (_, "containers" | "initContainers" | "ephemeralContainers") => MergeOn("name"),
        (_, "volumes" | "env" | "imagePullSecrets" | "resourceClaims") => MergeOn("name"),
        ("service", "ports") => MergeOn("port"),
        ("container", "ports") => MergeOn("containerPort"),
        (_, "volumeMounts") => MergeOn("mountPath"),
        (_, "volumeDevices") => MergeOn("devicePath"),
        (_, "hostAliases") => MergeOn("ip"),
        (_, "topologySpreadConstraints") => MergeOn("topologyKey"),
        (_, "conditions") => MergeOn("type"),
        (_, "ownerReferences") => MergeOn("uid"),
        (_, "finalizers") => Set,
        _ => Replace,
    }
}

/// What an object below `field` is, for the strategies of the lists inside it.
pub(crate) fn context_of(parent: &str, field: &str) -> &'static str {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" => "container",
        "spec" if parent == "Service" => "service",
        _ => "",
    }
}

/// Applies a strategic merge patch to an object of `kind`.
pub fn apply(kind: &str, target: &mut Value, patch: &Value) {
    merge_map(kind, target, patch);
}

fn merge_map(ctx: &str, target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = Value::Object(without_directives(p));
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(t) = target.as_object_mut() else {
        return;
    };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(inner)
                if inner.get("$patch").and_then(Value::as_str) == Some("delete") =>
            {
                t.remove(k);
            }
            Value::Array(items) => {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                merge_list(strategy(ctx, k), context_of(ctx, k), slot, items);
            }
            Value::Object(_) => {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                merge_map(context_of(ctx, k), slot, v);
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    // Directives that act on the merged result.
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/")
            && let (Some(Value::Array(list)), Some(gone)) = (t.get_mut(field), v.as_array())
        {
            list.retain(|x| !gone.contains(x));
        }
        if let Some(field) = k.strip_prefix("$setElementOrder/")
            && let (Some(Value::Array(list)), Some(order)) = (t.get_mut(field), v.as_array())
        {
            let key = match strategy(ctx, field) {
                ListStrategy::MergeOn(key) => Some(key),
                _ => None,
            };
            let position = |item: &Value| {
                let id = key.map_or(item, |k| item.get(k).unwrap_or(&Value::Null));
                order
                    .iter()
                    .position(|o| key.map_or(o, |k| o.get(k).unwrap_or(&Value::Null)) == id)
                    .unwrap_or(usize::MAX)
            };
            list.sort_by_key(position);
        }
    }
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        t.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
}

fn without_directives(p: &Map<String, Value>) -> Map<String, Value> {
    p.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn merge_list(strategy: ListStrategy, ctx: &str, slot: &mut Value, items: &[Value]) {
    let replace_all = items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    if replace_all {
        *slot = Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect(),
        );
        return;
    }
    match strategy {
        ListStrategy::Replace => *slot = Value::Array(items.to_vec()),
        ListStrategy::Set => {
            let mut cur = slot.as_array().cloned().unwrap_or_default();
            for i in items {
                if !cur.contains(i) {
                    cur.push(i.clone());
                }
            }
            *slot = Value::Array(cur);
        }
        ListStrategy::MergeOn(key) => {
            let mut cur = slot.as_array().cloned().unwrap_or_default();
            for item in items {
                let id = item.get(key);
                let at = cur.iter().position(|c| id.is_some() && c.get(key) == id);
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (at, delete) {
                    (Some(i), true) => {
                        cur.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => merge_map(ctx, &mut cur[i], item),
                    (None, false) => {
                        let mut fresh = Value::Null;
                        merge_map(ctx, &mut fresh, item);
                        cur.push(fresh);
                    }
                }
            }
            *slot = Value::Array(cur);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patched(kind: &str, target: Value, patch: Value) -> Value {
        let mut t = target;
        apply(kind, &mut t, &patch);
        t
    }

    #[test]
    fn kubectl_applys_element_order_directive_orders_and_is_not_stored() {
        let dep = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "a:2"}]}}}});
        let out = patched("Deployment", dep, patch);
        assert_eq!(
            out["spec"]["template"]["spec"],
            json!({"containers": [{"name": "b", "image": "b:1"}, {"name": "a", "image": "a:2"}]})
        );
    }

    #[test]
    fn patch_delete_removes_a_list_item_and_a_map() {
        let pod = json!({"metadata": {"labels": {"a": "1"}}, "spec": {
            "containers": [{"name": "a"}, {"name": "b"}], "securityContext": {"runAsUser": 1}}});
        let patch = json!({"spec": {"containers": [{"name": "b", "$patch": "delete"}],
                                    "securityContext": {"$patch": "delete"}}});
        let out = patched("Pod", pod, patch);
        assert_eq!(out["spec"], json!({"containers": [{"name": "a"}]}));
    }

    #[test]
    fn container_ports_merge_on_container_port_and_service_ports_on_port() {
        let dep = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "name": "http"}]}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]}]}}}});
        let out = patched("Deployment", dep, patch);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}])
        );
        let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
        let patch = json!({"spec": {"ports": [{"port": 80, "name": "web"}]}});
        assert_eq!(
            patched("Service", svc, patch)["spec"]["ports"],
            json!([{"port": 80, "targetPort": 8080, "name": "web"}])
        );
    }

    #[test]
    fn finalizers_merge_as_a_set_and_args_are_replaced() {
        let obj = json!({"metadata": {"finalizers": ["a"]}, "spec": {"containers": [
            {"name": "c", "args": ["x", "y"]}]}});
        let patch = json!({"metadata": {"finalizers": ["b", "a"]}, "spec": {"containers": [
            {"name": "c", "args": ["z"]}]}});
        let out = patched("Pod", obj, patch);
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(out["spec"]["containers"][0]["args"], json!(["z"]));
    }

    #[test]
    fn retain_keys_and_delete_from_primitive_list() {
        let dep = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"strategy": {
            "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
                           "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        let out = patched("Deployment", dep, patch);
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    }
}
