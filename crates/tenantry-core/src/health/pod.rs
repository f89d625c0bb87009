//! Pods: fatal at once on states no waiting mends (`CrashLoopBackOff`, a config error,
//! an image that does not exist), after a grace on states that may mend themselves
//! (a pull that times out, unschedulable, stuck creating).

use std::time::Duration;

use serde_json::Value;

use super::{Failure, Health, condition, is_true, object_name, s};

/// Settings of the pod rules.
#[derive(Debug, Clone, Copy)]
pub struct PodRules {
    /// How long a pull that fails for a reason other than "not found" may keep failing.
    pub pull_grace: Duration,
    /// How long a pod may stay unschedulable.
    pub unschedulable_grace: Duration,
    /// How long a container may stay `ContainerCreating` before its Events are reported.
    pub creating_grace: Duration,
    /// How long a container may be `ContainerCreating` before its Events are read once
    /// for a cause that no waiting mends (a volume's Secret that does not exist).
    pub events_peek: Duration,
}

impl Default for PodRules {
    fn default() -> Self {
        Self {
            pull_grace: Duration::from_secs(60),
            unschedulable_grace: Duration::from_secs(60),
            creating_grace: Duration::from_secs(60),
            events_peek: Duration::from_secs(5),
        }
    }
}

const FATAL_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "CreateContainerError",
    "RunContainerError",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// A pod's health. `waited` is how long the step has been waiting for it.
pub fn pod_health(pod: &Value, waited: Duration, rules: &PodRules) -> Health {
    let name = object_name("Pod", pod);
    let pod_name = s(pod, "/metadata/name").to_owned();
    let fail = |reason: &str, message: String, log: bool, events: bool| {
        Health::Failed(Failure {
            object: name.clone(),
            reason: reason.to_owned(),
            message,
            log_of: log.then(|| pod_name.clone()),
            events_of: events.then(|| pod_name.clone()),
        })
    };
    let phase = s(pod, "/status/phase");
    if phase == "Failed" {
        let reason = match s(pod, "/status/reason") {
            "" => "Failed",
            r => r,
        };
        return fail(reason, s(pod, "/status/message").to_owned(), true, false);
    }
    if let Some(c) = condition(pod, "PodScheduled")
        && c["status"] == "False"
        && c["reason"] == "Unschedulable"
        && waited > rules.unschedulable_grace
    {
        return fail("Unschedulable", s(c, "/message").to_owned(), false, false);
    }
    let statuses = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|k| {
            pod.pointer(&format!("/status/{k}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        });
    for c in statuses {
        let cname = s(&c, "/name").to_owned();
        if let Some(w) = c.pointer("/state/waiting") {
            let reason = s(w, "/reason");
            let message = s(w, "/message").to_owned();
            let with_container = |m: &str| format!("container {cname}: {m}");
            if FATAL_WAITING.contains(&reason) {
                let mut m = message.clone();
                if reason == "CrashLoopBackOff" {
                    let code = c
                        .pointer("/lastState/terminated/exitCode")
                        .and_then(Value::as_i64);
                    let restarts = c
                        .pointer("/restartCount")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    // The kubelet's word for the last end, when it says more than
                    // the code (OOMKilled, ContainerCannotRun).
                    let why = c
                        .pointer("/lastState/terminated/reason")
                        .and_then(Value::as_str)
                        .filter(|r| !matches!(*r, "Error" | "Completed"))
                        .map_or(String::new(), |r| format!(" ({r})"));
                    m = format!(
                        "restarted {restarts} time(s){}{why}",
                        code.map_or(String::new(), |c| format!(", last exit code {c}"))
                    );
                }
                return fail(
                    reason,
                    with_container(&m),
                    reason == "CrashLoopBackOff",
                    false,
                );
            }
            if reason == "CreateContainerConfigError" && !message.contains("cache") {
                return fail(reason, with_container(&message), false, false);
            }
            if matches!(reason, "ErrImagePull" | "ImagePullBackOff") {
                let lower = message.to_lowercase();
                let not_found = lower.contains("not found")
                    || lower.contains("manifest unknown")
                    || lower.contains("notfound");
                if not_found || waited > rules.pull_grace {
                    return fail(reason, with_container(&message), false, false);
                }
            }
            if reason == "ContainerCreating" && waited > rules.creating_grace {
                return fail(
                    "ContainerCreating",
                    with_container("stuck creating the container"),
                    false,
                    true,
                );
            }
            return Health::Progressing(format!("{name}: container {cname} waiting ({reason})"));
        }
    }
    if phase == "Succeeded" {
        return Health::Ready;
    }
    if is_true(condition(pod, "Ready")) {
        Health::Ready
    } else {
        Health::Progressing(format!(
            "{name}: not ready ({})",
            if phase.is_empty() { "Pending" } else { phase }
        ))
    }
}

/// Whether one of a pod's containers is still being created (its image pulled, its
/// volumes mounted).
pub fn is_creating(pod: &Value) -> bool {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| {
            pod.pointer(&format!("/status/{k}"))
                .and_then(Value::as_array)
        })
        .flatten()
        .any(|c| s(c, "/state/waiting/reason") == "ContainerCreating")
}

/// A pod's Warning Event that says it will not start however long it waits: a volume
/// whose Secret or ConfigMap does not exist (the kubelet retries the mount, but nothing
/// in a deploy will create it).
pub fn fatal_event(pod: &Value, events: &[Value]) -> Option<Failure> {
    events
        .iter()
        .filter(|e| e["type"] == "Warning" && e["reason"] == "FailedMount")
        .map(|e| s(e, "/message"))
        .find(|m| (m.contains("secret") || m.contains("configmap")) && m.contains("not found"))
        .map(|m| Failure {
            object: object_name("Pod", pod),
            reason: "FailedMount".into(),
            message: m.to_owned(),
            log_of: None,
            events_of: None,
        })
}

/// Whether a pod is being deleted: going away, not to be judged.
pub fn is_terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}
