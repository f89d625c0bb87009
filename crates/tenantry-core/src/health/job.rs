//! Jobs: done when `Complete`, failed on `Failed` or `FailureTarget`; a re-created Job
//! is judged by its own pods (its controller-uid), not its predecessor's.

use serde_json::Value;

use super::{Failure, Health, condition, is_true, object_name, s};

/// A Job's health from its conditions.
pub fn job_health(job: &Value) -> Health {
    let name = object_name("Job", job);
    for kind in ["Failed", "FailureTarget"] {
        if let Some(c) = condition(job, kind)
            && c["status"] == "True"
        {
            return Health::Failed(Failure {
                object: name,
                reason: s(c, "/reason").to_owned(),
                message: s(c, "/message").to_owned(),
                log_of: None,
                events_of: None,
            });
        }
    }
    if is_true(condition(job, "Complete")) {
        Health::Ready
    } else {
        Health::Progressing(format!("{name}: not complete yet"))
    }
}

/// Whether a pod is this Job's own: a re-created Job has its predecessor's name, and
/// its predecessor's pods may linger; its controller-uid label tells them apart (a pod
/// without one, from an older cluster or a simulator, counts by its name).
pub fn of_job(pod: &Value, job: &Value) -> bool {
    let label = |k: &str| {
        pod.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
    };
    let owner = label("batch.kubernetes.io/controller-uid").or_else(|| label("controller-uid"));
    match (owner, job.pointer("/metadata/uid").and_then(Value::as_str)) {
        (Some(owner), Some(uid)) => owner == uid,
        _ => true,
    }
}
