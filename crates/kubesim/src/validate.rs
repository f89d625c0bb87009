//! What the API server checks before it stores an object, with its wording: names,
//! labels, required fields, selectors, immutable fields. The defaults are in `defaults`.

use serde_json::{Value, json};

pub use crate::defaults::apply_defaults;
pub(crate) use crate::defaults::pod_defaults;
use crate::status::Cause;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The causes for a name that must be an RFC 1123 label.
pub fn dns_label(field: &str, s: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(Cause::invalid(
            field,
            s,
            "must be no more than 63 characters",
        ));
    }
    if !is_label(s) {
        out.push(Cause::invalid(field, s, LABEL_MSG));
    }
    out
}

pub fn dns_subdomain(field: &str, s: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    if s.len() > 253 {
        out.push(Cause::invalid(
            field,
            s,
            "must be no more than 253 characters",
        ));
    }
    if !s.split('.').all(is_label) {
        out.push(Cause::invalid(field, s, SUBDOMAIN_MSG));
    }
    out
}

pub fn dns1035_label(field: &str, s: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(Cause::invalid(
            field,
            s,
            "must be no more than 63 characters",
        ));
    }
    if !is_label(s) || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.push(Cause::invalid(field, s, DNS1035_MSG));
    }
    out
}

fn qualified_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

pub(crate) fn labels(field: &str, v: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(map) = v.and_then(Value::as_object) else {
        return;
    };
    for (k, val) in map {
        let (prefix, name) = k
            .split_once('/')
            .map_or((None, k.as_str()), |(p, n)| (Some(p), n));
        if let Some(p) = prefix {
            out.extend(dns_subdomain(field, p).into_iter().map(|mut c| {
                c.message = format!("Invalid value: {k:?}: prefix part {SUBDOMAIN_MSG}");
                c
            }));
        }
        if !qualified_ok(name) {
            out.push(Cause::invalid(field, k, QUALIFIED_MSG));
        }
        let s = val.as_str().unwrap_or("");
        if s.len() > 63 {
            out.push(Cause::invalid(
                field,
                s,
                "must be no more than 63 characters",
            ));
        }
        if !s.is_empty() && !qualified_ok(s) {
            out.push(Cause::invalid(field, s, LABEL_VALUE_MSG));
        }
    }
}

