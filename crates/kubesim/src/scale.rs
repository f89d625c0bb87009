//! The `/scale` subresource of Deployments and ReplicaSets: an `autoscaling/v1` Scale
//! read from the object, and replicas written through it (PUT, or a merge, strategic or
//! JSON patch of the Scale), as `kubectl scale` and autoscalers use it.

use serde_json::{Value, json};

use crate::registry::merge_patch;
use crate::resources::Resource;
use crate::status::{ApiError, Cause};

/// The Scale's own type, for its error messages (`Scale.autoscaling "x" is invalid`).
const SCALE: Resource = Resource {
    group: "autoscaling",
    version: "v1",
    plural: "scale",
    singular: "scale",
    kind: "Scale",
    namespaced: true,
    short_names: &[],
    subresources: &[],
    categories: &[],
};

/// Whether `res` has a `/scale` subresource.
pub fn scalable(res: &Resource) -> bool {
    res.subresources.contains(&"scale")
}

/// The Scale of an object.
pub fn of(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    // A ReplicationController's selector is the label map itself.
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .or_else(|| {
            obj.pointer("/spec/selector")
                .filter(|s| s.get("matchExpressions").is_none())
        })
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// The object with the replicas a written Scale asks for; a Scale for an older version
/// of the object is a conflict.
pub fn apply(res: &Resource, current: &Value, scale: &Value) -> Result<Value, ApiError> {
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let replicas = match scale.pointer("/spec/replicas") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|r| r >= 0) => n.as_i64().unwrap_or(0),
        Some(Value::Number(n)) => {
            return Err(ApiError::invalid(
                &SCALE,
                name,
                // A number is written as Go writes an int: unquoted.
                vec![Cause {
                    reason: "FieldValueInvalid",
                    field: "spec.replicas".into(),
                    message: format!("Invalid value: {n}: must be greater than or equal to 0"),
                }],
            ));
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {} into Go struct field ScaleSpec.spec.replicas of type int32",
                type_name(other)
            )));
        }
        None => 0,
    };
    if let Some(rv) = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|rv| !rv.is_empty())
        && Some(rv)
            != current
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
    {
        return Err(ApiError::conflict(res, name));
    }
    let mut next = current.clone();
    next["spec"]["replicas"] = json!(replicas);
    Ok(next)
}

/// The Scale after a patch of `content_type`.
pub fn patched(current: &Value, patch: &[u8], content_type: &str) -> Result<Value, ApiError> {
    let mut scale = of(current);
    let bad = |e: String| ApiError::bad_request(format!("the patch cannot be read: {e}"));
    match content_type {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| bad(e.to_string()))?;
            merge_patch(&mut scale, &p);
        }
        "application/json-patch+json" => {
            let p: json_patch::Patch =
                serde_json::from_slice(patch).map_err(|e| bad(e.to_string()))?;
            json_patch::patch(&mut scale, &p).map_err(|e| {
                ApiError::unprocessable(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    Ok(scale)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
        Value::Number(_) => "number",
    }
}
