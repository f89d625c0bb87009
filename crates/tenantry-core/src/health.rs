//! Health rules: from the objects a cluster returns, is a step still progressing, done,
//! or failed — and if failed, why, in words that name the object and the cause. Learned
//! from Argo CD's health checks, kstatus and krane's pod "doom reasons"; pure functions.

use std::time::Duration;

use serde_json::Value;

/// What an object says about its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Not there yet; the text says what is awaited.
    Progressing(String),
    Ready,
    /// Will not get there without a change; the text says why.
    Failed(Failure),
}

/// Why a step failed: the object, the reason and the message, as the cluster put them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `Pod lms-dev/lms-deployment-c1-abc-xyz`.
    pub object: String,
    pub reason: String,
    pub message: String,
    /// A pod whose log tail would explain the failure.
    pub log_of: Option<String>,
    /// A pod whose Events would explain the failure.
    pub events_of: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.reason)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

pub fn object_name(kind: &str, v: &Value) -> String {
    format!(
        "{kind} {}/{}",
        s(v, "/metadata/namespace"),
        s(v, "/metadata/name")
    )
}

fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn is_true(c: Option<&Value>) -> bool {
    c.is_some_and(|c| c["status"] == "True")
}

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

/// Whether a pod is being deleted: going away, not to be judged.
pub fn is_terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(state: Value, extra: Value) -> Value {
        let mut p = json!({"metadata": {"name": "p", "namespace": "lms-dev"},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c1", "state": state, "restartCount": 3,
            "lastState": {"terminated": {"exitCode": 2}}}]}});
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                p["status"][k] = v.clone();
            }
        }
        p
    }

    fn waiting(reason: &str, message: &str) -> Value {
        json!({"waiting": {"reason": reason, "message": message}})
    }

    #[test]
    fn pod_rules_fail_fast_on_doomed_states_and_wait_on_others() {
        let r = PodRules::default();
        let now = Duration::from_secs(1);
        let cases = [
            (
                waiting("CrashLoopBackOff", "back-off"),
                "CrashLoopBackOff",
                "restarted 3 time(s), last exit code 2",
            ),
            (
                waiting(
                    "ErrImagePull",
                    "rpc error: code = NotFound desc = x: not found",
                ),
                "ErrImagePull",
                "not found",
            ),
            (
                waiting("ImagePullBackOff", "manifest unknown"),
                "ImagePullBackOff",
                "manifest unknown",
            ),
            (
                waiting("CreateContainerConfigError", "configmap \"c\" not found"),
                "CreateContainerConfigError",
                "configmap",
            ),
            (
                waiting("InvalidImageName", "bad"),
                "InvalidImageName",
                "bad",
            ),
        ];
        for (state, reason, text) in cases {
            match pod_health(&pod(state, json!({})), now, &r) {
                Health::Failed(f) => {
                    assert_eq!(f.reason, reason);
                    assert!(f.message.contains(text), "{f}");
                    assert!(f.to_string().starts_with("Pod lms-dev/p: "), "{f}");
                }
                other => panic!("{reason}: {other:?}"),
            }
        }
        let patient = [
            waiting("ErrImagePull", "i/o timeout"),
            waiting("ContainerCreating", ""),
            waiting(
                "CreateContainerConfigError",
                "failed to sync configmap cache: timed out",
            ),
        ];
        for state in patient {
            assert!(matches!(
                pod_health(&pod(state, json!({})), now, &r),
                Health::Progressing(_)
            ));
        }
        let late = Duration::from_secs(120);
        assert!(matches!(
            pod_health(
                &pod(waiting("ErrImagePull", "i/o timeout"), json!({})),
                late,
                &r
            ),
            Health::Failed(_)
        ));
        match pod_health(&pod(waiting("ContainerCreating", ""), json!({})), late, &r) {
            Health::Failed(f) => assert_eq!(f.events_of.as_deref(), Some("p")),
            other => panic!("{other:?}"),
        }
        let ready = pod(
            json!({"running": {}}),
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
        );
        assert_eq!(pod_health(&ready, now, &r), Health::Ready);
        let unsched = pod(
            waiting("ContainerCreating", ""),
            json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]}),
        );
        match pod_health(&unsched, late, &r) {
            Health::Failed(f) => assert_eq!(
                (f.reason.as_str(), f.message.as_str()),
                ("Unschedulable", "0/3 nodes are available")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jobs_and_deployments_follow_their_conditions() {
        let job = |t: &str, reason: &str| json!({"metadata": {"name": "j", "namespace": "n"}, "status": {"conditions": [{"type": t, "status": "True", "reason": reason, "message": "m"}]}});
        assert_eq!(job_health(&job("Complete", "")), Health::Ready);
        assert!(
            matches!(job_health(&job("FailureTarget", "BackoffLimitExceeded")), Health::Failed(f) if f.reason == "BackoffLimitExceeded")
        );
        assert!(matches!(
            job_health(&json!({"status": {}})),
            Health::Progressing(_)
        ));
        let dep = |generation: i64, observed: i64, ready: i64, reason: &str| {
            json!({"metadata": {"name": "d", "namespace": "n", "generation": generation},
            "spec": {"replicas": 2}, "status": {"observedGeneration": observed, "replicas": 2, "updatedReplicas": 2, "readyReplicas": ready,
            "conditions": [{"type": "Progressing", "status": "True", "reason": reason, "message": "m"}]}})
        };
        assert_eq!(
            deployment_health(&dep(1, 1, 2, "NewReplicaSetAvailable")),
            Health::Ready
        );
        assert!(matches!(
            deployment_health(&dep(2, 1, 2, "")),
            Health::Progressing(_)
        ));
        assert!(matches!(
            deployment_health(&dep(1, 1, 1, "")),
            Health::Progressing(_)
        ));
        assert!(
            matches!(deployment_health(&dep(1, 1, 0, "ProgressDeadlineExceeded")), Health::Failed(f) if f.reason == "ProgressDeadlineExceeded")
        );
    }

    #[test]
    fn a_crash_loop_says_how_the_container_last_ended_when_the_kubelet_says_more() {
        let mut p = pod(waiting("CrashLoopBackOff", "back-off"), json!({}));
        p["status"]["containerStatuses"][0]["lastState"] =
            json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
        let Health::Failed(f) = pod_health(&p, Duration::ZERO, &PodRules::default()) else {
            panic!("not failed");
        };
        assert_eq!(
            f.message,
            "container c1: restarted 3 time(s), last exit code 137 (OOMKilled)"
        );
        p["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] = json!("Error");
        let Health::Failed(f) = pod_health(&p, Duration::ZERO, &PodRules::default()) else {
            panic!("not failed");
        };
        assert!(f.message.ends_with("last exit code 137"), "{}", f.message);
    }

    #[test]
    fn a_mount_of_a_missing_secret_is_fatal_and_other_warnings_are_not() {
        let creating = pod(waiting("ContainerCreating", ""), json!({}));
        assert!(is_creating(&creating));
        assert!(!is_creating(&pod(json!({"running": {}}), json!({}))));
        let event = |reason: &str, message: &str| json!({"type": "Warning", "reason": reason, "message": message});
        let missing = event(
            "FailedMount",
            "MountVolume.SetUp failed for volume \"key\" : secret \"rsa-secret-c1\" not found",
        );
        let f = fatal_event(&creating, &[event("BackOff", "x"), missing]).unwrap();
        assert_eq!(f.object, "Pod lms-dev/p");
        assert_eq!(f.reason, "FailedMount");
        assert!(f.message.contains("secret \"rsa-secret-c1\" not found"));
        // A mount that times out may yet succeed; a Normal event says nothing is wrong.
        assert_eq!(
            fatal_event(
                &creating,
                &[
                    event(
                        "FailedMount",
                        "Unable to attach or mount volumes: timed out waiting for the condition"
                    ),
                    json!({"type": "Normal", "reason": "FailedMount", "message": "secret \"s\" not found"}),
                ]
            ),
            None
        );
    }

    #[test]
    fn a_jobs_pods_are_told_from_its_predecessors_by_uid() {
        let job = json!({"metadata": {"name": "j", "uid": "new"}});
        let pod = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(of_job(
            &pod(json!({"job-name": "j", "batch.kubernetes.io/controller-uid": "new"})),
            &job
        ));
        assert!(!of_job(
            &pod(json!({"job-name": "j", "controller-uid": "old"})),
            &job
        ));
        // Without the label (older clusters, simulators) a pod of the name counts.
        assert!(of_job(&pod(json!({"job-name": "j"})), &job));
        assert!(is_terminating(
            &json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
        ));
        assert!(!is_terminating(&pod(json!({}))));
    }
}
