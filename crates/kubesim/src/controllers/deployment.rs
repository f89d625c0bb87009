//! The Deployment controller: a ReplicaSet per template, rolled out by surge and
//! unavailability, with its conditions and revision annotations.

// The controllers share the module's imports and helpers.
use super::*;

/// The annotation a Deployment and its ReplicaSets carry their revision in.
const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_POINTER: &str = "/metadata/annotations/deployment.kubernetes.io~1revision";

fn revision_of(r: &Value) -> u64 {
    r.pointer(REVISION_POINTER)
        .and_then(Value::as_str)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub(super) fn deployments(sim: &Shared, state: &mut State) {
    let rss = all(sim, REPLICASETS);
    for d in all(sim, DEPLOYMENTS) {
        let ns = s(&d, "/metadata/namespace").to_owned();
        let name = s(&d, "/metadata/name").to_owned();
        let uid = s(&d, "/metadata/uid").to_owned();
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let rs_name = format!("{name}-{hash}");
        let owned: Vec<&Arc<Value>> = rss.iter().filter(|r| owned_by(r, &uid)).collect();
        let new_rs = owned
            .iter()
            .find(|r| s(r, "/metadata/name") == rs_name)
            .map(|r| (*r).clone());
        // Revisions as the Deployment controller numbers them: a new ReplicaSet, or an old
        // one whose template is wanted again (`rollout undo`), takes the highest plus one.
        let max_revision = owned.iter().map(|r| revision_of(r)).max().unwrap_or(0);
        let revision = match &new_rs {
            Some(rs) if revision_of(rs) == max_revision => max_revision,
            _ => max_revision + 1,
        };
        let new_rs: Value = match new_rs {
            Some(rs) => {
                let rs = if revision_of(&rs) == revision {
                    rs
                } else {
                    let key = Key::new(REPLICASETS, &ns, &rs_name);
                    sim.store
                        .modify(&key, |cur| {
                            let mut n = cur.clone();
                            n["metadata"]["annotations"][REVISION] = json!(revision.to_string());
                            Some(n)
                        })
                        .unwrap_or(rs)
                };
                let had = rs.pointer("/spec/replicas").and_then(Value::as_i64);
                if had != Some(replicas) {
                    let _ = sim
                        .store
                        .modify(&Key::new(REPLICASETS, &ns, &rs_name), |cur| {
                            let mut n = cur.clone();
                            n["spec"]["replicas"] = json!(replicas);
                            Some(n)
                        });
                    scaled(sim, state, &d, &rs_name, had.unwrap_or(0), replicas);
                }
                (*rs).clone()
            }
            // A paused Deployment does not roll out a changed template.
            None if d.pointer("/spec/paused") == Some(&json!(true)) => continue,
            None => {
                let mut t = template.clone();
                t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": rs_name, "namespace": ns, "labels": t["metadata"]["labels"].clone(),
                                 "annotations": {REVISION: revision.to_string(),
                                                 "deployment.kubernetes.io/desired-replicas": replicas.to_string()},
                                 "ownerReferences": owner_ref("Deployment", "apps/v1", &d)},
                    "spec": {"replicas": replicas, "selector": selector, "template": t},
                });
                state.progress.insert(uid.clone(), (-1, Instant::now()));
                match create_object(sim, REPLICASETS, &ns, rs) {
                    Ok(v) => {
                        scaled(sim, state, &d, &rs_name, 0, replicas);
                        v
                    }
                    Err(_) => continue,
                }
            }
        };
        // The Deployment says its revision (kubectl's `rollout history` and `undo` read it).
        if d.pointer(REVISION_POINTER).and_then(Value::as_str) != Some(&revision.to_string()) {
            let _ = sim.store.modify(&Key::new(DEPLOYMENTS, &ns, &name), |cur| {
                let mut n = cur.clone();
                if !n["metadata"]["annotations"].is_object() {
                    n["metadata"]["annotations"] = json!({});
                }
                n["metadata"]["annotations"][REVISION] = json!(revision.to_string());
                Some(n)
            });
        }
        let ready_of = |r: &Value| {
            r.pointer("/status/readyReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let new_ready = ready_of(&new_rs);
        // Old ReplicaSets go to zero once the new one is fully ready.
        let mut old_replicas = 0;
        for old in owned.iter().filter(|r| s(r, "/metadata/name") != rs_name) {
            let n = old
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if n > 0 && new_ready >= replicas {
                let old_name = s(old, "/metadata/name");
                let key = Key::new(REPLICASETS, &ns, old_name);
                let _ = sim.store.modify(&key, |cur| {
                    let mut c = cur.clone();
                    c["spec"]["replicas"] = json!(0);
                    Some(c)
                });
                scaled(sim, state, &d, old_name, n, 0);
            } else {
                old_replicas += old
                    .pointer("/status/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
            }
        }
        let updated = new_rs
            .pointer("/status/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let total = updated + old_replicas;
        let ready: i64 = new_ready
            + owned
                .iter()
                .filter(|r| s(r, "/metadata/name") != rs_name)
                .map(|r| ready_of(r))
                .sum::<i64>();
        let max_unavailable = int_or_percent(
            d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
            replicas,
            false,
        );
        let entry = state
            .progress
            .entry(uid.clone())
            .or_insert((-1, Instant::now()));
        if entry.0 != new_ready {
            *entry = (new_ready, Instant::now());
        }
        let complete = new_ready >= replicas && old_replicas == 0 && updated == replicas;
        let deadline = d
            .pointer("/spec/progressDeadlineSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(600);
        let stalled = !complete
            && entry.1.elapsed()
                > sim.config.timings.deadline_second * u32::try_from(deadline).unwrap_or(u32::MAX);
        let prev = d.get("status");
        let available = condition(
            "Available",
            ready >= replicas - max_unavailable,
            if ready >= replicas - max_unavailable {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            },
            if ready >= replicas - max_unavailable {
                "Deployment has minimum availability."
            } else {
                "Deployment does not have minimum availability."
            },
            prev,
        );
        let progressing = if complete {
            condition(
                "Progressing",
                true,
                "NewReplicaSetAvailable",
                &format!("ReplicaSet {rs_name:?} has successfully progressed."),
                prev,
            )
        } else if stalled {
            condition(
                "Progressing",
                false,
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet {rs_name:?} has timed out progressing."),
                prev,
            )
        } else {
            condition(
                "Progressing",
                true,
                "ReplicaSetUpdated",
                &format!("ReplicaSet {rs_name:?} is progressing."),
                prev,
            )
        };
        let mut status = json!({
            "observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
            "replicas": total, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
            "conditions": [available, progressing],
        });
        if total - ready > 0 {
            status["unavailableReplicas"] = json!(total - ready);
        }
        for k in [
            "readyReplicas",
            "availableReplicas",
            "replicas",
            "updatedReplicas",
        ] {
            if status[k] == 0 {
                status.as_object_mut().map(|m| m.remove(k));
            }
        }
        set_status(sim, DEPLOYMENTS, &d, status);
    }
}

/// The Deployment controller's Event for a ReplicaSet it scaled.
fn scaled(sim: &Shared, state: &mut State, d: &Value, rs: &str, from: i64, to: i64) {
    let dir = if to >= from { "up" } else { "down" };
    let msg = format!("Scaled {dir} replica set {rs} from {from} to {to}");
    controller_event(
        sim,
        state,
        d,
        "Deployment",
        "apps/v1",
        "deployment-controller",
        "Normal",
        "ScalingReplicaSet",
        &msg,
    );
}
