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

pub(super) fn has_spec(kind: &str) -> bool {
    !matches!(
        kind,
        "ConfigMap" | "Secret" | "Event" | "Namespace" | "ServiceAccount" | "Role" | "RoleBinding"
    )
}

pub(super) fn initial_status(kind: &str) -> Option<Value> {
    match kind {
        "Pod" => Some(json!({"phase": "Pending", "qosClass": "BestEffort"})),
        "Deployment" | "Job" | "CronJob" | "APIService" => Some(json!({})),
        // The fields these statuses require, as the API server answers a create.
        "ReplicaSet" | "ReplicationController" => Some(json!({"replicas": 0})),
        "StatefulSet" => Some(json!({"replicas": 0, "availableReplicas": 0})),
        "DaemonSet" => Some(json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
                                   "desiredNumberScheduled": 0, "numberReady": 0})),
        "Service" => Some(json!({"loadBalancer": {}})),
        "Ingress" => Some(json!({"loadBalancer": {}})),
        _ => None,
    }
}

pub(super) fn random_suffix() -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let u = uuid::Uuid::new_v4();
    u.as_bytes()
        .iter()
        .take(5)
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect()
}

/// Prepares and stores a new object: what `POST` does, also used by controllers.
pub fn create_object(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    mut obj: Value,
) -> Result<Value, ApiError> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta_ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if res.namespaced {
        if meta_ns.as_deref().is_some_and(|m| m != ns) {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        obj["metadata"]["namespace"] = json!(ns);
        if sim
            .store
            .get(&Key::new(resources::NAMESPACES, "", ns))
            .is_none()
        {
            return Err(ApiError::not_found(resources::NAMESPACES, ns));
        }
    }
    if obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
        {
            Some(g) if !g.is_empty() => {
                obj["metadata"]["name"] = json!(format!("{g}{}", random_suffix()))
            }
            _ => {
                return Err(ApiError::invalid(
                    res,
                    "",
                    vec![Cause::required(
                        "metadata.name",
                        "name or generateName is required",
                    )],
                ));
            }
        }
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let uid = uuid::Uuid::new_v4().to_string();
    apply_defaults(res.kind, &mut obj, &uid, &sim.next_cluster_ip());
    let causes = validate(res.kind, &obj);
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, &name, causes));
    }
    if res.kind == "Secret" {
        decode_secret_data(&obj)?;
    }
    let meta = &mut obj["metadata"];
    meta["uid"] = json!(uid);
    meta["creationTimestamp"] = json!(now());
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
    }
    if has_spec(res.kind) {
        meta["generation"] = json!(1);
    }
    if let Some(s) = initial_status(res.kind) {
        obj["status"] = s;
    }
    sim.store
        .create(Key::new(res, ns, &name), obj)
        .map(|v| (*v).clone())
        .map_err(|e| store_err(res, &name, e))
}

pub(super) fn decode_secret_data(obj: &Value) -> Result<(), ApiError> {
    use base64::Engine;
    for (k, v) in obj
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let s = v.as_str().unwrap_or("");
        base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| {
            ApiError::bad_request(format!("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[{k:?}]: {e}"))
        })?;
    }
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
    let obj = checked(res, obj, q, warnings)?;
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
