//! `create`: type and kind checks, the schema, defaults, validation, server metadata.

// The verbs share the module's imports and helpers.
use super::*;

/// Checks the body's apiVersion and kind against the URL's; like the real server, a body
/// that leaves them out gets the URL's.
pub(super) fn check_type(res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request is not a JSON object",
        ));
    }
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !av.is_empty() && av != res.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            res.api_version()
        )));
    }
    if !kind.is_empty() && kind != res.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            res.kind
        )));
    }
    obj["apiVersion"] = json!(res.api_version());
    obj["kind"] = json!(res.kind);
    Ok(())
}

pub(super) fn create(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    body: &[u8],
    q: &HashMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let mut obj = parse_body(body)?;
    check_type(res, &mut obj)?;
    let mut obj = checked(res, obj, q, warnings)?;
    crate::ownership::record_update(res.kind, None, &mut obj, &writer(res, q, false));
    if q.get("dryRun").is_some_and(|d| d == "All") {
        let mut probe = obj.clone();
        let name = probe
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        apply_defaults(
            res.kind,
            &mut probe,
            "00000000-0000-0000-0000-000000000000",
            "10.96.0.1",
        );
        let causes = validate(res.kind, &probe);
        if !causes.is_empty() {
            return Err(ApiError::invalid(res, &name, causes));
        }
        // What a real create would refuse, a dry run refuses too.
        if res.namespaced && get(sim, resources::NAMESPACES, "", ns).is_err() {
            return Err(ApiError::not_found(resources::NAMESPACES, ns));
        }
        if !name.is_empty() && sim.store.get(&Key::new(res, ns, &name)).is_some() {
            return Err(ApiError::already_exists(res, &name));
        }
        return Ok(probe);
    }
    create_object(sim, res, ns, obj)
}

/// Decodes `obj` as its kind's type, as the API server does: a wrong type is a 400, an
/// unknown field is refused, warned about or ignored as `fieldValidation` says, and the
/// object goes on as the type writes it back, without such fields.
pub(super) fn checked(
    res: &Resource,
    obj: Value,
    q: &HashMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    use crate::schema::{FieldValidation, decode};
    let mode =
        FieldValidation::parse(q.get("fieldValidation").map(String::as_str)).ok_or_else(|| {
            ApiError::bad_request(format!(
                "fieldValidation parameter {:?} is not supported: use Strict, Warn or Ignore",
                q.get("fieldValidation").map_or("", String::as_str)
            ))
        })?;
    let cannot = || {
        format!(
            "{} in version {:?} cannot be handled as a {}",
            res.kind, res.version, res.kind
        )
    };
    let Some(decoded) = decode(res.kind, &obj) else {
        return Ok(obj);
    };
    let decoded = decoded.map_err(|e| {
        ApiError::bad_request(format!(
            "{}: json: cannot decode {}: {}",
            cannot(),
            if e.path.is_empty() { "." } else { &e.path },
            e.message
        ))
    })?;
    let unknown: Vec<String> = decoded
        .unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => Err(ApiError::bad_request(format!(
            "{}: strict decoding error: {}",
            cannot(),
            unknown.join(", ")
        ))),
        FieldValidation::Warn => {
            warnings.extend(unknown);
            Ok(decoded.object)
        }
        _ => Ok(decoded.object),
    }
}
