//! The defaults the API server fills in, so stored objects look like a real cluster's:
//! pod specs, workloads, Services (cluster IPs, node ports), Secrets, Namespaces.

use serde_json::{Value, json};

/// The defaults of a pod spec, in a pod or a template.
pub(crate) fn pod_defaults(spec: &mut Value) {
    let spec = match spec.as_object_mut() {
        Some(s) => s,
        None => return,
    };
    spec.entry("restartPolicy").or_insert(json!("Always"));
    spec.entry("dnsPolicy").or_insert(json!("ClusterFirst"));
    spec.entry("schedulerName")
        .or_insert(json!("default-scheduler"));
    spec.entry("terminationGracePeriodSeconds")
        .or_insert(json!(30));
    spec.entry("securityContext").or_insert(json!({}));
    for list in ["initContainers", "containers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(c) = c.as_object_mut() {
                let latest = c.get("image").and_then(Value::as_str).is_some_and(|i| {
                    !i.rsplit('/').next().unwrap_or(i).contains(':') || i.ends_with(":latest")
                });
                c.entry("imagePullPolicy").or_insert(json!(if latest {
                    "Always"
                } else {
                    "IfNotPresent"
                }));
                c.entry("terminationMessagePath")
                    .or_insert(json!("/dev/termination-log"));
                c.entry("terminationMessagePolicy").or_insert(json!("File"));
                c.entry("resources").or_insert(json!({}));
                for p in c
                    .get_mut("ports")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(p) = p.as_object_mut() {
                        p.entry("protocol").or_insert(json!("TCP"));
                    }
                }
            }
        }
    }
}

/// A port of the NodePort range (30000–32767) for a service's `i`th port, spread by its uid.
fn node_port(uid: &str, i: usize) -> u64 {
    let h = uid
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    30000 + (h.wrapping_add(i as u64 * 7919)) % 2768
}

/// Fills in what the API server defaults, so stored objects look like a real cluster's.
pub fn apply_defaults(kind: &str, obj: &mut Value, uid: &str, cluster_ip: &str) {
    match kind {
        "Pod" => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_defaults(spec);
            }
        }
        "Deployment" => {
            let spec = &mut obj["spec"];
            if spec.get("replicas").is_none() {
                spec["replicas"] = json!(1);
            }
            if spec.get("revisionHistoryLimit").is_none() {
                spec["revisionHistoryLimit"] = json!(10);
            }
            if spec.get("progressDeadlineSeconds").is_none() {
                spec["progressDeadlineSeconds"] = json!(600);
            }
            // As SetDefaults_Deployment: an empty strategy (`kubectl create deployment`
            // sends `{}`) is a rolling update, its bounds 25% each when unset.
            let strategy = &mut spec["strategy"];
            if !strategy.is_object() {
                *strategy = json!({});
            }
            if strategy.get("type").is_none_or(|t| t.as_str() == Some("")) {
                strategy["type"] = json!("RollingUpdate");
            }
            if strategy["type"] == "RollingUpdate" {
                let rolling = &mut strategy["rollingUpdate"];
                if !rolling.is_object() {
                    *rolling = json!({});
                }
                for bound in ["maxUnavailable", "maxSurge"] {
                    if rolling.get(bound).is_none_or(Value::is_null) {
                        rolling[bound] = json!("25%");
                    }
                }
            }
            if let Some(t) = spec.pointer_mut("/template/spec") {
                pod_defaults(t);
            }
        }
        "ReplicaSet" => {
            if let Some(t) = obj.pointer_mut("/spec/template/spec") {
                pod_defaults(t);
            }
        }
        "Job" => {
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let spec = &mut obj["spec"];
            for (k, v) in [
                ("backoffLimit", json!(6)),
                ("completions", json!(1)),
                ("parallelism", json!(1)),
                ("completionMode", json!("NonIndexed")),
                ("suspend", json!(false)),
                ("manualSelector", json!(false)),
                ("podReplacementPolicy", json!("TerminatingOrFailed")),
            ] {
                if spec.get(k).is_none() {
                    spec[k] = v;
                }
            }
            if spec.get("selector").is_none() {
                spec["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
            }
            let labels = &mut spec["template"]["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            for (k, v) in [
                ("batch.kubernetes.io/controller-uid", uid),
                ("controller-uid", uid),
                ("batch.kubernetes.io/job-name", name.as_str()),
                ("job-name", name.as_str()),
            ] {
                if labels.get(k).is_none() {
                    labels[k] = json!(v);
                }
            }
            if let Some(t) = spec.pointer_mut("/template/spec") {
                pod_defaults(t);
            }
        }
        "Service" => {
            let spec = &mut obj["spec"];
            if spec.get("type").is_none() {
                spec["type"] = json!("ClusterIP");
            }
            if spec.get("sessionAffinity").is_none() {
                spec["sessionAffinity"] = json!("None");
            }
            if spec["type"] != "ExternalName" && spec.get("clusterIP").is_none() {
                spec["clusterIP"] = json!(cluster_ip);
                spec["clusterIPs"] = json!([cluster_ip]);
                spec["ipFamilies"] = json!(["IPv4"]);
                spec["ipFamilyPolicy"] = json!("SingleStack");
                spec["internalTrafficPolicy"] = json!("Cluster");
            }
            for p in spec
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if p.get("protocol").is_none() {
                    p["protocol"] = json!("TCP");
                }
                if p.get("targetPort").is_none() {
                    p["targetPort"] = p["port"].clone();
                }
            }
            if matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer")) {
                if spec.get("externalTrafficPolicy").is_none() {
                    spec["externalTrafficPolicy"] = json!("Cluster");
                }
                for (i, p) in spec
                    .get_mut("ports")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if p.get("nodePort").is_none() {
                        p["nodePort"] = json!(node_port(uid, i));
                    }
                }
            }
        }
        "Secret" if obj.get("type").is_none() => {
            obj["type"] = json!("Opaque");
        }
        "Namespace" => {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
            let name = obj.pointer("/metadata/name").cloned().unwrap_or(json!(""));
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
        }
        _ => crate::kinds::defaults(kind, obj),
    }
}
