//! The CronJob controller: at each minute its schedule names, a Job from its template
//! (named `NAME-<minute>` as the real controller names them, owned by the CronJob), as
//! `concurrencyPolicy` allows; `suspend` stops new Jobs; finished Jobs beyond the
//! history limits are deleted; the status lists the active Jobs and the last schedule
//! and success. kubesim's clock for schedules runs `Timings::cron_minute` per minute
//! (a real minute by default), starting at the wall-clock time it started.

// The controllers share the module's imports and helpers.
use super::*;
use crate::cron::Schedule;

/// The minute (since 1970, UTC) kubesim's schedule clock is at.
fn minute_now(sim: &Shared, state: &mut State) -> i64 {
    let (since, base) = *state.cron_clock.get_or_insert_with(|| {
        let wall = time::OffsetDateTime::now_utc().unix_timestamp() / 60;
        (Instant::now(), wall)
    });
    let per = sim.config.timings.cron_minute.as_nanos().max(1);
    base + i64::try_from(since.elapsed().as_nanos() / per).unwrap_or(0)
}

fn rfc3339_of_minute(m: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(m * 60)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn finished(job: &Value) -> Option<&'static str> {
    let conds = job.pointer("/status/conditions")?.as_array()?;
    conds
        .iter()
        .find_map(|c| match (c["type"].as_str(), c["status"].as_str()) {
            (Some("Complete"), Some("True")) => Some("Complete"),
            (Some("Failed"), Some("True")) => Some("Failed"),
            _ => None,
        })
}

pub(super) fn cronjobs(sim: &Shared, state: &mut State) {
    let now_m = minute_now(sim, state);
    let jobs = all(sim, JOBS);
    for cj in all(sim, CRONJOBS) {
        let ns = s(&cj, "/metadata/namespace").to_owned();
        let name = s(&cj, "/metadata/name").to_owned();
        let uid = s(&cj, "/metadata/uid").to_owned();
        let Ok(schedule) = Schedule::parse(s(&cj, "/spec/schedule")) else {
            continue;
        };
        // The minutes not looked at yet; at first, only this one.
        let last = state.cron.insert(uid.clone(), now_m).unwrap_or(now_m - 1);
        let suspended = cj.pointer("/spec/suspend") == Some(&json!(true));
        // Missed minutes start only the latest Job, as the real controller does.
        let due = (last + 1..=now_m)
            .rev()
            .take(24 * 60)
            .find(|m| schedule.matches(*m));
        let mine: Vec<&Arc<Value>> = jobs.iter().filter(|j| owned_by(j, &uid)).collect();
        let active: Vec<&&Arc<Value>> = mine.iter().filter(|j| finished(j).is_none()).collect();
        let mut status = cj.get("status").cloned().unwrap_or(json!({}));
        if let (Some(m), false) = (due, suspended) {
            let policy = s(&cj, "/spec/concurrencyPolicy");
            let start = match policy {
                "Forbid" => active.is_empty(),
                "Replace" => {
                    for j in &active {
                        let _ = delete_object(sim, JOBS, &ns, s(j, "/metadata/name"), false);
                    }
                    true
                }
                _ => true,
            };
            if start {
                let t = cj
                    .pointer("/spec/jobTemplate")
                    .cloned()
                    .unwrap_or(json!({}));
                let job_name = format!("{name}-{m}");
                let mut meta = t.get("metadata").cloned().unwrap_or(json!({}));
                meta["name"] = json!(job_name);
                meta["namespace"] = json!(ns);
                meta["ownerReferences"] = owner_ref("CronJob", "batch/v1", &cj);
                meta["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
                    json!(rfc3339_of_minute(m));
                let job = json!({
                    "apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                    "spec": t.get("spec").cloned().unwrap_or(json!({})),
                });
                if create_object(sim, JOBS, &ns, job).is_ok() {
                    status["lastScheduleTime"] = json!(rfc3339_of_minute(m));
                    let msg = format!("Created job {job_name}");
                    cron_event(sim, state, &cj, "Normal", "SuccessfulCreate", &msg);
                }
            } else {
                let msg = "Job was not started: the previous one is still running (concurrencyPolicy Forbid)";
                cron_event(sim, state, &cj, "Normal", "JobAlreadyActive", msg);
            }
        }
        // History: the newest finished Jobs of each kind are kept, up to the limits.
        for (kind, limit_at, default) in [
            ("Complete", "/spec/successfulJobsHistoryLimit", 3),
            ("Failed", "/spec/failedJobsHistoryLimit", 1),
        ] {
            let limit = cj
                .pointer(limit_at)
                .and_then(Value::as_u64)
                .unwrap_or(default);
            let mut done: Vec<&&Arc<Value>> =
                mine.iter().filter(|j| finished(j) == Some(kind)).collect();
            done.sort_by_key(|j| s(j, "/metadata/creationTimestamp").to_owned());
            let extra = done
                .len()
                .saturating_sub(usize::try_from(limit).unwrap_or(0));
            for j in &done[..extra] {
                let _ = delete_object(sim, JOBS, &ns, s(j, "/metadata/name"), false);
            }
        }
        if let Some(newest) = mine
            .iter()
            .filter(|j| finished(j) == Some("Complete"))
            .filter_map(|j| j.pointer("/status/completionTime").and_then(Value::as_str))
            .max()
        {
            status["lastSuccessfulTime"] = json!(newest);
        }
        let refs: Vec<Value> = active
            .iter()
            .map(|j| {
                json!({"apiVersion": "batch/v1", "kind": "Job", "name": s(j, "/metadata/name"),
                       "namespace": ns, "uid": s(j, "/metadata/uid"),
                       "resourceVersion": s(j, "/metadata/resourceVersion")})
            })
            .collect();
        match refs.is_empty() {
            true => {
                status.as_object_mut().map(|m| m.remove("active"));
            }
            false => status["active"] = json!(refs),
        }
        set_status(sim, CRONJOBS, &cj, status);
    }
}

/// The CronJob controller's Event about `cj`.
fn cron_event(sim: &Shared, state: &mut State, cj: &Value, type_: &str, reason: &str, msg: &str) {
    controller_event(
        sim,
        state,
        cj,
        "CronJob",
        "batch/v1",
        "cronjob-controller",
        type_,
        reason,
        msg,
    );
}
