//! Deployments: observed, not past their progress deadline, every replica updated and
//! ready.

use serde_json::Value;

use super::{Failure, Health, condition, object_name, s};

/// A Deployment's health: observed, not past its deadline, every replica updated and
/// ready (not Helm's maxUnavailable shortcut).
pub fn deployment_health(dep: &Value) -> Health {
    let name = object_name("Deployment", dep);
    let n = |p: &str| dep.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    if n("/status/observedGeneration") < n("/metadata/generation") {
        return Health::Progressing(format!(
            "{name}: the controller has not seen the latest change"
        ));
    }
    if let Some(c) = condition(dep, "Progressing")
        && c["reason"] == "ProgressDeadlineExceeded"
    {
        return Health::Failed(Failure {
            object: name,
            reason: "ProgressDeadlineExceeded".into(),
            message: s(c, "/message").to_owned(),
            log_of: None,
            events_of: None,
        });
    }
    let want = dep
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let (updated, ready, total) = (
        n("/status/updatedReplicas"),
        n("/status/readyReplicas"),
        n("/status/replicas"),
    );
    if updated >= want && ready >= want && total == updated {
        Health::Ready
    } else {
        Health::Progressing(format!("{name}: {ready}/{want} ready, {updated} updated"))
    }
}
