//! Validation and defaults of the kinds kubesim serves beyond an application's own:
//! ReplicationController, DaemonSet, StatefulSet, CronJob, ServiceAccount, Role,
//! RoleBinding and APIService, as far as ordinary clients use them.

use serde_json::{Value, json};

use crate::status::Cause;
use crate::validate::{labels, pod_defaults, pod_spec};

fn set_default(obj: &mut Value, key: &str, v: Value) {
    if obj.get(key).is_none() {
        obj[key] = v;
    }
}

/// The defaults the API server fills in for these kinds.
pub fn defaults(kind: &str, obj: &mut Value) {
    match kind {
        "ReplicationController" => {
            let template_labels = obj.pointer("/spec/template/metadata/labels").cloned();
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "minReadySeconds", json!(0));
            if let Some(tl) = &template_labels {
                set_default(spec, "selector", tl.clone());
                if obj.pointer("/metadata/labels").is_none() {
                    obj["metadata"]["labels"] = tl.clone();
                }
            }
            if let Some(t) = obj.pointer_mut("/spec/template/spec") {
                pod_defaults(t);
            }
        }
        "DaemonSet" => {
            let spec = &mut obj["spec"];
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            );
            set_default(spec, "revisionHistoryLimit", json!(10));
            if let Some(t) = obj.pointer_mut("/spec/template/spec") {
                pod_defaults(t);
            }
        }
        "StatefulSet" => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            if let Some(t) = obj.pointer_mut("/spec/template/spec") {
                pod_defaults(t);
            }
        }
        "CronJob" => {
            let spec = &mut obj["spec"];
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(t) = obj.pointer_mut("/spec/jobTemplate/spec/template/spec") {
                pod_defaults(t);
            }
        }
        _ => {}
    }
}

