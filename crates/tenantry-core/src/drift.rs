//! Is a live object as tenantry rendered it? Compared on the fields tenantry sets and
//! normalised the way the API server normalises (it adds defaults, drops empty maps and
//! lists, writes quantities canonically, keeps a Secret's `stringData` as base64 `data`),
//! so an unchanged object compares equal and a hand edit (an image, an env var, a
//! replica count, a removed label) does not. Pure: the engine decides whether to write
//! from it, and the fleet view shows it.

use base64::Engine;
use serde_json::{Map, Value};

/// One field where the live object differs from the rendered one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldDiff {
    /// Where, as kubectl writes it: `spec.template.spec.containers[0].image`.
    pub path: String,
    pub desired: Value,
    /// `None`: the live object lacks the field.
    pub live: Option<Value>,
}

/// On a Deployment's pod template: the hash of the env vars and secrets the pods read,
/// so that a change to them rolls the pods (Kubernetes does not restart pods on a
/// ConfigMap change).
pub const CONFIG_HASH: &str = "tenantry.io/config-hash";

/// On an adopted Deployment (not its pod template, which would roll the pods): the
/// config hash its pods were adopted running with. While the rendered hash is this one
/// and the pod template has none, the pods run with the rendered config: no drift.
pub const ADOPTED_CONFIG_HASH: &str = "tenantry.io/adopted-config-hash";

/// Fields the server owns: never compared.
const SERVER_FIELDS: &[&str] = &[
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Top-level maps whose every key is the rendering's.
const WHOLE_MAPS: &[&str] = &["data", "binaryData"];

/// The fields of `desired` that `live` does not have as rendered. Fields only the live
/// object has are the server's defaults and are not reported, except in lists, whose
/// length must match (an env var added by hand is drift), and in a ConfigMap's or
/// Secret's data, which is all the rendering's.
pub fn differences(desired: &Value, live: &Value) -> Vec<FieldDiff> {
    let desired = settle_adopted(&normalise(desired), live);
    let mut out = Vec::new();
    compare(&desired, Some(live), &mut String::new(), &mut out);
    out
}

/// Whether the live object is as rendered.
pub fn is_as_rendered(desired: &Value, live: &Value) -> bool {
    differences(desired, live).is_empty()
}

/// The config hash of the ConfigMaps' and Secrets' data among `objects`, in their order
/// (FNV-1a of the data written as JSON): what [`CONFIG_HASH`] holds.
pub fn config_hash<'a>(objects: impl IntoIterator<Item = &'a Value>) -> String {
    let config: String = objects
        .into_iter()
        .filter(|b| matches!(b["kind"].as_str(), Some("ConfigMap" | "Secret")))
        .map(|b| b["data"].to_string())
        .collect();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in config.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `desired` as it is to be written over `live`: without the config hash on its pod
/// template when `live` was adopted with that hash and its pods have none (writing it
/// would roll pods whose config has not changed).
pub fn settle_adopted(desired: &Value, live: &Value) -> Value {
    let pointer = |v: &'static str| {
        format!(
            "/spec/template/metadata/annotations/{}",
            v.replace('/', "~1")
        )
    };
    let rendered = desired
        .pointer(&pointer(CONFIG_HASH))
        .and_then(Value::as_str);
    let adopted = live
        .pointer(&format!(
            "/metadata/annotations/{}",
            ADOPTED_CONFIG_HASH.replace('/', "~1")
        ))
        .and_then(Value::as_str);
    let mut out = desired.clone();
    if rendered.is_some()
        && rendered == adopted
        && live.pointer(&pointer(CONFIG_HASH)).is_none()
        && let Some(Value::Object(a)) = out.pointer_mut("/spec/template/metadata/annotations")
    {
        a.remove(CONFIG_HASH);
    }
    out
}

