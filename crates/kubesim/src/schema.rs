//! The kinds' schemas: a body is decoded into the Kubernetes type of its kind (from
//! `k8s-openapi`), as the API server decodes it into its Go type. A value of the wrong
//! type is refused with its path; a field the type does not have is an "unknown field",
//! refused, warned about or ignored as the request's `fieldValidation` says, and never
//! stored: what is stored is the decoded object written back.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::{apps, batch, core, networking, rbac};
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration;

/// What `fieldValidation` asks for unknown fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Refuse the request (400), naming each field (kubectl's default since 1.27).
    Strict,
    /// Drop them and say so in `Warning` headers (the server's default).
    Warn,
    /// Drop them silently.
    Ignore,
}

impl FieldValidation {
    /// From the query parameter; `None` for a value the server does not accept.
    pub fn parse(v: Option<&str>) -> Option<Self> {
        match v {
            None | Some("" | "Warn") => Some(Self::Warn),
            Some("Strict") => Some(Self::Strict),
            Some("Ignore") => Some(Self::Ignore),
            Some(_) => None,
        }
    }
}

/// A body the kind's type cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    /// The field, e.g. `spec.replicas`.
    pub path: String,
    pub message: String,
}

/// A body decoded: the object as its type writes it back, and the fields it dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub object: Value,
    pub unknown: Vec<String>,
}

fn round_trip<T: DeserializeOwned + Serialize>(obj: &Value) -> Result<Value, TypeError> {
    let typed: T = serde_path_to_error::deserialize(obj).map_err(|e| TypeError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    serde_json::to_value(typed).map_err(|e| TypeError {
        path: String::new(),
        message: e.to_string(),
    })
}

/// Decodes `obj` as a `kind`; `None` for a kind without a schema here.
pub fn decode(kind: &str, obj: &Value) -> Option<Result<Decoded, TypeError>> {
    let back = match kind {
        "Namespace" => round_trip::<core::v1::Namespace>(obj),
        "ConfigMap" => round_trip::<core::v1::ConfigMap>(obj),
        "Secret" => round_trip::<core::v1::Secret>(obj),
        "Service" => round_trip::<core::v1::Service>(obj),
        "Pod" => round_trip::<core::v1::Pod>(obj),
        "Event" => round_trip::<core::v1::Event>(obj),
        "Node" => round_trip::<core::v1::Node>(obj),
        "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(obj),
        "ReplicationController" => round_trip::<core::v1::ReplicationController>(obj),
        "Deployment" => round_trip::<apps::v1::Deployment>(obj),
        "ReplicaSet" => round_trip::<apps::v1::ReplicaSet>(obj),
        "DaemonSet" => round_trip::<apps::v1::DaemonSet>(obj),
        "StatefulSet" => round_trip::<apps::v1::StatefulSet>(obj),
        "Job" => round_trip::<batch::v1::Job>(obj),
        "CronJob" => round_trip::<batch::v1::CronJob>(obj),
        "Ingress" => round_trip::<networking::v1::Ingress>(obj),
        "Role" => round_trip::<rbac::v1::Role>(obj),
        "RoleBinding" => round_trip::<rbac::v1::RoleBinding>(obj),
        "APIService" => round_trip::<apiregistration::v1::APIService>(obj),
        _ => return None,
    };
    Some(back.map(|object| {
        let mut unknown = Vec::new();
        dropped("", obj, &object, &mut unknown);
        Decoded { object, unknown }
    }))
}

/// The fields of `sent` that `kept` lacks (null ones aside), by their paths.
fn dropped(at: &str, sent: &Value, kept: &Value, out: &mut Vec<String>) {
    match (sent, kept) {
        (Value::Object(s), Value::Object(k)) => {
            for (key, v) in s {
                // Patch directives are the patch's, not the object's.
                if key.starts_with('$') || v.is_null() {
                    continue;
                }
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match k.get(key) {
                    Some(kv) => dropped(&path, v, kv, out),
                    None => out.push(path),
                }
            }
        }
        (Value::Array(s), Value::Array(k)) => {
            for (i, (sv, kv)) in s.iter().zip(k).enumerate() {
                dropped(&format!("{at}[{i}]"), sv, kv, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_wrong_type_is_named_by_its_path() {
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                         "spec": {"replicas": "two"}});
        let e = decode("Deployment", &dep).unwrap().unwrap_err();
        assert_eq!(e.path, "spec.replicas");
        assert!(e.message.contains("invalid type: string \"two\""), "{e:?}");
    }

    #[test]
    fn unknown_fields_are_found_and_dropped_and_directives_are_not_fields() {
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                         "spec": {"replicas": 1, "replicaz": 2, "template": {"spec": {
                             "$setElementOrder/containers": [{"name": "c"}],
                             "containers": [{"name": "c", "image": "i", "imagePullPolice": "x"}]}}}});
        let d = decode("Deployment", &dep).unwrap().unwrap();
        assert_eq!(
            d.unknown,
            [
                "spec.replicaz",
                "spec.template.spec.containers[0].imagePullPolice"
            ]
        );
        assert_eq!(d.object["spec"]["replicas"], 1);
        assert!(d.object["spec"].get("replicaz").is_none());
    }

    #[test]
    fn a_known_object_comes_back_as_it_was_sent() {
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "labels": {"a": "b"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}], "selector": {"a": "b"}}});
        let d = decode("Service", &svc).unwrap().unwrap();
        assert!(d.unknown.is_empty(), "{:?}", d.unknown);
        assert_eq!(d.object, svc);
        assert_eq!(FieldValidation::parse(None), Some(FieldValidation::Warn));
        assert_eq!(FieldValidation::parse(Some("Loose")), None);
    }
}
