//! The controllers and the kubelet, simulated: Deployment → ReplicaSet → Pods, Job → Pod,
//! and each pod's containers going through pull, start and ready (or failing as a
//! scenario says), with status and Events written as the real components write them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::registry::{create_object, delete_object, now};
use crate::resources::{
    self, DEPLOYMENTS, EVENTS, JOBS, PODS, REPLICASETS, REPLICATIONCONTROLLERS, Resource,
};
use crate::sim::{Shared, glob_match};
use crate::store::Key;

/// Runs every controller once per tick, until the task is aborted.
pub async fn run(sim: Arc<Shared>) {
    let mut state = State::default();
    let mut tick = tokio::time::interval(sim.config.timings.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = tick.tick().await.into_std();
        deployments(&sim, &mut state);
        replicasets(&sim);
        crate::workloads::daemonsets(&sim);
        crate::workloads::statefulsets(&sim);
        jobs(&sim, &mut state);
        kubelet(&sim, &mut state, now);
    }
}

/// What the simulation remembers between ticks that objects do not carry.
#[derive(Debug, Default)]
struct State {
    pods: HashMap<String, PodSim>,
    /// Deployment uid → (ready count last seen, when it last changed).
    progress: HashMap<String, (i64, Instant)>,
    /// Job uid → when the next pod may start (after a failure's back-off).
    job_backoff: HashMap<String, Instant>,
    /// Event dedupe key → event name.
    events: HashMap<String, String>,
}

#[derive(Debug)]
struct PodSim {
    created: Instant,
    /// When the current container attempt started running.
    running_since: Option<Instant>,
    restarts: i64,
    /// A crashed or failed-to-pull container waits until then.
    backoff_until: Option<Instant>,
    pull_failures: u32,
    last_pull_failure: Option<Instant>,
    done: bool,
    said: Vec<String>,
}

pub(crate) fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn owner_ref(kind: &str, api_version: &str, obj: &Value) -> Value {
    json!([{"apiVersion": api_version, "kind": kind, "name": s(obj, "/metadata/name"), "uid": s(obj, "/metadata/uid"),
            "controller": true, "blockOwnerDeletion": true}])
}

pub(crate) fn owned_by(obj: &Value, uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|o| o["uid"] == uid))
}

pub(crate) fn all(sim: &Shared, res: &Resource) -> Vec<Arc<Value>> {
    sim.store.list(&res.qualified_plural(), None).0
}

pub(crate) fn set_status(sim: &Shared, res: &Resource, obj: &Value, status: Value) {
    let key = Key::new(res, s(obj, "/metadata/namespace"), s(obj, "/metadata/name"));
    let _ = sim.store.modify(&key, |cur| {
        if cur.get("status") == Some(&status) {
            return None;
        }
        let mut next = cur.clone();
        next["status"] = status;
        Some(next)
    });
}

fn condition(
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    previous: Option<&Value>,
) -> Value {
    let status = if status { "True" } else { "False" };
    let prev = previous
        .and_then(|p| p.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    let since = match prev {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now()),
    };
    let updated = match prev {
        Some(p) if p["status"] == status && p["reason"] == reason => {
            p.get("lastUpdateTime").cloned().unwrap_or(json!(now()))
        }
        _ => json!(now()),
    };
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": since, "lastUpdateTime": updated})
}

pub(crate) fn template_hash(template: &Value) -> String {
    // FNV-1a over the template's JSON: stable, short, like pod-template-hash.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| char::from(CHARS[((h >> (i * 6)) as usize) % CHARS.len()]))
        .collect()
}

fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(p)) => {
            let pct: i64 = p.trim_end_matches('%').parse().unwrap_or(25);
            if round_up {
                (total * pct + 99) / 100
            } else {
                total * pct / 100
            }
        }
        _ => {
            if round_up {
                (total * 25 + 99) / 100
            } else {
                total * 25 / 100
            }
        }
    }
}

