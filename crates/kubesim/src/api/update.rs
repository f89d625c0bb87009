//! `update` and `patch` (merge, strategic, JSON, apply): one commit path with
//! preconditions, finalizers and dry runs.

// The verbs share the module's imports and helpers.
use super::*;

/// Stores a write of an existing object (or, in a dry run, only checks it): the version
/// it was read at must still be current; an object being deleted takes no new
/// finalizers, and goes once its last finalizer is removed.
pub(super) fn commit(
    sim: &Shared,
    res: &Resource,
    key: &Key,
    current: &Value,
    next: Value,
    expect: Option<u64>,
    dry: bool,
) -> Result<Value, ApiError> {
    if terminating(current) {
        let before = finalizers(current);
        let added: Vec<String> = finalizers(&next)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list = added
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::invalid(
                res,
                &key.name,
                vec![Cause::forbidden(
                    "metadata.finalizers",
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                    ),
                )],
            ));
        }
    }
    if dry {
        if expect.is_some_and(|e| Some(e) != rv_of(current)) {
            return Err(ApiError::conflict(res, &key.name));
        }
        return Ok(next);
    }
    let v = sim
        .store
        .update(key, next, expect)
        .map_err(|e| store_err(res, &key.name, e))?;
    if terminating(&v) && finalizers(&v).is_empty() {
        let _ = remove_object(sim, res, &key.ns, &key.name, false);
    }
    Ok((*v).clone())
}

/// Builds the object that replaces `current`: server-owned fields kept, status kept unless
/// this is the status subresource, generation bumped when the spec changed.
pub(super) fn merge_update(
    res: &Resource,
    current: &Value,
    mut next: Value,
    status_only: bool,
) -> Result<Value, ApiError> {
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if status_only {
        let mut out = current.clone();
        out["status"] = next.get("status").cloned().unwrap_or(json!({}));
        return Ok(out);
    }
    for k in [
        "uid",
        "creationTimestamp",
        "namespace",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        if let Some(v) = current.pointer(&format!("/metadata/{k}")) {
            next["metadata"][k] = v.clone();
        }
    }
    if let Some(s) = current.get("status") {
        next["status"] = s.clone();
    }
    if res.kind == "Job" {
        let uid = current
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        apply_defaults("Job", &mut next, &uid, "");
        let mut causes = Vec::new();
        if next.pointer("/spec/template") != current.pointer("/spec/template") {
            causes.push(Cause::immutable("spec.template"));
        }
        if next.pointer("/spec/selector") != current.pointer("/spec/selector") {
            causes.push(Cause::immutable("spec.selector"));
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(res, &name, causes));
        }
    } else {
        let ip = current
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("10.96.0.1")
            .to_owned();
        apply_defaults(res.kind, &mut next, "", &ip);
    }
    if res.kind == "Secret" {
        decode_secret_data(&next)?;
    }
    let mut causes = crate::immutable::update_causes(res.kind, current, &next);
    causes.extend(validate(res.kind, &next));
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, &name, causes));
    }
    if has_spec(res.kind) && next.get("spec") != current.get("spec") {
        let g = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        next["metadata"]["generation"] = json!(g + 1);
    }
    Ok(next)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's parts, passed through once"
)]
pub(super) fn update(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    body: &[u8],
    status_only: bool,
    q: &HashMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let mut next = parse_body(body)?;
    check_type(res, &mut next)?;
    let next = checked(res, next, q, warnings)?;
    if next.pointer("/metadata/name").and_then(Value::as_str) != Some(name) {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    let key = Key::new(res, ns, name);
    let current = stored(sim, res, &key)?;
    let expect = rv_of(&next).or(rv_of(&current));
    write(sim, res, &key, &current, next, expect, q, status_only)
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's parts, passed through once"
)]
pub(super) fn patch(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    body: &[u8],
    content_type: &str,
    q: &HashMap<String, String>,
    status_only: bool,
    warnings: &mut Vec<String>,
) -> ApiResult {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let key = Key::new(res, ns, name);
    // (the object read, the patched one, the version the patch asks to apply to)
    let (current, next, expect) = match ct {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            if q.get("fieldManager").is_none_or(String::is_empty) {
                return Err(ApiError::bad_request(
                    "PATCH requests with apply patch type require a fieldManager (use ?fieldManager=NAME)",
                ));
            }
            let mut applied = serde_json::from_slice::<Value>(body).map_err(|_| {
                ApiError::bad_request(
                    "kubesim accepts apply patches written as JSON (YAML documents are not parsed)",
                )
            })?;
            check_type(res, &mut applied)?;
            let Some(current) = sim.store.get(&key) else {
                let applied = checked(res, applied, q, warnings)?;
                return create_object(sim, res, ns, applied)
                    .map(|v| json_response(StatusCode::CREATED, &v));
            };
            let mut next = (*current).clone();
            merge_patch(&mut next, &applied);
            (current, next, None)
        }
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let p = parse_body(body)?;
            let current = stored(sim, res, &key)?;
            let mut next = (*current).clone();
            if ct == "application/merge-patch+json" {
                merge_patch(&mut next, &p);
            } else {
                crate::smp::apply(res.kind, &mut next, &p);
            }
            (current, next, rv_of(&p))
        }
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("the body of the request is not a JSON patch: {e}"))
            })?;
            let current = stored(sim, res, &key)?;
            let mut next = (*current).clone();
            json_patch::patch(&mut next, &ops).map_err(|e| {
                ApiError::unprocessable(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            let expect = rv_of(&next);
            (current, next, expect)
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let next = checked(res, next, q, warnings)?;
    let expect = expect.or(rv_of(&current));
    let v = write(sim, res, &key, &current, next, expect, q, status_only)?;
    ok(&v)
}

/// Writes `next` over `current`: server-owned fields kept, validated, then committed.
#[allow(
    clippy::too_many_arguments,
    reason = "one write's parts, passed through once"
)]
pub(super) fn write(
    sim: &Shared,
    res: &Resource,
    key: &Key,
    current: &Value,
    next: Value,
    expect: Option<u64>,
    q: &HashMap<String, String>,
    status_only: bool,
) -> Result<Value, ApiError> {
    let merged = merge_update(res, current, next, status_only)?;
    commit(sim, res, key, current, merged, expect, dry_run(q))
}
