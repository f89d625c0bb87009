//! The ReplicaSet and ReplicationController controller: `replicas` pods of the template.

// The controllers share the module's imports and helpers.
use super::*;

pub(crate) fn pod_ready(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// ReplicaSets and ReplicationControllers: keep `replicas` pods of the template.
pub(super) fn replicasets(sim: &Shared, state: &mut State) {
    let pods = all(sim, PODS);
    for (res, rs) in [REPLICASETS, REPLICATIONCONTROLLERS]
        .into_iter()
        .flat_map(|res| all(sim, res).into_iter().map(move |o| (res, o)))
    {
        let ns = s(&rs, "/metadata/namespace").to_owned();
        let uid = s(&rs, "/metadata/uid").to_owned();
        let want = rs
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let mine: Vec<&Arc<Value>> = pods.iter().filter(|p| owned_by(p, &uid)).collect();
        let have = i64::try_from(mine.len()).unwrap_or(0);
        for _ in have..want {
            let t = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
            let pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": format!("{}-", s(&rs, "/metadata/name")), "namespace": ns,
                             "labels": t.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                             "ownerReferences": owner_ref(res.kind, &res.api_version(), &rs)},
                "spec": t.get("spec").cloned().unwrap_or(json!({})),
            });
            if let Ok(made) = create_object(sim, PODS, &ns, pod) {
                let msg = format!("Created pod: {}", s(&made, "/metadata/name"));
                rs_event(sim, state, res, &rs, "SuccessfulCreate", &msg);
            }
        }
        for extra in mine.iter().skip(usize::try_from(want.max(0)).unwrap_or(0)) {
            let pod = s(extra, "/metadata/name");
            if delete_object(sim, PODS, &ns, pod, false).is_ok() {
                let msg = format!("Deleted pod: {pod}");
                rs_event(sim, state, res, &rs, "SuccessfulDelete", &msg);
            }
        }
        let ready = i64::try_from(mine.iter().filter(|p| pod_ready(p)).count()).unwrap_or(0);
        let mut status = json!({"replicas": have.min(want.max(have)), "fullyLabeledReplicas": have,
                                "readyReplicas": ready, "availableReplicas": ready,
                                "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1))});
        for k in ["readyReplicas", "availableReplicas", "fullyLabeledReplicas"] {
            if status[k] == 0 {
                status.as_object_mut().map(|m| m.remove(k));
            }
        }
        set_status(sim, res, &rs, status);
    }
}

/// An Event of the ReplicaSet (or ReplicationController) controller.
fn rs_event(sim: &Shared, state: &mut State, res: &Resource, rs: &Value, reason: &str, msg: &str) {
    let component = if res.kind == "ReplicaSet" {
        "replicaset-controller"
    } else {
        "replication-controller"
    };
    controller_event(
        sim,
        state,
        rs,
        res.kind,
        &res.api_version(),
        component,
        "Normal",
        reason,
        msg,
    );
}