/// A Secret's `stringData` as the API server stores it: base64 in `data`.
fn normalise(desired: &Value) -> Value {
    let mut d = desired.clone();
    if d["kind"] == "Secret"
        && let Some(Value::Object(sd)) = d.as_object_mut().and_then(|m| m.remove("stringData"))
    {
        let data = d["data"].as_object().cloned().unwrap_or_default();
        let mut data: Map<String, Value> = data;
        for (k, v) in sd {
            if let Some(s) = v.as_str() {
                data.insert(
                    k,
                    Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
                );
            }
        }
        d["data"] = Value::Object(data);
    }
    d
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn compare(desired: &Value, live: Option<&Value>, path: &mut String, out: &mut Vec<FieldDiff>) {
    let live = live.filter(|l| !l.is_null());
    match (desired, live) {
        // The API server drops nulls and empty maps and lists.
        (d, None) if is_empty(d) => {}
        (d, None) => out.push(FieldDiff {
            path: path.clone(),
            desired: d.clone(),
            live: None,
        }),
        (Value::Object(d), Some(Value::Object(l))) => {
            // A ConfigMap's or Secret's data is wholly tenantry's: a key added by hand
            // (an env var) is drift, and a deploy, which replaces the object, drops it.
            if WHOLE_MAPS.contains(&path.as_str()) {
                for (k, lv) in l.iter().filter(|(k, _)| !d.contains_key(*k)) {
                    out.push(FieldDiff {
                        path: format!("{path}.{k}"),
                        desired: Value::Null,
                        live: Some(lv.clone()),
                    });
                }
            }
            for (k, dv) in d {
                let server_owned = (path.is_empty() && k == "status")
                    || (path == "metadata" && SERVER_FIELDS.contains(&k.as_str()));
                if server_owned {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                compare(dv, l.get(k), path, out);
                path.truncate(len);
            }
        }
        (Value::Array(d), Some(Value::Array(l))) if d.len() == l.len() => {
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                compare(dv, Some(lv), path, out);
                path.truncate(len);
            }
        }
        (d, Some(l)) if same_scalar(d, l) => {}
        (d, Some(l)) => out.push(FieldDiff {
            path: path.clone(),
            desired: d.clone(),
            live: Some(l.clone()),
        }),
    }
}

fn same_scalar(d: &Value, l: &Value) -> bool {
    if d == l {
        return true;
    }
    match (d, l) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        // Quantities are written canonically by the server ("0.5" becomes "500m").
        (Value::String(a), Value::String(b)) => match (quantity(a), quantity(b)) {
            (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
        _ => false,
    }
}

/// A Kubernetes quantity's value (`500m`, `1Gi`, `1e3`); `None` if it is not one.
pub fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if num.is_empty() || !num.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "x"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "c", "image": image, "env": [{"name": "A", "value": "1"}],
                 "resources": {"limits": {"cpu": "0.5", "memory": "1Gi"}}}]}}}})
    }

    /// The object as the API server answers it: defaults added, quantities canonical.
    fn served(desired: &Value) -> Value {
        let mut l = desired.clone();
        l["metadata"]["uid"] = json!("u");
        l["metadata"]["resourceVersion"] = json!("7");
        l["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        l["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] =
            json!("500m");
        l["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] =
            json!("1073741824");
        l["status"] = json!({"replicas": 1});
        l
    }

    #[test]
    fn an_object_as_served_is_as_rendered() {
        let d = deployment("lms:1");
        assert_eq!(differences(&d, &served(&d)), vec![]);
    }

    #[test]
    fn hand_edits_are_found_with_their_paths() {
        let d = deployment("lms:1");
        let mut l = served(&d);
        l["spec"]["template"]["spec"]["containers"][0]["image"] = json!("lms:hand-edited");
        l["spec"]["replicas"] = json!(3);
        l["metadata"]["labels"] = json!({});
        let paths: Vec<String> = differences(&d, &l).into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "metadata.labels.app",
                "spec.replicas",
                "spec.template.spec.containers[0].image"
            ]
        );
        // An env var added by hand changes the list's length.
        let mut l = served(&d);
        l["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "B", "value": "2"}));
        let diffs = differences(&d, &l);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "spec.template.spec.containers[0].env");
    }

    #[test]
    fn empty_maps_string_data_and_quantities_compare_as_the_server_stores_them() {
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
        assert!(is_as_rendered(
            &cm,
            &json!({"kind": "ConfigMap", "metadata": {"name": "c"}})
        ));
        let secret = json!({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}});
        assert!(is_as_rendered(
            &secret,
            &json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}})
        ));
        assert!(!is_as_rendered(
            &secret,
            &json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dw=="}})
        ));
        // A key added by hand to a Secret's or ConfigMap's data is drift.
        let added = differences(
            &secret,
            &json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg==", "x": "eA=="}}),
        );
        assert_eq!(
            (added[0].path.as_str(), &added[0].desired),
            ("data.x", &Value::Null)
        );
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("2Ki"), Some(2048.0));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("lms:1"), None);
        assert_eq!(quantity("abc"), None);
    }
}