fn non_negative(obj: &Value, at: &str, field: &str, out: &mut Vec<Cause>) {
    if let Some(n) = obj.pointer(at).and_then(Value::as_i64)
        && n < 0
    {
        out.push(Cause::invalid(
            field,
            &n.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

/// What the API server refuses in these kinds.
pub fn validate(kind: &str, obj: &Value, out: &mut Vec<Cause>) {
    match kind {
        "ReplicationController" => {
            let tl = obj.pointer("/spec/template/metadata/labels");
            labels("spec.template.metadata.labels", tl, out);
            match obj.pointer("/spec/selector").and_then(Value::as_object) {
                None => out.push(Cause::required("spec.selector", "")),
                Some(sel) if sel.is_empty() => out.push(Cause::required("spec.selector", "")),
                Some(sel) => {
                    let matches = sel
                        .iter()
                        .all(|(k, v)| tl.and_then(|t| t.get(k)) == Some(v));
                    if !matches {
                        out.push(Cause::invalid(
                            "spec.template.metadata.labels",
                            &tl.map(ToString::to_string).unwrap_or_default(),
                            "`selector` does not match template `labels`",
                        ));
                    }
                }
            }
            non_negative(obj, "/spec/replicas", "spec.replicas", out);
            pod_spec(
                "spec.template.spec",
                obj.pointer("/spec/template/spec"),
                &["Always"],
                out,
            );
        }
        "CronJob" => {
            match obj.pointer("/spec/schedule").and_then(Value::as_str) {
                None | Some("") => out.push(Cause::required("spec.schedule", "")),
                Some(s) => {
                    if let Err(e) = crate::cron::Schedule::parse(s) {
                        out.push(Cause::invalid(
                            "spec.schedule",
                            s,
                            &format!("unparseable schedule {s:?}: {e}"),
                        ));
                    }
                }
            }
            pod_spec(
                "spec.jobTemplate.spec.template.spec",
                obj.pointer("/spec/jobTemplate/spec/template/spec"),
                &["OnFailure", "Never"],
                out,
            );
        }
        "Role" => {
            for (i, rule) in obj
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if rule
                    .get("verbs")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
                {
                    out.push(Cause::required(
                        format!("rules[{i}].verbs"),
                        "verbs must contain at least one value",
                    ));
                }
            }
        }
        "RoleBinding" => {
            let role_ref = obj.get("roleRef");
            match role_ref.and_then(|r| r.get("kind")).and_then(Value::as_str) {
                Some("Role" | "ClusterRole") => {}
                Some(k) => out.push(Cause::unsupported(
                    "roleRef.kind",
                    k,
                    &["Role", "ClusterRole"],
                )),
                None => out.push(Cause::required("roleRef.kind", "")),
            }
            if role_ref
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(Cause::required("roleRef.name", ""));
            }
        }
        "APIService" => {
            let version = obj
                .pointer("/spec/version")
                .and_then(Value::as_str)
                .unwrap_or("");
            let group = obj
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let want = if group.is_empty() {
                version.to_owned()
            } else {
                format!("{version}.{group}")
            };
            if name != want {
                out.push(Cause::invalid(
                    "metadata.name",
                    name,
                    &format!("must be {want:?}"),
                ));
            }
            let priority = |at: &str, field: &str, max: i64, out: &mut Vec<Cause>| match obj
                .pointer(at)
                .and_then(Value::as_i64)
            {
                Some(n) if (1..=max).contains(&n) => {}
                Some(n) => out.push(Cause::invalid(
                    field,
                    &n.to_string(),
                    &format!("must be positive and less than {}", max + 1),
                )),
                None => out.push(Cause::invalid(
                    field,
                    "0",
                    &format!("must be positive and less than {}", max + 1),
                )),
            };
            priority(
                "/spec/groupPriorityMinimum",
                "spec.groupPriorityMinimum",
                20000,
                out,
            );
            priority("/spec/versionPriority", "spec.versionPriority", 1000, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(kind: &str, obj: Value) -> Vec<String> {
        let mut obj = obj;
        defaults(kind, &mut obj);
        let mut out = Vec::new();
        validate(kind, &obj, &mut out);
        out.iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn a_replication_controller_takes_its_selector_from_the_template() {
        let rc = json!({"metadata": {"name": "rc"}, "spec": {"template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
        let mut d = rc.clone();
        defaults("ReplicationController", &mut d);
        assert_eq!(d["spec"]["selector"], json!({"app": "a"}));
        assert_eq!(d["metadata"]["labels"], json!({"app": "a"}));
        assert_eq!(d["spec"]["replicas"], 1);
        assert!(problems("ReplicationController", rc).is_empty());
        let wrong = json!({"metadata": {"name": "rc"}, "spec": {"selector": {"app": "b"}, "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
        assert_eq!(
            problems("ReplicationController", wrong),
            [
                "spec.template.metadata.labels: Invalid value: \"{\\\"app\\\":\\\"a\\\"}\": `selector` does not match template `labels`"
            ]
        );
    }

    #[test]
    fn an_api_service_is_named_version_dot_group_with_priorities_in_range() {
        let ok = json!({"metadata": {"name": "v1alpha1.wardle.k8s.io"}, "spec": {
            "group": "wardle.k8s.io", "version": "v1alpha1",
            "groupPriorityMinimum": 1000, "versionPriority": 15}});
        assert!(problems("APIService", ok).is_empty());
        let bad = json!({"metadata": {"name": "wardle"}, "spec": {
            "group": "wardle.k8s.io", "version": "v1alpha1", "groupPriorityMinimum": 0}});
        let p = problems("APIService", bad);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("metadata.name: "), "{p:?}");
    }

    #[test]
    fn roles_need_verbs_and_bindings_a_role() {
        let role = json!({"metadata": {"name": "r"}, "rules": [{"resources": ["pods"]}]});
        assert_eq!(
            problems("Role", role),
            ["rules[0].verbs: Required value: verbs must contain at least one value"]
        );
        let binding = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "User", "name": "x"}});
        assert_eq!(
            problems("RoleBinding", binding),
            [
                "roleRef.kind: Unsupported value: \"User\": supported values: \"Role\", \"ClusterRole\""
            ]
        );
    }

    #[test]
    fn a_cron_job_needs_a_five_field_schedule() {
        let job = |schedule: &str| {
            json!({"metadata": {"name": "c"}, "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
        };
        assert!(problems("CronJob", job("*/5 * * * *")).is_empty());
        assert!(problems("CronJob", job("@hourly")).is_empty());
        assert_eq!(problems("CronJob", job("every minute")).len(), 1);
    }
}
