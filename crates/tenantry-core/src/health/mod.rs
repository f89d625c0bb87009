//! Health rules: from the objects a cluster returns, is a step still progressing, done,
//! or failed — and if failed, why, in words that name the object and the cause, and
//! which evidence (a pod's log, its Events) explains it. One module per kind; the
//! environment's health is the worst of its objects' ([`env`]). Learned from Argo CD's
//! health checks, kstatus and krane's pod "doom reasons"; pure functions.

mod deployment;
pub mod env;
mod job;
mod pod;

use serde_json::Value;

pub use deployment::{deployment_health, deployment_scaled};
pub use env::{EnvHealth, ObjectHealth, environment, object_health};
pub use job::{job_health, of_job};
pub use pod::{PodRules, fatal_event, is_creating, is_terminating, pod_health};

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

pub(crate) fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

pub fn object_name(kind: &str, v: &Value) -> String {
    format!(
        "{kind} {}/{}",
        s(v, "/metadata/namespace"),
        s(v, "/metadata/name")
    )
}

pub(crate) fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

pub(crate) fn is_true(c: Option<&Value>) -> bool {
    c.is_some_and(|c| c["status"] == "True")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
