//! Waiting for a step's condition: a Job complete, a Deployment rolled out, the pods
//! ready. Each change its watches bring is judged by core's health rules at once; the
//! time-based rules are looked at again every tick without a request.

use std::time::Instant;

use serde_json::Value;
use tenantry_core::health::{
    Failure, Health, deployment_health, deployment_scaled, is_terminating, job_health, of_job,
    pod_health,
};
use tenantry_kube::{ListSpec, Op};

use super::Ctx;
use super::evidence::Reason;
use super::evidence::{explain, explain_stuck, pods_verdict};
use super::waiters::{Waiter, selector};
use super::watch::{Watched, name_of};
use crate::step::{Applied, Step, Until, Waited};

/// The verdict on an object that was there and is gone.
fn vanished(step: &Step, w: &Waiter) -> String {
    format!(
        "{} {}/{} is no longer in the cluster: it was deleted while it was awaited, or the API server lost its state. Run the operation again to create it",
        step.kind().unwrap_or("object"),
        w.ns,
        w.name
    )
}

/// Waits as the step says; `Some(text)` tells what was awaited. `object` is what the
/// step's request answered; `waiter` what it watches (for Jobs and Deployments).
pub(crate) async fn wait(
    ctx: &Ctx<'_>,
    step: &Step,
    since: Instant,
    object: &Value,
    waiter: Option<&mut Waiter>,
    applied: &Applied,
    seen: &mut Vec<Value>,
) -> Result<Option<Waited>, Reason> {
    // A changed Deployment's current ReplicaSet (its `pod-template-hash`), once needed.
    let mut current: Option<String> = None;
    match (step.until, waiter) {
        (Until::Nothing, _) => Ok(None),
        (Until::JobComplete, Some(w)) => loop {
            let (job, pods) = w.state()?;
            let Some(job) = job else {
                return Err(vanished(step, w).into());
            };
            // A re-created Job's name is its predecessor's, whose pods may not be gone yet:
            // only this Job's pods (by its uid) count.
            let pods: Vec<&Value> = pods.iter().filter(|p| of_job(p, &job)).collect();
            *seen = pods.iter().map(|p| (*p).clone()).collect();
            match job_health(&job) {
                Health::Ready => {
                    return Ok(Some(Waited::JobComplete {
                        secs: since.elapsed().as_secs_f64(),
                    }));
                }
                Health::Failed(f) => {
                    // The Job's own pods say why: the newest one's log.
                    let newest = pods.last().map(|p| name_of(p));
                    let f = Failure {
                        log_of: newest.or(f.log_of.clone()),
                        ..f
                    };
                    return Err(explain(ctx, &w.ns, &f, since).await);
                }
                Health::Progressing(_) => {
                    if let Some(reason) = pods_verdict(ctx, &w.ns, &pods, since, true).await {
                        return Err(reason);
                    }
                }
            }
            w.changed(ctx.opts.poll).await;
        },
        (Until::RolloutReady, Some(w)) => loop {
            let (dep, pods) = w.state()?;
            let Some(dep) = dep else {
                return Err(vanished(step, w).into());
            };
            let pods: Vec<&Value> = pods.iter().filter(|p| !is_terminating(p)).collect();
            let pods = if applied.is_new() {
                pods
            } else {
                rollout_pods(ctx, w, &dep, pods, &mut current, since).await
            };
            *seen = pods.iter().map(|p| (*p).clone()).collect();
            match deployment_health(&dep) {
                Health::Ready => {
                    return Ok(Some(Waited::RolledOut {
                        secs: since.elapsed().as_secs_f64(),
                    }));
                }
                Health::Failed(f) => return Err(explain_stuck(ctx, &w.ns, f, &pods, since).await),
                Health::Progressing(_) => {
                    if let Some(reason) = pods_verdict(ctx, &w.ns, &pods, since, false).await {
                        return Err(reason);
                    }
                }
            }
            w.changed(ctx.opts.poll).await;
        },
        (Until::ScaledTo(replicas), Some(w)) => loop {
            let (dep, pods) = w.state()?;
            let Some(dep) = dep else {
                return Err(vanished(step, w).into());
            };
            let pods: Vec<&Value> = pods.iter().filter(|p| !is_terminating(p)).collect();
            *seen = pods.iter().map(|p| (*p).clone()).collect();
            match deployment_scaled(&dep, replicas) {
                Health::Ready => {
                    return Ok(Some(Waited::ScaledReady {
                        pods: replicas,
                        secs: since.elapsed().as_secs_f64(),
                    }));
                }
                Health::Failed(f) => return Err(explain_stuck(ctx, &w.ns, f, &pods, since).await),
                Health::Progressing(_) => {
                    if replicas > 0
                        && let Some(reason) = pods_verdict(ctx, &w.ns, &pods, since, false).await
                    {
                        return Err(reason);
                    }
                }
            }
            w.changed(ctx.opts.poll).await;
        },
        (Until::Gone, _) => match (applied, &step.target) {
            (Applied::Deleted, Some(target)) => {
                let what = format!(
                    "{} {}/{}",
                    step.kind().unwrap_or("object"),
                    step.namespace(),
                    target.name
                );
                let uid = object.pointer("/metadata/uid").and_then(Value::as_str);
                let took = super::apply::gone(ctx, target, uid, &what).await?;
                Ok(Some(Waited::Gone { secs: took }))
            }
            _ => Ok(None),
        },
        (Until::JobComplete | Until::RolloutReady | Until::ScaledTo(_), None) => Err(format!(
            "{}: the template waits for an object, but its body has no metadata.name",
            step.template
        )
        .into()),
        (Until::PodsReady, _) => {
            let ns = step.namespace();
            let list = pods_of_path(&step.path);
            // The step's own GET listed them: watch on from that list.
            let mut pods = if object["items"].is_array() {
                Watched::from_list(list, object)
            } else {
                Watched::list(ctx, list).await?
            };
            loop {
                // Pods being deleted (an old ReplicaSet's, after a rollout) are going away.
                let items: Vec<&Value> = pods
                    .items()
                    .into_iter()
                    .filter(|p| !is_terminating(p))
                    .collect();
                *seen = items.iter().map(|p| (*p).clone()).collect();
                if let Some(reason) = pods_verdict(ctx, &ns, &items, since, false).await {
                    return Err(reason);
                }
                let all_ready = !items.is_empty()
                    && items.iter().all(|p| {
                        matches!(
                            pod_health(p, since.elapsed(), &ctx.opts.rules),
                            Health::Ready
                        )
                    });
                if all_ready {
                    return Ok(Some(Waited::PodsReady { pods: items.len() }));
                }
                pods.next(ctx, ctx.opts.poll).await?;
            }
        }
    }
}

