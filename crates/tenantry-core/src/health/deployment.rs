//! Deployments: observed, not past their progress deadline, every replica updated and
//! ready.

use serde_json::Value;

use super::{Failure, Health, condition, object_name, s};

fn count(dep: &Value, pointer: &str) -> i64 {
    dep.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// What stands before any count is judged: a change the controller has not seen yet
/// (progressing), or a rollout past its deadline when one can be (failed).
fn before_counts(dep: &Value, name: &str, deadline_counts: bool) -> Option<Health> {
    if count(dep, "/status/observedGeneration") < count(dep, "/metadata/generation") {
        return Some(Health::Progressing(format!(
            "{name}: the controller has not seen the latest change"
        )));
    }
    let c = condition(dep, "Progressing")?;
    (deadline_counts && c["reason"] == "ProgressDeadlineExceeded").then(|| {
        Health::Failed(Failure {
            object: name.to_owned(),
            reason: "ProgressDeadlineExceeded".into(),
            message: s(c, "/message").to_owned(),
            log_of: None,
            events_of: None,
        })
    })
}

/// A Deployment's health: observed, not past its deadline, every replica updated and
/// ready (not Helm's maxUnavailable shortcut).
pub fn deployment_health(dep: &Value) -> Health {
    let name = object_name("Deployment", dep);
    if let Some(h) = before_counts(dep, &name, true) {
        return h;
    }
    let want = dep
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let (updated, ready, total) = (
        count(dep, "/status/updatedReplicas"),
        count(dep, "/status/readyReplicas"),
        count(dep, "/status/replicas"),
    );
    if updated >= want && ready >= want && total == updated {
        Health::Ready
    } else {
        Health::Progressing(format!("{name}: {ready}/{want} ready, {updated} updated"))
    }
}

/// A Deployment scaled to `replicas`: observed, and exactly that many pods left (none
/// being deleted counted), each ready. Scaling down counts as done only once the pods
/// are gone, unlike a rollout's status; a deadline does not fail a scale-down.
pub fn deployment_scaled(dep: &Value, replicas: i64) -> Health {
    let name = object_name("Deployment", dep);
    if let Some(h) = before_counts(dep, &name, replicas > 0) {
        return h;
    }
    let (total, ready) = (
        count(dep, "/status/replicas"),
        count(dep, "/status/readyReplicas"),
    );
    if total == replicas && ready >= replicas {
        Health::Ready
    } else {
        Health::Progressing(format!(
            "{name}: {total} pod(s), {ready} ready, scaling to {replicas}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scaled_means_that_many_pods_ready_and_no_more() {
        let dep = |replicas: i64, ready: i64| {
            json!({"metadata": {"name": "d", "namespace": "n", "generation": 2},
                "status": {"observedGeneration": 2, "replicas": replicas, "readyReplicas": ready}})
        };
        assert!(matches!(
            deployment_scaled(&dep(1, 1), 0),
            Health::Progressing(_)
        ));
        assert_eq!(deployment_scaled(&dep(0, 0), 0), Health::Ready);
        assert!(matches!(
            deployment_scaled(&dep(2, 1), 2),
            Health::Progressing(_)
        ));
        assert_eq!(deployment_scaled(&dep(2, 2), 2), Health::Ready);
        let mut unseen = dep(0, 0);
        unseen["metadata"]["generation"] = json!(3);
        assert!(matches!(
            deployment_scaled(&unseen, 0),
            Health::Progressing(_)
        ));
    }
}
