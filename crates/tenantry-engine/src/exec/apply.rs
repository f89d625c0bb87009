//! Sending one step: an object is created, or brought to its rendered state when it
//! exists and is ours (compared on the fields tenantry sets, so a hand edit is undone
//! and an object as rendered is not written); an object that is not ours is never
//! touched. A Job, whose template cannot change, is deleted and created again when it
//! differs or has failed.

use std::time::Instant;

use serde_json::Value;
use tenantry_core::default_templates::{CLIENT_LABEL, MANAGED_BY};
use tenantry_core::drift::differences;
use tenantry_core::health::{Health, job_health, object_name};
use tenantry_kube::{KubeError, ObjectRef, Op, Propagation};

use super::Ctx;
use crate::step::{Action, Applied, Recreate, Step};

/// Sends one step's request: what it did, and the object (or list) the API answered.
pub(crate) async fn send_step(ctx: &Ctx<'_>, step: &Step) -> Result<(Applied, Value), String> {
    match &step.action {
        Action::Apply { body, shown } => apply(ctx, step, body, shown).await,
        Action::Read => {
            let got = ctx
                .cluster
                .call(Op::Raw {
                    method: "GET",
                    path: &step.path,
                    body: None,
                })
                .await
                .map_err(|e| e.to_string())?;
            Ok((Applied::Read, got))
        }
        Action::Send {
            method,
            body,
            shown,
        } => {
            let got = ctx
                .cluster
                .call_shown(
                    Op::Raw {
                        method: method.as_str(),
                        path: &step.path,
                        body: body.as_ref(),
                    },
                    shown.as_ref(),
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok((Applied::Sent, got))
        }
        Action::Scale { replicas } => {
            let Some(object) = &step.target else {
                return Err(format!("{}: nothing to scale", step.template));
            };
            let what = format!(
                "{} {}/{}",
                step.kind().unwrap_or("object"),
                step.namespace(),
                object.name
            );
            let before = ctx
                .cluster
                .call(Op::Get(object))
                .await
                .map_err(|e| request_failed(&what, &e))?;
            let from = before
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if from == *replicas {
                return Ok((Applied::Unchanged, before));
            }
            ctx.cluster
                .call(Op::Scale {
                    object,
                    replicas: i32::try_from(*replicas).unwrap_or(0),
                })
                .await
                .map_err(|e| request_failed(&what, &e))?;
            // The object as it was seeds the waits (its selector tells its pods).
            Ok((Applied::Scaled(from, *replicas), before))
        }
        Action::Delete => {
            let Some(object) = &step.target else {
                return Err(format!("{}: nothing to delete", step.template));
            };
            let what = format!(
                "{} {}/{}",
                step.kind().unwrap_or("object"),
                step.namespace(),
                object.name
            );
            let live = match ctx.cluster.call(Op::Get(object)).await {
                Ok(live) => live,
                Err(e) if e.is_not_found() => return Ok((Applied::AlreadyGone, Value::Null)),
                Err(e) => return Err(request_failed(&what, &e)),
            };
            if !labels_say_ours(&live, &ctx.client.to_string()) {
                let labels = live
                    .pointer("/metadata/labels")
                    .map_or("none".into(), ToString::to_string);
                return Ok((Applied::LeftAlone(labels), live));
            }
            let uid = live.pointer("/metadata/uid").and_then(Value::as_str);
            match ctx
                .cluster
                .call(Op::Delete {
                    object,
                    propagation: Propagation::Foreground,
                    uid,
                })
                .await
            {
                Ok(_) => Ok((Applied::Deleted, live)),
                Err(e) if e.is_not_found() => Ok((Applied::AlreadyGone, Value::Null)),
                Err(e) => Err(request_failed(&what, &e)),
            }
        }
    }
}

fn labels_say_ours(obj: &Value, client: &str) -> bool {
    let l = obj.pointer("/metadata/labels");
    let label = |k: &str| l.and_then(|l| l.get(k)).and_then(Value::as_str);
    label(MANAGED_BY.0) == Some(MANAGED_BY.1) && label(CLIENT_LABEL) == Some(client)
}

/// A request about `what` failed: the API's answer, and what to do when it says.
pub(crate) fn request_failed(what: &str, e: &KubeError) -> String {
    let mut out = format!("{what}: {e}");
    if let KubeError::Api(a) = e
        && a.code == 404
        && a.message.starts_with("namespaces \"")
    {
        out.push_str(". The Kubernetes namespace does not exist in the cluster: have the cluster's owners create it, or point the namespace target at one that exists (`tenantry namespace edit NAME --k8s-namespace NS`)");
    }
    out
}

/// Creates the object, or brings an existing one of ours to the rendered state.
async fn apply(
    ctx: &Ctx<'_>,
    step: &Step,
    body: &Value,
    shown: &Value,
) -> Result<(Applied, Value), String> {
    let kind = body["kind"].as_str().unwrap_or("object");
    let what = object_name(kind, body);
    let name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let object = step
        .target
        .clone()
        .unwrap_or_else(|| ObjectRef::new(step.path.as_str(), name));
    let create = Op::Create {
        collection: &step.path,
        body,
    };
    // Where this client was deployed before, its objects most likely exist: read first
    // (one request for an unchanged object, not a refused create and a read).
    let mut existing = None;
    if ctx.read_first {
        match ctx.cluster.call(Op::Get(&object)).await {
            Ok(found) => existing = Some(found),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(request_failed(&what, &e)),
        }
    }
    let existing = match existing {
        Some(found) => found,
        None => {
            match ctx.cluster.call_shown(create, Some(shown)).await {
                Ok(created) => return Ok((Applied::Created, created)),
                Err(e) if e.code() == Some(409) => {}
                Err(e) => return Err(request_failed(&what, &e)),
            }
            // It exists (made since, or by an earlier attempt whose answer was lost).
            ctx.cluster
                .call(Op::Get(&object))
                .await
                .map_err(|e| request_failed(&what, &e))?
        }
    };
    let client = ctx.client.to_string();
    if !labels_say_ours(&existing, &client) {
        let labels = existing
            .pointer("/metadata/labels")
            .map_or("none".into(), ToString::to_string);
        return Err(format!(
            "{what} already exists and is not tenantry's for {client} (labels: {labels}); it was left untouched. Remove it, or label it {}={} and {CLIENT_LABEL}={client} to let tenantry manage it",
            MANAGED_BY.0, MANAGED_BY.1
        ));
    }
    let differs: Vec<String> = differences(body, &existing)
        .into_iter()
        .map(|d| d.path)
        .collect();
    if kind == "Job" {
        let failed = matches!(job_health(&existing), Health::Failed(_));
        if differs.is_empty() && !failed {
            return Ok((Applied::Unchanged, existing));
        }
        // A Job's template cannot change, and a failed one does not run again: replace it.
        let uid = existing.pointer("/metadata/uid").and_then(Value::as_str);
        match ctx
            .cluster
            .call(Op::Delete {
                object: &object,
                propagation: Propagation::Background,
                uid,
            })
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(request_failed(&what, &e)),
        }
        gone(ctx, &object, uid, &what).await?;
        let created = ctx
            .cluster
            .call_shown(create, Some(shown))
            .await
            .map_err(|e| request_failed(&what, &e))?;
        let why = if failed && differs.is_empty() {
            Recreate::PreviousFailed
        } else {
            Recreate::Changed
        };
        return Ok((Applied::Recreated(why), created));
    }
    if differs.is_empty() {
        return Ok((Applied::Unchanged, existing));
    }
    // Controllers write the object too (its status, after a change): a PUT from a version
    // that moved on meanwhile is refused with 409, and is read and converged again.
    let (mut existing, mut differs) = (existing, differs);
    let mut tries = 0;
    loop {
        // An adopted Deployment keeps its pods unless their config or template changed.
        let mut next = tenantry_core::drift::settle_adopted(body, &existing);
        next["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"].clone();
        match ctx
            .cluster
            .call_shown(
                Op::Replace {
                    object: &object,
                    body: &next,
                },
                Some(shown),
            )
            .await
        {
            Ok(updated) => return Ok((Applied::Updated(differs), updated)),
            Err(e) if e.code() == Some(409) && tries < 5 => {
                tries += 1;
                existing = ctx
                    .cluster
                    .call(Op::Get(&object))
                    .await
                    .map_err(|e| request_failed(&what, &e))?;
                let now: Vec<String> = differences(body, &existing)
                    .into_iter()
                    .map(|d| d.path)
                    .collect();
                if now.is_empty() {
                    return Ok((Applied::Updated(differs), existing));
                }
                differs = now;
            }
            Err(e) => return Err(request_failed(&what, &e)),
        }
    }
}

