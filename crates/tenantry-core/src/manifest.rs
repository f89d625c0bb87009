//! The naming rules a Kubernetes API server enforces and the OpenAPI schemas do not:
//! object, container, port and volume names, label keys and values. Used to check
//! rendered bodies before anything is sent.

use serde_json::Value;

use crate::names::{dns_label_problem, dns_subdomain_problem};

/// Every naming problem in one rendered object, each as "where: what".
pub fn name_problems(obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let meta = obj.get("metadata");
    if let Some(name) = meta.and_then(|m| m.get("name")).and_then(Value::as_str) {
        let problem = if kind == "Service" || kind == "Namespace" {
            rfc1035_label_problem(name)
        } else {
            dns_subdomain_problem(name)
        };
        if let Some(p) = problem {
            out.push(format!("metadata.name {name:?}: {p}"));
        }
    }
    if let Some(ns) = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        && let Some(p) = dns_label_problem(ns)
    {
        out.push(format!("metadata.namespace {ns:?}: {p}"));
    }
    check_labels(meta, "metadata.labels", &mut out);
    let pod_spec = match kind {
        "Pod" => obj.get("spec"),
        "Job" | "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            let t = obj.pointer("/spec/template");
            check_labels(
                t.and_then(|t| t.get("metadata")),
                "spec.template.metadata.labels",
                &mut out,
            );
            t.and_then(|t| t.get("spec"))
        }
        _ => None,
    };
    if let Some(spec) = pod_spec {
        check_pod_spec(spec, &mut out);
    }
    if kind == "Service" {
        for (i, p) in array(obj.pointer("/spec/ports")).iter().enumerate() {
            if let Some(n) = p.get("name").and_then(Value::as_str)
                && let Some(problem) = dns_label_problem(n)
            {
                out.push(format!("spec.ports[{i}].name {n:?}: {problem}"));
            }
        }
    }
    out
}

fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn check_pod_spec(spec: &Value, out: &mut Vec<String>) {
    for list in ["initContainers", "containers"] {
        for (i, c) in array(spec.get(list)).iter().enumerate() {
            if let Some(n) = c.get("name").and_then(Value::as_str)
                && let Some(p) = dns_label_problem(n)
            {
                out.push(format!("{list}[{i}].name {n:?}: {p}"));
            }
            for (j, port) in array(c.get("ports")).iter().enumerate() {
                if let Some(n) = port.get("name").and_then(Value::as_str)
                    && let Some(p) = port_name_problem(n)
                {
                    out.push(format!("{list}[{i}].ports[{j}].name {n:?}: {p}"));
                }
            }
        }
    }
    for (i, v) in array(spec.get("volumes")).iter().enumerate() {
        if let Some(n) = v.get("name").and_then(Value::as_str)
            && let Some(p) = dns_label_problem(n)
        {
            out.push(format!("volumes[{i}].name {n:?}: {p}"));
        }
    }
}

fn check_labels(meta: Option<&Value>, at: &str, out: &mut Vec<String>) {
    let Some(labels) = meta
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
    else {
        return;
    };
    for (k, v) in labels {
        if let Some(p) = label_key_problem(k) {
            out.push(format!("{at} key {k:?}: {p}"));
        }
        match v.as_str() {
            Some(s) => {
                if let Some(p) = label_value_problem(s) {
                    out.push(format!("{at}[{k:?}] value {s:?}: {p}"));
                }
            }
            None => out.push(format!("{at}[{k:?}]: label values must be strings")),
        }
    }
}

/// A Service or Namespace name: an RFC 1035 label (starts with a letter).
pub fn rfc1035_label_problem(s: &str) -> Option<String> {
    dns_label_problem(s).or_else(|| {
        (!s.starts_with(|c: char| c.is_ascii_lowercase()))
            .then(|| "it must start with a lower-case letter".to_owned())
    })
}

/// A container port name: an IANA service name.
pub fn port_name_problem(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > 15 {
        return Some("it must be 1 to 15 characters".into());
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("only lower-case letters, digits and '-' are allowed".into());
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return Some("it must contain at least one letter".into());
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Some("'-' may not start or end it, nor stand twice in a row".into());
    }
    None
}

fn qualified_name_problem(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > 63 {
        return Some("the name part must be 1 to 63 characters".into());
    }
    let ok_inner = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ok_ends = s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    (!(ok_inner && ok_ends)).then(|| {
        "letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into()
    })
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a qualified name.
pub fn label_key_problem(k: &str) -> Option<String> {
    match k.split_once('/') {
        Some((prefix, name)) => dns_subdomain_problem(prefix)
            .map(|p| format!("prefix: {p}"))
            .or_else(|| qualified_name_problem(name)),
        None => qualified_name_problem(k),
    }
}

/// A label value: empty, or a qualified name of at most 63 characters.
pub fn label_value_problem(v: &str) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        qualified_name_problem(v)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_documents_upper_case_names_are_caught() {
        let job = json!({"kind": "Job", "metadata": {"name": "clickhouse-setup-C42", "namespace": "lms-dev"},
            "spec": {"template": {"metadata": {"labels": {"job-name": "clickhouse-setup-C42"}},
            "spec": {"containers": [{"name": "C42", "ports": [{"name": "8080tcp"}]}]}}}});
        let p = name_problems(&job);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("metadata.name \"clickhouse-setup-C42\""),
            "{p:?}"
        );
        assert!(p[1].starts_with("containers[0].name \"C42\""), "{p:?}");
    }

    #[test]
    fn services_need_rfc_1035_names_and_ports_iana_names() {
        assert!(
            name_problems(&json!({"kind": "Service", "metadata": {"name": "1svc"}}))[0]
                .contains("start with a lower-case letter")
        );
        assert_eq!(port_name_problem("8080tcp"), None);
        assert!(port_name_problem("8080").is_some());
        assert!(port_name_problem("http--x").is_some());
        assert!(port_name_problem("a-very-long-port-name").is_some());
    }

    #[test]
    fn label_keys_and_values_follow_the_api_rules() {
        assert_eq!(label_key_problem("app.kubernetes.io/managed-by"), None);
        assert_eq!(label_value_problem("C42-lms"), None);
        assert_eq!(label_value_problem(""), None);
        assert!(label_key_problem("Bad_Prefix/x").is_some());
        assert!(label_value_problem("-x").is_some());
        assert!(label_value_problem(&"x".repeat(64)).is_some());
        let p = name_problems(
            &json!({"kind": "ConfigMap", "metadata": {"name": "ok", "labels": {"a": 1}}}),
        );
        assert!(p[0].contains("must be strings"), "{p:?}");
    }
}