fn deployments(sim: &Shared, state: &mut State) {
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
        let revision = owned.len() + usize::from(new_rs.is_none());
        let new_rs: Value = match new_rs {
            Some(rs) => {
                if rs.pointer("/spec/replicas").and_then(Value::as_i64) != Some(replicas) {
                    let _ = sim
                        .store
                        .modify(&Key::new(REPLICASETS, &ns, &rs_name), |cur| {
                            let mut n = cur.clone();
                            n["spec"]["replicas"] = json!(replicas);
                            Some(n)
                        });
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
                                 "annotations": {"deployment.kubernetes.io/revision": revision.to_string(),
                                                 "deployment.kubernetes.io/desired-replicas": replicas.to_string()},
                                 "ownerReferences": owner_ref("Deployment", "apps/v1", &d)},
                    "spec": {"replicas": replicas, "selector": selector, "template": t},
                });
                state.progress.insert(uid.clone(), (-1, Instant::now()));
                match create_object(sim, REPLICASETS, &ns, rs) {
                    Ok(v) => v,
                    Err(_) => continue,
                }
            }
        };
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
                let key = Key::new(REPLICASETS, &ns, s(old, "/metadata/name"));
                let _ = sim.store.modify(&key, |cur| {
                    let mut c = cur.clone();
                    c["spec"]["replicas"] = json!(0);
                    Some(c)
                });
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

pub(crate) fn pod_ready(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// ReplicaSets and ReplicationControllers: keep `replicas` pods of the template.
fn replicasets(sim: &Shared) {
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
            let _ = create_object(sim, PODS, &ns, pod);
        }
        for extra in mine.iter().skip(usize::try_from(want.max(0)).unwrap_or(0)) {
            let _ = delete_object(sim, PODS, &ns, s(extra, "/metadata/name"), false);
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

fn jobs(sim: &Shared, state: &mut State) {
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
                if create_object(sim, PODS, &ns, pod).is_ok() {
                    status["active"] = json!(1);
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

/// Records an Event about a pod, counting repeats as the kubelet does.
fn event(sim: &Shared, state: &mut State, pod: &Value, kind: &str, reason: &str, message: &str) {
    let ns = s(pod, "/metadata/namespace").to_owned();
    let pod_name = s(pod, "/metadata/name");
    let key = format!("{ns}/{pod_name}/{reason}/{message}");
    let t = now();
    if let Some(name) = state.events.get(&key) {
        let _ = sim.store.modify(&Key::new(EVENTS, &ns, name), |cur| {
            let mut n = cur.clone();
            n["count"] = json!(cur["count"].as_i64().unwrap_or(1) + 1);
            n["lastTimestamp"] = json!(t);
            Some(n)
        });
        return;
    }
    let name = format!("{pod_name}.{:x}", uuid::Uuid::new_v4().as_u128() as u64);
    let host = match s(pod, "/spec/nodeName") {
        "" => crate::nodes::NAMES[0],
        n => n,
    };
    let ev = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "namespace": ns,
                           "uid": s(pod, "/metadata/uid"), "fieldPath": "spec.containers{}"},
        "reason": reason, "message": message, "type": kind, "count": 1,
        "source": {"component": "kubelet", "host": host},
        "firstTimestamp": t, "lastTimestamp": t, "reportingComponent": "kubelet", "reportingInstance": host,
    });
    if create_object(sim, EVENTS, &ns, ev).is_ok() {
        state.events.insert(key, name);
    }
}

fn exists(sim: &Shared, res: &Resource, ns: &str, name: &str) -> bool {
    sim.store.get(&Key::new(res, ns, name)).is_some()
}

/// What a Job container would print: its `echo` lines with env vars filled in.
fn echo_lines(container: &Value) -> Vec<String> {
    let env: HashMap<String, String> = container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| (s(e, "/name").to_owned(), s(e, "/value").to_owned()))
        .collect();
    let script: Vec<&str> = container
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    script
        .join("\n")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("echo "))
        .map(|l| {
            let mut out = l.trim_matches('"').to_owned();
            for (k, v) in &env {
                out = out.replace(&format!("${k}"), v);
            }
            out
        })
        .collect()
}