/// A template's list path (`…/pods?labelSelector=…`) as a list to watch.
fn pods_of_path(path: &str) -> ListSpec {
    let (collection, query) = path.split_once('?').unwrap_or((path, ""));
    let mut list = ListSpec::new(collection);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "labelSelector" => list = list.labels_text(v.into_owned()),
            "fieldSelector" => list = list.fields(v.into_owned()),
            _ => {}
        }
    }
    list
}

/// The pods of a changed Deployment that its rollout is judged by. While it rolls out,
/// the old ReplicaSets' pods stay (and may be failing: that is often why it was
/// changed); only the current ReplicaSet's count. Which one that is, is read once, when
/// a pod looks failed and the controller has seen the latest change; before then a
/// failing pod is an old one.
async fn rollout_pods<'p>(
    ctx: &Ctx<'_>,
    w: &Waiter,
    dep: &Value,
    pods: Vec<&'p Value>,
    current: &mut Option<String>,
    since: Instant,
) -> Vec<&'p Value> {
    let hash_of = |p: &Value| {
        p.pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if current.is_none() {
        let failing = pods.iter().any(|p| {
            matches!(
                pod_health(p, since.elapsed(), &ctx.opts.rules),
                Health::Failed(_)
            )
        });
        if !failing {
            return pods;
        }
        let n = |p: &str| dep.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        if n("/status/observedGeneration") < n("/metadata/generation") {
            return Vec::new();
        }
        *current = current_template_hash(ctx, w, dep).await;
        if current.is_none() {
            // Cannot tell which is current: judge them all.
            return pods;
        }
    }
    pods.into_iter()
        .filter(|p| hash_of(p) == *current)
        .collect()
}

/// The `pod-template-hash` of a Deployment's newest ReplicaSet (highest revision).
async fn current_template_hash(ctx: &Ctx<'_>, w: &Waiter, dep: &Value) -> Option<String> {
    let uid = dep.pointer("/metadata/uid").and_then(Value::as_str)?;
    let list = ListSpec::new(format!("apis/apps/v1/namespaces/{}/replicasets", w.ns))
        .labels(selector(&w.pod_labels));
    let answer = ctx.cluster.call(Op::List(&list)).await.ok()?;
    let revision = |rs: &Value| {
        rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(0)
    };
    answer["items"]
        .as_array()?
        .iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|o| o.iter().any(|o| o["uid"] == uid))
        })
        .max_by_key(|rs| revision(rs))?
        .pointer("/metadata/labels/pod-template-hash")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
