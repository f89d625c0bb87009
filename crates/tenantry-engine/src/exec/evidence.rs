//! What explains a failure: the log tail of the pod that failed, its Warning Events;
//! and the pods' verdict, reading a creating pod's Events once so a mount of a missing
//! Secret fails at once rather than at a grace period.

use std::time::Instant;

use serde_json::{Value, json};
use tenantry_core::health::{Failure, Health, fatal_event, is_creating, pod_health};
use tenantry_kube::{ListSpec, ObjectRef, Op};

use super::Ctx;
use super::watch::name_of;
use crate::step::Explained;

fn pod_ref(ns: &str, pod: &str) -> ObjectRef {
    ObjectRef::new(format!("api/v1/namespaces/{ns}/pods"), pod)
}

/// Why a wait failed: a failed object explained, or the engine's words.
#[derive(Debug, Clone)]
pub(crate) enum Reason {
    Explained(Explained),
    Text(String),
}

impl Reason {
    pub(crate) fn explained(&self) -> Option<Explained> {
        match self {
            Self::Explained(e) => Some(e.clone()),
            Self::Text(_) => None,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Explained(e) => write!(f, "{e}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl From<String> for Reason {
    fn from(t: String) -> Self {
        Self::Text(t)
    }
}

fn explained(f: &Failure, since: Instant) -> Explained {
    Explained {
        object: f.object.clone(),
        reason: f.reason.clone(),
        message: f.message.clone(),
        after_secs: since.elapsed().as_secs_f64(),
        log_tail: None,
        warnings: Vec::new(),
    }
}

/// The failure, with the log tail or the Events it points at.
pub(crate) async fn explain(ctx: &Ctx<'_>, ns: &str, f: &Failure, since: Instant) -> Reason {
    let mut out = explained(f, since);
    if let Some(pod) = &f.log_of
        && let Ok(log) = ctx.cluster.pod_log_tail(&pod_ref(ns, pod), 10).await
        && !log.trim().is_empty()
    {
        out.log_tail = Some(log.trim_end().to_owned());
    }
    if let Some(pod) = &f.events_of
        && let Some(events) = pod_events(ctx, ns, pod).await
    {
        out.warnings = warnings(&events);
    }
    Reason::Explained(out)
}

/// A pod's Events (`None` when they cannot be read).
async fn pod_events(ctx: &Ctx<'_>, ns: &str, pod: &str) -> Option<Vec<Value>> {
    let list = ListSpec::new(format!("api/v1/namespaces/{ns}/events"))
        .fields(format!("involvedObject.name={pod}"));
    let answer = ctx.cluster.call(Op::List(&list)).await.ok()?;
    Some(answer["items"].as_array().cloned().unwrap_or_default())
}

/// The Warning Events' reasons and messages.
fn warnings(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "Warning")
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or("").to_owned(),
                e["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The first pod that the health rules say has failed, explained.
pub(crate) async fn pods_verdict(
    ctx: &Ctx<'_>,
    ns: &str,
    pods: &[&Value],
    since: Instant,
    skip_finished: bool,
) -> Option<Reason> {
    for p in pods {
        let phase = p
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        if skip_finished && matches!(phase, "Failed" | "Succeeded") {
            continue;
        }
        let mut with_ns = (*p).clone();
        with_ns["metadata"]["namespace"] = json!(ns);
        if let Health::Failed(f) = pod_health(&with_ns, since.elapsed(), &ctx.opts.rules) {
            return Some(explain(ctx, ns, &f, since).await);
        }
        // Still being created a while after the step began: its Events may already say
        // it never will be (a mount of a Secret that does not exist). Read once a pod.
        let name = name_of(p);
        if is_creating(p)
            && since.elapsed() > ctx.opts.rules.events_peek
            && ctx
                .peeked
                .lock()
                .is_ok_and(|mut seen| seen.insert(name.clone()))
            && let Some(events) = pod_events(ctx, ns, &name).await
            && let Some(f) = fatal_event(&with_ns, &events)
        {
            // The other warnings, if any: the one that decided is in the reason.
            let others: Vec<Value> = events
                .into_iter()
                .filter(|e| e["message"].as_str() != Some(f.message.as_str()))
                .collect();
            let mut out = explained(&f, since);
            out.warnings = warnings(&others);
            return Some(Reason::Explained(out));
        }
    }
    None
}

/// The stuck pod's Events, for a Deployment past its deadline.
pub(crate) async fn explain_stuck(
    ctx: &Ctx<'_>,
    ns: &str,
    f: Failure,
    pods: &[&Value],
    since: Instant,
) -> Reason {
    let stuck = pods
        .iter()
        .find_map(|p| match pod_health(p, since.elapsed(), &ctx.opts.rules) {
            Health::Progressing(why) => Some((name_of(p), why)),
            _ => None,
        });
    let f = match stuck {
        Some((pod, why)) => Failure {
            message: format!("{}; {why}", f.message.trim_end_matches('.')),
            events_of: Some(pod),
            ..f
        },
        None => f,
    };
    explain(ctx, ns, &f, since).await
}
