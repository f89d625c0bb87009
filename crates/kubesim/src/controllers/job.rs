//! The Job controller: a pod at a time, back-off after failures, completion and failure
//! conditions.

// The controllers share the module's imports and helpers.
use super::*;

pub(super) fn jobs(sim: &Shared, state: &mut State) {
    let pods = all(sim, PODS);
    for job in all(sim, JOBS) {
        let ns = s(&job, "/metadata/namespace").to_owned();
        let uid = s(&job, "/metadata/uid").to_owned();
        let prev = job.get("status").cloned().unwrap_or(json!({}));
        let finished = prev
            .get("conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
                })
            });
        if finished {
            continue;
        }
        let mine: Vec<&Arc<Value>> = pods.iter().filter(|p| owned_by(p, &uid)).collect();
        let phase = |p: &Value| s(p, "/status/phase").to_owned();
        let succeeded = mine.iter().filter(|p| phase(p) == "Succeeded").count();
        let failed = mine.iter().filter(|p| phase(p) == "Failed").count();
        let active: Vec<&&Arc<Value>> = mine
            .iter()
            .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
            .collect();
        let completions = job
            .pointer("/spec/completions")
            .and_then(Value::as_u64)
            .unwrap_or(1) as usize;
        let backoff_limit = job
            .pointer("/spec/backoffLimit")
            .and_then(Value::as_u64)
            .unwrap_or(6) as usize;
        let start = prev.get("startTime").cloned().unwrap_or(json!(now()));
        let started_at = state
            .job_backoff
            .entry(format!("start/{uid}"))
            .or_insert_with(Instant::now);
        let deadline = job
            .pointer("/spec/activeDeadlineSeconds")
            .and_then(Value::as_u64);
        let over_deadline = deadline.is_some_and(|d| {
            started_at.elapsed()
                > sim.config.timings.deadline_second * u32::try_from(d).unwrap_or(u32::MAX)
        });
        let mut status = json!({"startTime": start, "active": active.len(), "succeeded": succeeded, "failed": failed,
                                "ready": active.iter().filter(|p| pod_ready(p)).count(), "terminating": 0,
                                "uncountedTerminatedPods": {}});
        let t = now();
        let cond = |kind: &str, reason: &str, message: &str| {
            json!({"type": kind, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": t, "lastTransitionTime": t})
        };
        if succeeded >= completions {
            status["active"] = json!(0);
            status["completionTime"] = json!(t);
            job_event(sim, state, &job, "Normal", "Completed", "Job completed");
            status["conditions"] = json!([
                cond(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods"
                ),
                cond(
                    "Complete",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods"
                )
            ]);
        } else if failed > backoff_limit || over_deadline {
            let (reason, message) = if over_deadline {
                (
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                )
            } else {
                (
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                )
            };
            for p in &active {
                let _ = delete_object(sim, PODS, &ns, s(p, "/metadata/name"), false);
            }
            job_event(sim, state, &job, "Warning", reason, message);
            status["active"] = json!(0);
            status["conditions"] = json!([
                cond("FailureTarget", reason, message),
                cond("Failed", reason, message)
            ]);
        } else if active.is_empty() {
            let wait = state.job_backoff.get(&uid).copied();
            if wait.is_none_or(|w| Instant::now() >= w) {
                let t = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
                let pod = json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"generateName": format!("{}-", s(&job, "/metadata/name")), "namespace": ns,
                                 "labels": t.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                                 "ownerReferences": owner_ref("Job", "batch/v1", &job)},
                    "spec": t.get("spec").cloned().unwrap_or(json!({})),
                });
                if let Ok(made) = create_object(sim, PODS, &ns, pod) {
                    status["active"] = json!(1);
                    let msg = format!("Created pod: {}", s(&made, "/metadata/name"));
                    job_event(sim, state, &job, "Normal", "SuccessfulCreate", &msg);
                }
                let factor = 1u32 << failed.min(3);
                state.job_backoff.insert(
                    uid.clone(),
                    Instant::now() + sim.config.timings.backoff * factor,
                );
            }
        }
        for k in ["succeeded", "failed", "active", "ready"] {
            if status[k] == 0 && k != "ready" {
                status.as_object_mut().map(|m| m.remove(k));
            }
        }
        set_status(sim, JOBS, &job, status);
    }
}

/// The Job controller's Event about `job`.
fn job_event(sim: &Shared, state: &mut State, job: &Value, type_: &str, reason: &str, msg: &str) {
    controller_event(
        sim,
        state,
        job,
        "Job",
        "batch/v1",
        "job-controller",
        type_,
        reason,
        msg,
    );
}
