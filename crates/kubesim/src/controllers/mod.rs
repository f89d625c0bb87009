//! The controllers and the kubelet, simulated: Deployment → ReplicaSet → Pods, Job → Pod,
//! and each pod's containers going through pull, start and ready (or failing as a
//! scenario says), with status and Events written as the real components write them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::registry::{create_object, delete_object, now};
use crate::resources::{
    self, CRONJOBS, DEPLOYMENTS, EVENTS, JOBS, PODS, REPLICASETS, REPLICATIONCONTROLLERS, Resource,
};
use crate::scenarios::{Scenarios, glob_match};
use crate::sim::Shared;
use crate::store::Key;

mod cronjob;
mod deployment;
mod events;
mod job;
mod kubelet;
mod replicaset;
mod workloads;

use cronjob::*;
use deployment::*;
use events::*;
use job::*;
pub use kubelet::lead_of;
use kubelet::*;
pub(crate) use replicaset::*;

/// Runs every controller once per tick, until the task is aborted.
pub async fn run(sim: Arc<Shared>) {
    let mut state = State::default();
    let mut tick = tokio::time::interval(sim.config.timings.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = tick.tick().await.into_std();
        deployments(&sim, &mut state);
        replicasets(&sim, &mut state);
        workloads::daemonsets(&sim);
        workloads::statefulsets(&sim);
        cronjobs(&sim, &mut state);
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
    /// CronJob uid → the last minute of its schedule looked at.
    cron: HashMap<String, i64>,
    /// When kubesim's schedule clock started, and the minute it started at.
    cron_clock: Option<(Instant, i64)>,
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
