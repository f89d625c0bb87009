//! `delete` and `deletecollection`: propagation, owner references, preconditions,
//! finalizers.

// The verbs share the module's imports and helpers.
use super::*;

/// `deletecollection`: deletes every object of the namespace the selectors match, each
/// as a single delete with the same options would, and answers the list of them.
pub(super) fn delete_collection(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    body: &[u8],
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let (ls, fs) = selectors(q)?;
    let (items, _) = sim.store.list(&res.qualified_plural(), Some(ns));
    let mut deleted = Vec::new();
    for o in items.iter().filter(|o| ls.matches(o) && fs.matches(o)) {
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        match delete(sim, res, ns, name, body, q) {
            Ok(v) => deleted.push(v),
            // Gone meanwhile, e.g. with its owner: nothing left to delete.
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rv = sim.store.list(&res.qualified_plural(), Some(ns)).1;
    Ok(json!({
        "kind": format!("{}List", res.kind),
        "apiVersion": res.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": deleted,
    }))
}

pub(super) fn delete(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    body: &[u8],
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let opts: Value = if body.is_empty() {
        json!({})
    } else {
        parse_body(body)?
    };
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| q.get("propagationPolicy").cloned())
        .or_else(|| {
            (opts.get("orphanDependents") == Some(&json!(true))).then(|| "Orphan".to_owned())
        });
    let orphan = match policy.as_deref() {
        Some("Orphan") => true,
        Some("Background" | "Foreground") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                res,
                name,
                vec![Cause::unsupported(
                    "propagationPolicy",
                    other,
                    &["Foreground", "Background", "Orphan"],
                )],
            ));
        }
        // batch/v1 Jobs orphan their pods unless told otherwise, as the real API does.
        None => res.kind == "Job",
    };
    let current = stored(sim, res, &Key::new(res, ns, name))?;
    for (field, what) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
        if let Some(want) = opts
            .pointer(&format!("/preconditions/{field}"))
            .and_then(Value::as_str)
        {
            let have = current
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if want != have {
                return Err(ApiError::precondition_failed(
                    res,
                    name,
                    &format!(
                        "Precondition failed: {what} in precondition: {want}, {what} in object meta: {have}"
                    ),
                ));
            }
        }
    }
    if dry_run(q) || opts.get("dryRun").is_some_and(|d| d == &json!(["All"])) {
        return Ok((*current).clone());
    }
    delete_object(sim, res, ns, name, orphan)
}