fn port_name(field: &str, s: &str, out: &mut Vec<Cause>) {
    if s.len() > 15 {
        out.push(Cause::invalid(
            field,
            s,
            "must be no more than 15 characters",
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        out.push(Cause::invalid(
            field,
            s,
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ));
    }
    if s.contains("--") {
        out.push(Cause::invalid(
            field,
            s,
            "must not contain consecutive hyphens",
        ));
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        out.push(Cause::invalid(
            field,
            s,
            "must contain at least one letter (a-z)",
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        out.push(Cause::invalid(
            field,
            s,
            "must not begin or end with a hyphen",
        ));
    }
}

fn port_number(field: &str, v: Option<&Value>, required: bool, out: &mut Vec<Cause>) {
    match v.and_then(Value::as_i64) {
        Some(p) if (1..=65535).contains(&p) => {}
        Some(p) => out.push(Cause::invalid(
            field,
            &p.to_string(),
            "must be between 1 and 65535, inclusive",
        )),
        None if required => out.push(Cause::required(field, "")),
        None => {}
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Checks a pod spec at `at` (`spec`, `spec.template.spec`).
pub(crate) fn pod_spec(
    at: &str,
    spec: Option<&Value>,
    restart_allowed: &[&str],
    out: &mut Vec<Cause>,
) {
    let Some(spec) = spec else {
        out.push(Cause::required(at, ""));
        return;
    };
    let volumes: Vec<&str> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| str_at(v, "name"))
        .collect();
    for (i, name) in volumes.iter().enumerate() {
        out.extend(dns_label(&format!("{at}.volumes[{i}].name"), name));
    }
    let containers = spec.get("containers").and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        out.push(Cause::required(format!("{at}.containers"), ""));
    }
    for list in ["initContainers", "containers"] {
        let mut seen = Vec::new();
        for (i, c) in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let f = format!("{at}.{list}[{i}]");
            match str_at(c, "name") {
                None | Some("") => out.push(Cause::required(format!("{f}.name"), "")),
                Some(n) => {
                    out.extend(dns_label(&format!("{f}.name"), n));
                    if seen.contains(&n) {
                        out.push(Cause {
                            reason: "FieldValueDuplicate",
                            field: format!("{f}.name"),
                            message: format!("Duplicate value: {n:?}"),
                        });
                    }
                    seen.push(n);
                }
            }
            if str_at(c, "image").is_none_or(str::is_empty) {
                out.push(Cause::required(format!("{f}.image"), ""));
            }
            if let Some(p) = str_at(c, "imagePullPolicy")
                && !["Always", "IfNotPresent", "Never"].contains(&p)
            {
                out.push(Cause::unsupported(
                    format!("{f}.imagePullPolicy"),
                    p,
                    &["Always", "IfNotPresent", "Never"],
                ));
            }
            for (j, p) in c
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                port_number(
                    &format!("{f}.ports[{j}].containerPort"),
                    p.get("containerPort"),
                    true,
                    out,
                );
                if let Some(n) = str_at(p, "name") {
                    port_name(&format!("{f}.ports[{j}].name"), n, out);
                }
            }
            for (j, m) in c
                .get("volumeMounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let n = str_at(m, "name").unwrap_or("");
                if !volumes.contains(&n) {
                    out.push(Cause {
                        reason: "FieldValueNotFound",
                        field: format!("{f}.volumeMounts[{j}].name"),
                        message: format!("Not found: {n:?}"),
                    });
                }
                if str_at(m, "mountPath").is_none_or(str::is_empty) {
                    out.push(Cause::required(
                        format!("{f}.volumeMounts[{j}].mountPath"),
                        "",
                    ));
                }
            }
        }
    }
    if let Some(p) = str_at(spec, "restartPolicy")
        && !restart_allowed.contains(&p)
    {
        out.push(Cause::unsupported(
            format!("{at}.restartPolicy"),
            p,
            restart_allowed,
        ));
    }
}

/// Everything wrong with an object of `kind` about to be stored.
pub fn validate(kind: &str, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match kind {
        "Service" => out.extend(dns1035_label("metadata.name", name)),
        "Namespace" => out.extend(dns_label("metadata.name", name)),
        _ => out.extend(dns_subdomain("metadata.name", name)),
    }
    labels("metadata.labels", obj.pointer("/metadata/labels"), &mut out);
    match kind {
        "Pod" => pod_spec(
            "spec",
            obj.get("spec"),
            &["Always", "OnFailure", "Never"],
            &mut out,
        ),
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
            let tl = obj.pointer("/spec/template/metadata/labels");
            labels("spec.template.metadata.labels", tl, &mut out);
            let selector = match obj.pointer("/spec/selector") {
                None => {
                    out.push(Cause::required("spec.selector", ""));
                    None
                }
                Some(sel) => {
                    match crate::selector::LabelSelector::from_object(sel, "spec.selector") {
                        Ok(s) if s.is_empty() => {
                            out.push(Cause::invalid(
                                "spec.selector",
                                "",
                                // ReplicaSets say "deployment" too, as the API server does.
                                match kind {
                                    "DaemonSet" => "empty selector is invalid for daemonset",
                                    "StatefulSet" => "empty selector is invalid for statefulset",
                                    _ => "empty selector is invalid for deployment",
                                },
                            ));
                            None
                        }
                        Ok(s) => Some(s),
                        Err(problems) => {
                            for (field, reason, detail) in problems {
                                out.push(match reason {
                                    "required" => Cause::required(field, &detail),
                                    "forbidden" => Cause::forbidden(field, &detail),
                                    _ => Cause {
                                        reason: "FieldValueInvalid",
                                        field,
                                        message: format!("Invalid value: {detail}"),
                                    },
                                });
                            }
                            None
                        }
                    }
                }
            };
            if let Some(selector) = selector {
                let template = json!({"metadata": {"labels": tl.cloned().unwrap_or(Value::Null)}});
                if !selector.matches(&template) {
                    out.push(Cause::invalid(
                        "spec.template.metadata.labels",
                        &tl.map(ToString::to_string).unwrap_or_default(),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
            if let Some(r) = obj.pointer("/spec/replicas").and_then(Value::as_i64)
                && r < 0
            {
                out.push(Cause::invalid(
                    "spec.replicas",
                    &r.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
            pod_spec(
                "spec.template.spec",
                obj.pointer("/spec/template/spec"),
                &["Always"],
                &mut out,
            );
        }
        "Job" => {
            labels(
                "spec.template.metadata.labels",
                obj.pointer("/spec/template/metadata/labels"),
                &mut out,
            );
            let spec = obj.pointer("/spec/template/spec");
            if spec.and_then(|s| s.get("restartPolicy")).is_none() {
                out.push(Cause {
                    reason: "FieldValueRequired",
                    field: "spec.template.spec.restartPolicy".into(),
                    message: "Required value: valid values: \"OnFailure\", \"Never\"".into(),
                });
            }
            pod_spec(
                "spec.template.spec",
                spec,
                &["OnFailure", "Never"],
                &mut out,
            );
            if let Some(b) = obj.pointer("/spec/backoffLimit").and_then(Value::as_i64)
                && b < 0
            {
                out.push(Cause::invalid(
                    "spec.backoffLimit",
                    &b.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
        }
        "Service" => {
            let ports = obj.pointer("/spec/ports").and_then(Value::as_array);
            let external =
                obj.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName");
            if ports.is_none_or(Vec::is_empty) && !external {
                out.push(Cause::required("spec.ports", ""));
            }
            let many = ports.is_some_and(|p| p.len() > 1);
            for (i, p) in ports.into_iter().flatten().enumerate() {
                port_number(
                    &format!("spec.ports[{i}].port"),
                    p.get("port"),
                    true,
                    &mut out,
                );
                match str_at(p, "name") {
                    Some(n) => out.extend(dns_label(&format!("spec.ports[{i}].name"), n)),
                    None if many => out.push(Cause::required(format!("spec.ports[{i}].name"), "")),
                    None => {}
                }
            }
            if let Some(t) = obj.pointer("/spec/type").and_then(Value::as_str) {
                let ok = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
                if !ok.contains(&t) {
                    out.push(Cause::unsupported("spec.type", t, &ok));
                }
            }
        }
        "Ingress" => {
            for (i, rule) in obj
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(h) = str_at(rule, "host") {
                    out.extend(dns_subdomain(&format!("spec.rules[{i}].host"), h));
                }
                for (j, p) in rule
                    .pointer("/http/paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let f = format!("spec.rules[{i}].http.paths[{j}]");
                    let pt = str_at(p, "pathType");
                    match pt {
                        None => out.push(Cause::required(
                            format!("{f}.pathType"),
                            "pathType must be specified",
                        )),
                        Some(t) if !["Exact", "Prefix", "ImplementationSpecific"].contains(&t) => {
                            out.push(Cause::unsupported(
                                format!("{f}.pathType"),
                                t,
                                &["Exact", "ImplementationSpecific", "Prefix"],
                            ));
                        }
                        _ => {}
                    }
                    let path = str_at(p, "path").unwrap_or("");
                    if matches!(pt, Some("Exact" | "Prefix")) && !path.starts_with('/') {
                        out.push(Cause::invalid(
                            format!("{f}.path"),
                            path,
                            "must be an absolute path",
                        ));
                    }
                    if p.pointer("/backend/service/name")
                        .and_then(Value::as_str)
                        .is_none()
                        && p.pointer("/backend/resource").is_none()
                    {
                        out.push(Cause::required(
                            format!("{f}.backend"),
                            "one backend must be specified",
                        ));
                    }
                }
            }
        }
        "ConfigMap" | "Secret" => {
            for section in ["data", "binaryData", "stringData"] {
                for k in obj
                    .get(section)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    let ok = !k.is_empty()
                        && k.len() <= 253
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                    if !ok {
                        out.push(Cause::invalid(format!("{section}[{k}]"), k, CONFIG_KEY_MSG));
                    }
                }
            }
        }
        _ => crate::kinds::validate(kind, obj, &mut out),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_upper_case_names_are_invalid_with_the_servers_words() {
        let cm = json!({"metadata": {"name": "lms-config-C42"}, "data": {"LMS_CLIENT_ID": "C42"}});
        let c = validate("ConfigMap", &cm);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, "metadata.name");
        assert!(
            c[0].message
                .starts_with("Invalid value: \"lms-config-C42\": a lowercase RFC 1123 subdomain"),
            "{}",
            c[0].message
        );
        let dep = json!({"metadata": {"name": "d", "labels": {"app": "C42-lms"}}, "spec": {
            "selector": {"matchLabels": {"app": "C42-lms"}},
            "template": {"metadata": {"labels": {"app": "C42-lms"}}, "spec": {"containers": [{"name": "C42", "image": "x", "ports": [{"containerPort": 8080, "name": "8080tcp"}]}]}}}});
        let c = validate("Deployment", &dep);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].field, "spec.template.spec.containers[0].name");
    }

    #[test]
    fn required_fields_and_selectors_are_checked() {
        let dep = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});
        let fields: Vec<String> = validate("Deployment", &dep)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.template.metadata.labels",
                "spec.template.spec.containers[0].image"
            ]
        );
        let svc = json!({"metadata": {"name": "1svc"}, "spec": {}});
        let fields: Vec<String> = validate("Service", &svc)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(fields, ["metadata.name", "spec.ports"]);
        let job = json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Always"}}}});
        assert_eq!(validate("Job", &job)[0].reason, "FieldValueNotSupported");
    }

    #[test]
    fn selectors_may_be_expressions_and_bad_ones_are_named() {
        let dep = |selector: Value| {
            json!({"metadata": {"name": "d"}, "spec": {"selector": selector,
                "template": {"metadata": {"labels": {"app": "a", "tier": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        };
        let problems = |selector: Value| {
            validate("Deployment", &dep(selector))
                .into_iter()
                .map(|c| format!("{}: {}", c.field, c.message))
                .collect::<Vec<_>>()
        };
        assert!(
            problems(json!({"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["a", "b"]},
            {"key": "tier", "operator": "Exists"},
            {"key": "canary", "operator": "DoesNotExist"}]}))
            .is_empty()
        );
        assert_eq!(
            problems(
                json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]})
            ),
            [
                "spec.template.metadata.labels: Invalid value: \"{\\\"app\\\":\\\"a\\\",\\\"tier\\\":\\\"web\\\"}\": `selector` does not match template `labels`"
            ]
        );
        assert_eq!(
            problems(json!({"matchExpressions": [
                {"key": "app", "operator": "Equals", "values": ["a"]},
                {"key": "app", "operator": "In"},
                {"key": "app", "operator": "Exists", "values": ["a"]}]})),
            [
                "spec.selector.matchExpressions[0].operator: Invalid value: \"Equals\": not a valid selector operator",
                "spec.selector.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[2].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ]
        );
        assert_eq!(
            problems(json!({})),
            ["spec.selector: Invalid value: \"\": empty selector is invalid for deployment"]
        );
    }
}