/// The kubelet's pass at the tick of `tick`: a pod first seen now counts its age from
/// the tick, so a timed step (schedule, pull, run) is seen done at the tick it ends,
/// not one tick later.
fn kubelet(sim: &Shared, state: &mut State, tick: Instant) {
    let t = &sim.config.timings;
    let scenarios = sim.scenarios();
    let pods = all(sim, PODS);
    let live: std::collections::HashSet<String> = pods
        .iter()
        .map(|p| s(p, "/metadata/uid").to_owned())
        .collect();
    state.pods.retain(|uid, _| live.contains(uid));
    for pod in pods {
        let uid = s(&pod, "/metadata/uid").to_owned();
        let ns = s(&pod, "/metadata/namespace").to_owned();
        let name = s(&pod, "/metadata/name").to_owned();
        let sim_state = state.pods.entry(uid.clone()).or_insert_with(|| PodSim {
            created: tick,
            running_since: None,
            restarts: 0,
            backoff_until: None,
            pull_failures: 0,
            last_pull_failure: None,
            done: false,
            said: Vec::new(),
        });
        if sim_state.done {
            continue;
        }
        let age = sim_state.created.elapsed();
        let c = pod
            .pointer("/spec/containers/0")
            .cloned()
            .unwrap_or(json!({}));
        let cname = s(&c, "/name").to_owned();
        let image = s(&c, "/image").to_owned();
        let restart_policy = s(&pod, "/spec/restartPolicy").to_owned();
        let job_pod = restart_policy != "Always";
        let mut says: Vec<(&str, String, String)> = Vec::new();
        let say_once = |sim_state: &mut PodSim,
                        says: &mut Vec<(&str, String, String)>,
                        kind: &'static str,
                        reason: &str,
                        msg: String| {
            let k = format!("{reason}/{msg}");
            if !sim_state.said.contains(&k) {
                sim_state.said.push(k);
                says.push((kind, reason.to_owned(), msg));
            }
        };
        let start_time = pod
            .pointer("/status/startTime")
            .cloned()
            .unwrap_or(json!(now()));
        let mut status = json!({"phase": "Pending", "qosClass": "BestEffort", "startTime": start_time,
                                "hostIP": "10.0.0.10", "hostIPs": [{"ip": "10.0.0.10"}]});
        let prev = pod.get("status").cloned();
        let mut conditions = vec![];
        if age < t.schedule {
            set_status(
                sim,
                PODS,
                &pod,
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
            continue;
        }
        // The scheduler binds the pod to a node once (a DaemonSet's pods come bound).
        let node = match s(&pod, "/spec/nodeName") {
            "" => {
                let node = crate::nodes::for_pod(&uid);
                let _ = sim.store.modify(&Key::new(PODS, &ns, &name), |cur| {
                    let mut next = cur.clone();
                    next["spec"]["nodeName"] = json!(node);
                    Some(next)
                });
                node.to_owned()
            }
            n => n.to_owned(),
        };
        status["hostIP"] = json!(crate::nodes::ip(&node));
        status["hostIPs"] = json!([{"ip": crate::nodes::ip(&node)}]);
        say_once(
            sim_state,
            &mut says,
            "Normal",
            "Scheduled",
            format!("Successfully assigned {ns}/{name} to {node}"),
        );
        conditions.push(condition("PodScheduled", true, "", "", prev.as_ref()));
        let ip_octet = uid.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        status["podIP"] = json!(format!("10.244.0.{}", ip_octet.max(2)));
        status["podIPs"] = json!([{"ip": status["podIP"].clone()}]);
        // (state, ready, lastState, phase)
        let waiting = |reason: &str, message: &str| json!({"waiting": {"reason": reason, "message": message}});
        let mut last_state = prev
            .as_ref()
            .and_then(|p| p.pointer("/containerStatuses/0/lastState"))
            .cloned()
            .unwrap_or(json!({}));
        let mut ready = false;
        let mut phase = "Pending";
        let since_scheduled = age - t.schedule;
        let missing_secret = pod
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                v.pointer("/secret/secretName")
                    .and_then(Value::as_str)
                    .map(|sn| (s(v, "/name").to_owned(), sn.to_owned()))
            })
            .find(|(_, sn)| !exists(sim, resources::SECRETS, &ns, sn));
        let cstate = if let Some((vol, secret)) = missing_secret {
            say_once(
                sim_state,
                &mut says,
                "Warning",
                "FailedMount",
                format!(
                    "MountVolume.SetUp failed for volume {vol:?} : secret {secret:?} not found"
                ),
            );
            sim_state.created = Instant::now() - t.schedule;
            waiting("ContainerCreating", "")
        } else if since_scheduled < t.pull {
            say_once(
                sim_state,
                &mut says,
                "Normal",
                "Pulling",
                format!("Pulling image {image:?}"),
            );
            waiting("ContainerCreating", "")
        } else if scenarios
            .fail_image_pull
            .iter()
            .any(|p| glob_match(p, &image))
        {
            say_once(
                sim_state,
                &mut says,
                "Normal",
                "Pulling",
                format!("Pulling image {image:?}"),
            );
            let now_i = Instant::now();
            if sim_state.backoff_until.is_none_or(|u| now_i >= u) {
                // A new pull attempt, and it fails.
                sim_state.pull_failures += 1;
                sim_state.last_pull_failure = Some(now_i);
                sim_state.backoff_until =
                    Some(now_i + t.backoff * (1 << sim_state.pull_failures.min(3)));
                let msg = format!(
                    "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
                );
                says.push((
                    "Warning",
                    "Failed".into(),
                    format!("Failed to pull image {image:?}: {msg}"),
                ));
                says.push(("Warning", "Failed".into(), "Error: ErrImagePull".into()));
            }
            let failed_at = sim_state.last_pull_failure.unwrap_or(now_i);
            let not_found = format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": {image}: not found"
            );
            if failed_at.elapsed() < t.pull.max(t.tick * 5) {
                waiting("ErrImagePull", &not_found)
            } else {
                says.push((
                    "Normal",
                    "BackOff".into(),
                    format!("Back-off pulling image {image:?}"),
                ));
                says.push(("Warning", "Failed".into(), "Error: ImagePullBackOff".into()));
                waiting(
                    "ImagePullBackOff",
                    &format!("Back-off pulling image \"{image}\": ErrImagePull: {not_found}"),
                )
            }
        } else {
            say_once(
                sim_state,
                &mut says,
                "Normal",
                "Pulled",
                format!("Successfully pulled image {image:?} in 1.2s"),
            );
            let missing_cm = c
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.pointer("/configMapRef/optional") != Some(&json!(true)))
                .filter_map(|e| e.pointer("/configMapRef/name").and_then(Value::as_str))
                .find(|cm| !exists(sim, resources::CONFIGMAPS, &ns, cm))
                .map(str::to_owned);
            if let Some(cm) = missing_cm {
                let msg = format!("configmap {cm:?} not found");
                says.push(("Warning", "Failed".into(), format!("Error: {msg}")));
                sim_state.created = Instant::now() - t.schedule - t.pull;
                waiting("CreateContainerConfigError", &msg)
            } else if sim_state.backoff_until.is_some_and(|u| Instant::now() < u) {
                says.push((
                    "Warning",
                    "BackOff".into(),
                    format!(
                        "Back-off restarting failed container {cname} in pod {name}_{ns}({uid})"
                    ),
                ));
                waiting(
                    "CrashLoopBackOff",
                    &format!(
                        "back-off {}s restarting failed container={cname} pod={name}_{ns}({uid})",
                        t.backoff.as_secs().max(10)
                    ),
                )
            } else {
                let since = *sim_state.running_since.get_or_insert_with(Instant::now);
                if sim_state.restarts == 0 || since.elapsed() < t.tick * 2 {
                    say_once(
                        sim_state,
                        &mut says,
                        "Normal",
                        "Created",
                        format!("Created container {cname}"),
                    );
                    say_once(
                        sim_state,
                        &mut says,
                        "Normal",
                        "Started",
                        format!("Started container {cname}"),
                    );
                }
                let started_at = json!(now());
                let running = json!({"running": {"startedAt": prev.as_ref().and_then(|p| p.pointer("/containerStatuses/0/state/running/startedAt")).cloned().unwrap_or(started_at)}});
                let command = format!(
                    "{} {}",
                    c.get("command")
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    c.get("args").map(ToString::to_string).unwrap_or_default()
                );
                let crashes = scenarios.crash_image.iter().any(|p| glob_match(p, &image));
                let job_fails = job_pod
                    && scenarios
                        .fail_job_command
                        .iter()
                        .any(|p| glob_match(p, &command));
                let slow = scenarios
                    .slow_ready
                    .iter()
                    .find(|(p, _)| glob_match(p, &image))
                    .map_or(Duration::ZERO, |(_, ms)| Duration::from_millis(*ms));
                let run_for = since.elapsed();
                if job_pod && run_for >= t.job_run {
                    let (code, reason) = if job_fails {
                        (1, "Error")
                    } else {
                        (0, "Completed")
                    };
                    if job_fails {
                        sim.append_log(&ns, &name, &format!("kubesim: the command of container {cname} failed (scenario fail_job_command)"));
                        sim.append_log(&ns, &name, "ERROR: setup failed");
                    } else {
                        for line in echo_lines(&c) {
                            sim.append_log(&ns, &name, &line);
                        }
                    }
                    phase = if job_fails { "Failed" } else { "Succeeded" };
                    sim_state.done = true;
                    json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": now(), "finishedAt": now(), "containerID": format!("containerd://{uid}")}})
                } else if crashes && run_for >= t.crash_after {
                    sim.append_log(
                        &ns,
                        &name,
                        &format!(
                            "panic: kubesim: image {image} crashes on start (scenario crash_image)"
                        ),
                    );
                    sim_state.restarts += 1;
                    sim_state.running_since = None;
                    sim_state.backoff_until =
                        Some(Instant::now() + t.backoff * (1 << sim_state.restarts.clamp(0, 3)));
                    last_state = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now(), "containerID": format!("containerd://{uid}")}});
                    says.push((
                        "Warning",
                        "BackOff".into(),
                        format!(
                            "Back-off restarting failed container {cname} in pod {name}_{ns}({uid})"
                        ),
                    ));
                    waiting(
                        "CrashLoopBackOff",
                        &format!(
                            "back-off {}s restarting failed container={cname} pod={name}_{ns}({uid})",
                            t.backoff.as_secs().max(10)
                        ),
                    )
                } else {
                    phase = "Running";
                    ready = !job_pod && !crashes && run_for >= t.start + t.ready + slow;
                    running
                }
            }
        };
        let started = cstate.get("running").is_some();
        if phase == "Pending" && started {
            phase = "Running";
        }
        if sim_state.restarts > 0 && phase == "Pending" {
            phase = "Running";
        }
        let ready_s = ready && phase == "Running";
        conditions.insert(0, condition("Initialized", true, "", "", prev.as_ref()));
        conditions.push(condition(
            "ContainersReady",
            ready_s,
            if ready_s { "" } else { "ContainersNotReady" },
            if ready_s {
                ""
            } else {
                "containers with unready status: [c]"
            },
            prev.as_ref(),
        ));
        conditions.push(condition(
            "Ready",
            ready_s,
            if ready_s { "" } else { "ContainersNotReady" },
            if ready_s {
                ""
            } else {
                "containers with unready status: [c]"
            },
            prev.as_ref(),
        ));
        for cond in &mut conditions {
            if let Some(m) = cond.as_object_mut() {
                m.remove("lastUpdateTime");
                m.insert("lastProbeTime".into(), Value::Null);
                if m.get("reason").is_some_and(|r| r == "") {
                    m.remove("reason");
                    m.remove("message");
                } else if let Some(msg) = m.get_mut("message") {
                    *msg = json!(
                        msg.as_str()
                            .unwrap_or("")
                            .replace("[c]", &format!("[{cname}]"))
                    );
                }
            }
        }
        status["phase"] = json!(phase);
        status["conditions"] = Value::Array(conditions);
        status["containerStatuses"] = json!([{
            "name": cname, "image": image, "imageID": if started { format!("docker.io/{image}@sha256:0000") } else { String::new() },
            "containerID": if started { format!("containerd://{uid}") } else { String::new() },
            "ready": ready_s, "started": started, "restartCount": sim_state.restarts,
            "state": cstate, "lastState": last_state,
        }]);
        if let Some(cs) = status
            .pointer_mut("/containerStatuses/0")
            .and_then(Value::as_object_mut)
            && cs["containerID"] == ""
        {
            cs.remove("containerID");
        }
        set_status(sim, PODS, &pod, status);
        for (kind, reason, msg) in says {
            event(sim, state, &pod, kind, &reason, &msg);
        }
    }
}
