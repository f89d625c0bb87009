//! What an update may not change, as the API server's update validation refuses it:
//! workload selectors, and the data of an immutable ConfigMap or Secret.

use serde_json::Value;

use crate::status::Cause;

const IMMUTABLE_DATA: &str = "field is immutable when `immutable` is set";

/// The causes of a 422 for an update from `current` to `next` of a `kind`.
pub fn update_causes(kind: &str, current: &Value, next: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    match kind {
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet"
            if next.pointer("/spec/selector") != current.pointer("/spec/selector") =>
        {
            out.push(Cause::immutable("spec.selector"));
        }
        "ConfigMap" | "Secret" if current.get("immutable") == Some(&Value::Bool(true)) => {
            if next.get("immutable") != Some(&Value::Bool(true)) {
                out.push(Cause::forbidden("immutable", IMMUTABLE_DATA));
            }
            for field in ["data", "binaryData"] {
                if next.get(field) != current.get(field) {
                    out.push(Cause::forbidden(field, IMMUTABLE_DATA));
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_deployments_selector_and_an_immutable_configmaps_data_stay_as_they_are() {
        let dep =
            |app: &str| json!({"spec": {"selector": {"matchLabels": {"app": app}}, "replicas": 1}});
        assert!(update_causes("Deployment", &dep("a"), &dep("a")).is_empty());
        let causes = update_causes("Deployment", &dep("a"), &dep("b"));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.selector");

        let cm = |v: &str, immutable: bool| json!({"data": {"k": v}, "immutable": immutable});
        assert!(update_causes("ConfigMap", &cm("1", false), &cm("2", false)).is_empty());
        let fields: Vec<String> = update_causes("ConfigMap", &cm("1", true), &cm("2", false))
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            fields,
            [
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set"
            ]
        );
    }
}