/// Waits until a deleted object is gone (each look recorded): not found, or replaced by
/// another of its name (another uid). One still there after `opts.delete_grace` fails
/// the step, naming the finalizers that hold it.
pub(crate) async fn gone(
    ctx: &Ctx<'_>,
    object: &ObjectRef,
    uid: Option<&str>,
    what: &str,
) -> Result<f64, String> {
    let since = Instant::now();
    loop {
        match ctx.cluster.call(Op::Get(object)).await {
            Err(e) if e.is_not_found() => return Ok(since.elapsed().as_secs_f64()),
            Err(e) if !e.is_transient() => return Err(request_failed(what, &e)),
            Ok(live)
                if uid.is_some()
                    && live.pointer("/metadata/uid").and_then(Value::as_str) != uid =>
            {
                return Ok(since.elapsed().as_secs_f64());
            }
            Ok(live) if since.elapsed() > ctx.opts.delete_grace => {
                let finalizers = live
                    .pointer("/metadata/finalizers")
                    .map_or("none".into(), ToString::to_string);
                return Err(format!(
                    "{what} is still there {:.0?} after it was deleted: its finalizers {finalizers} have not been removed. Whatever owns them has not finished; remove them by hand only if it never will",
                    ctx.opts.delete_grace
                ));
            }
            Err(_) if since.elapsed() > ctx.opts.delete_grace => {
                return Err(format!("{what}: cannot tell whether it is gone"));
            }
            _ => tokio::time::sleep(ctx.opts.poll).await,
        }
    }
}
