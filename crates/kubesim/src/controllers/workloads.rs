//! The DaemonSet and StatefulSet controllers, simulated: one pod per node, and pods with
//! stable ordinal names made in order, both replacing outdated pods one at a time.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{all, owned_by, owner_ref, pod_ready, s, set_status, template_hash};
use crate::nodes;
use crate::registry::{create_object, delete_object};
use crate::resources::{DAEMONSETS, PODS, Resource, STATEFULSETS};
use crate::sim::Shared;

/// The label both controllers put on a pod: which revision of the template made it.
const REVISION: &str = "controller-revision-hash";

/// A pod of `owner`'s template, labelled with the template's revision.
fn pod_of(res: &Resource, owner: &Value, name: Value, revision: &str) -> Value {
    let t = owner
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let mut labels = t.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
    labels[REVISION] = json!(revision);
    let mut meta = json!({"namespace": s(owner, "/metadata/namespace"), "labels": labels,
                          "ownerReferences": owner_ref(res.kind, &res.api_version(), owner)});
    match name {
        Value::String(n) => meta["name"] = json!(n),
        _ => meta["generateName"] = json!(format!("{}-", s(owner, "/metadata/name"))),
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
           "spec": t.get("spec").cloned().unwrap_or(json!({}))})
}

fn revision_of(owner: &Value) -> String {
    template_hash(owner.pointer("/spec/template").unwrap_or(&Value::Null))
}

fn live<'a>(pods: &'a [Arc<Value>], uid: &str) -> Vec<&'a Arc<Value>> {
    pods.iter()
        .filter(|p| owned_by(p, uid) && p.pointer("/metadata/deletionTimestamp").is_none())
        .collect()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// DaemonSets: one pod on each node; an outdated pod is replaced once all others are ready
/// (RollingUpdate with maxUnavailable 1).
pub(super) fn daemonsets(sim: &Shared) {
    let pods = all(sim, PODS);
    for ds in all(sim, DAEMONSETS) {
        let ns = s(&ds, "/metadata/namespace").to_owned();
        let mine = live(&pods, s(&ds, "/metadata/uid"));
        let revision = revision_of(&ds);
        for node in nodes::NAMES {
            if !mine.iter().any(|p| s(p, "/spec/nodeName") == node) {
                let mut pod = pod_of(DAEMONSETS, &ds, Value::Null, &revision);
                pod["spec"]["nodeName"] = json!(node);
                let _ = create_object(sim, PODS, &ns, pod);
            }
        }
        let updated = mine
            .iter()
            .filter(|p| s(p, &format!("/metadata/labels/{REVISION}")) == revision)
            .count();
        let ready = mine.iter().filter(|p| pod_ready(p)).count();
        let on_delete = s(&ds, "/spec/updateStrategy/type") == "OnDelete";
        if !on_delete
            && ready == mine.len()
            && let Some(old) = mine
                .iter()
                .find(|p| s(p, &format!("/metadata/labels/{REVISION}")) != revision)
        {
            let _ = delete_object(sim, PODS, &ns, s(old, "/metadata/name"), false);
        }
        let desired = count(nodes::NAMES.len());
        let mut status = json!({
            "currentNumberScheduled": count(mine.len()), "desiredNumberScheduled": desired,
            "numberMisscheduled": 0, "numberReady": count(ready), "numberAvailable": count(ready),
            "updatedNumberScheduled": count(updated),
            "observedGeneration": ds.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        });
        if desired > count(ready) {
            status["numberUnavailable"] = json!(desired - count(ready));
        }
        set_status(sim, DAEMONSETS, &ds, status);
    }
}

/// StatefulSets: pods `<name>-0` … `<name>-(n-1)`, made in order, each once the one
/// before is ready (OrderedReady), removed from the highest ordinal down, and replaced
/// from the highest ordinal down when the template changes.
pub(super) fn statefulsets(sim: &Shared) {
    let pods = all(sim, PODS);
    for sts in all(sim, STATEFULSETS) {
        let ns = s(&sts, "/metadata/namespace").to_owned();
        let name = s(&sts, "/metadata/name").to_owned();
        let uid = s(&sts, "/metadata/uid").to_owned();
        let want = sts
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let parallel = s(&sts, "/spec/podManagementPolicy") == "Parallel";
        let revision = revision_of(&sts);
        let mine = live(&pods, &uid);
        let ordinal = |p: &Value| -> Option<u64> {
            s(p, "/metadata/name")
                .strip_prefix(&format!("{name}-"))
                .and_then(|o| o.parse().ok())
        };
        let terminating = pods
            .iter()
            .any(|p| owned_by(p, &uid) && p.pointer("/metadata/deletionTimestamp").is_some());
        let mut all_ready = !terminating;
        for i in 0..want {
            match mine.iter().find(|p| ordinal(p) == Some(i)) {
                Some(p) => all_ready &= pod_ready(p),
                None => {
                    if all_ready || parallel {
                        let mut pod =
                            pod_of(STATEFULSETS, &sts, json!(format!("{name}-{i}")), &revision);
                        pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] =
                            json!(format!("{name}-{i}"));
                        pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] =
                            json!(i.to_string());
                        pod["spec"]["hostname"] = json!(format!("{name}-{i}"));
                        if let Some(svc) = sts.pointer("/spec/serviceName").and_then(Value::as_str)
                        {
                            pod["spec"]["subdomain"] = json!(svc);
                        }
                        let _ = create_object(sim, PODS, &ns, pod);
                    }
                    all_ready = false;
                }
            }
        }
        let mut extra: Vec<&&Arc<Value>> = mine
            .iter()
            .filter(|p| ordinal(p).is_none_or(|o| o >= want))
            .collect();
        extra.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
        if let Some(p) = extra.first() {
            let _ = delete_object(sim, PODS, &ns, s(p, "/metadata/name"), false);
        } else if all_ready && s(&sts, "/spec/updateStrategy/type") != "OnDelete" {
            let stale = mine
                .iter()
                .filter(|p| s(p, &format!("/metadata/labels/{REVISION}")) != revision)
                .max_by_key(|p| ordinal(p));
            if let Some(p) = stale {
                let _ = delete_object(sim, PODS, &ns, s(p, "/metadata/name"), false);
            }
        }
        let ready = count(mine.iter().filter(|p| pod_ready(p)).count());
        let updated = count(
            mine.iter()
                .filter(|p| s(p, &format!("/metadata/labels/{REVISION}")) == revision)
                .count(),
        );
        let mut status = json!({
            "replicas": count(mine.len()), "updatedReplicas": updated, "currentReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready,
            "currentRevision": format!("{name}-{revision}"), "updateRevision": format!("{name}-{revision}"),
            "collisionCount": 0,
            "observedGeneration": sts.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        });
        if ready == 0 {
            status.as_object_mut().map(|m| m.remove("readyReplicas"));
        }
        set_status(sim, STATEFULSETS, &sts, status);
    }
}
