//! `update` and `patch` (merge, strategic, JSON, apply): one commit path with
//! preconditions, finalizers and dry runs.

// The verbs share the module's imports and helpers.
use super::*;

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
            // YAML apply patches were read into JSON by `json_body`.
            let mut applied = parse_body(body)?;
            check_type(res, &mut applied)?;
            let applied = checked(res, applied, q, warnings)?;
            let w = writer(res, q, status_only);
            let force = query_bool(q, "force");
            let current = sim.store.get(&key);
            let next = crate::ownership::apply(res.kind, current.as_deref(), &applied, &w, force)
                .map_err(|c| ApiError::apply_conflicts(res, name, &c))?;
            let Some(current) = current else {
                return create_object(sim, res, ns, next)
                    .map(|v| json_response(StatusCode::CREATED, &v));
            };
            // Both sides were decoded as the kind: their merge needs no second check.
            let merged = merge_update(res, &current, next, status_only)?;
            let v = commit(
                sim,
                res,
                &key,
                &current,
                merged,
                rv_of(&current),
                dry_run(q),
            )?;
            return ok(&v);
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
    let mut merged = merge_update(res, current, next, status_only)?;
    let w = writer(res, q, status_only);
    crate::ownership::record_update(res.kind, Some(current), &mut merged, &w);
    commit(sim, res, key, current, merged, expect, dry_run(q))
}
