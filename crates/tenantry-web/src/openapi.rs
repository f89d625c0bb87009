//! The OpenAPI document of `/api/v1`, generated: the paths from the handlers' own
//! declarations (the same ones that route them), the schemas from the types they take
//! and return. What is said once for every operation is added here: how to
//! authenticate, the error answers, and the forms names and ids take.

use serde_json::{Value, json};
use tenantry_core::{ClientId, NamespaceName};
use utoipa::openapi::OpenApi;
use utoipa::{PartialSchema, ToSchema};

use crate::api_types::ApiError;

/// The document as served, from what the API's router collected.
pub fn document(api: OpenApi) -> Value {
    let mut doc = serde_json::to_value(&api).unwrap_or_default();
    doc["info"] = json!({
        "title": "tenantry API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Clients, their environments and the catalogs behind them. Authenticate with `Authorization: Bearer <API token>` (made by an admin under API tokens; a token acts with the lower of its role and its owner's, and expires). A browser may call it with its session cookie instead, and then every state-changing request must carry the session's CSRF token in `X-CSRF-Token` (the pages' `_csrf` value) and no foreign `Origin`. Errors are JSON: `{\"error\": message, \"field\": name}`."
    });
    doc["servers"] = json!([{ "url": "/api/v1" }]);
    doc["security"] = json!([{ "bearer": [] }, { "session": [], "csrf": [] }]);
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "an API token, `tnt_…`" },
        "session": { "type": "apiKey", "in": "cookie", "name": "tenantry_session", "description": "a browser session (`__Host-tenantry_session` when the server runs with --secure-cookies)" },
        "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": "the session's CSRF token; required with the session cookie on every request but GET/HEAD/OPTIONS" }
    });
    doc["components"]["responses"] = json!({
        "Error": { "description": "what is wrong", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ApiError" } } } }
    });
    let mut schemas = vec![(ApiError::name().into_owned(), ApiError::schema())];
    <ApiError as ToSchema>::schemas(&mut schemas);
    for (name, schema) in schemas {
        doc["components"]["schemas"][name] = serde_json::to_value(schema).unwrap_or_default();
    }
    // What the derive cannot say: an adoption's organisations are named by client id, and
    // an env var's namespace may be empty (the global ones).
    let bodies = &mut doc["components"]["schemas"];
    bodies["AdoptInput"]["properties"]["organisations"]["propertyNames"] =
        json!({ "pattern": pattern_of::<ClientId>() });
    bodies["AdoptInput"]["properties"]["organisations"]["additionalProperties"] =
        json!({ "type": "string", "format": "nonblank-text" });
    bodies["EnvInput"]["properties"]["namespace"]["pattern"] =
        json!(or_empty(&pattern_of::<NamespaceName>()));
    add_error_responses(&mut doc);
    constrain_parameters(&mut doc);
    name_lists(&mut doc);
    doc
}

/// A list of runs is `RunList` in the document, not the derive's `Items_Run`, and its
/// items refer to `Run` instead of repeating it.
fn name_lists(doc: &mut Value) {
    const GENERIC: &str = "Items_";
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let generic: Vec<String> = schemas
        .keys()
        .filter(|k| k.starts_with(GENERIC))
        .cloned()
        .collect();
    let mut renamed = Vec::new();
    for old in generic {
        let item = &old[GENERIC.len()..];
        let new = format!("{item}List");
        if let Some(mut schema) = schemas.remove(&old) {
            let inlined = &mut schema["properties"]["items"]["items"];
            if schemas.get(item) == Some(inlined) {
                *inlined = json!({ "$ref": format!("#/components/schemas/{item}") });
            }
            schemas.insert(new.clone(), schema);
            renamed.push((
                format!("#/components/schemas/{old}"),
                format!("#/components/schemas/{new}"),
            ));
        }
    }
    rewrite_refs(doc, &renamed);
}

fn rewrite_refs(v: &mut Value, renamed: &[(String, String)]) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match v {
                    Value::String(s) if k == "$ref" => {
                        if let Some((_, new)) = renamed.iter().find(|(old, _)| old == s) {
                            *s = new.clone();
                        }
                    }
                    v => rewrite_refs(v, renamed),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| rewrite_refs(v, renamed)),
        _ => {}
    }
}

/// Every operation may answer with an error: malformed input (400), no or a lapsed
/// credential (401), a role too low (403), nothing there (404), a conflict such as a
/// run under way (409), well-formed input against a rule the body explains (422: across
/// fields, or against what the catalog holds), too many tries (429). And
/// every answer has a description, as the format requires.
fn add_error_responses(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for ops in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in ops.values_mut() {
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            // A response must describe itself; the handlers' say what they return.
            for (code, r) in responses.iter_mut() {
                if r.get("$ref").is_none() && r.get("description").is_none() {
                    r["description"] = json!(match code.as_str() {
                        "201" => "created",
                        "202" => "accepted: it goes on in the background",
                        "204" => "done",
                        _ => "ok",
                    });
                }
            }
            for code in ["400", "401", "403", "404", "409", "422", "429"] {
                responses
                    .entry(code)
                    .or_insert_with(|| json!({ "$ref": "#/components/responses/Error" }));
            }
        }
    }
}

/// The pattern the domain type `T` declares for its text form.
fn pattern_of<T: PartialSchema>() -> String {
    serde_json::to_value(T::schema()).unwrap_or_default()["pattern"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `pattern` (anchored), or the empty string.
fn or_empty(pattern: &str) -> String {
    format!(
        "^({})?$",
        pattern.trim_start_matches('^').trim_end_matches('$')
    )
}

/// The forms the domain accepts for names and ids (the patterns its types declare), on
/// every parameter that carries one, so a value the document allows is one the server
/// takes.
fn constrain_parameters(doc: &mut Value) {
    use tenantry_core::template::TemplateName;
    use tenantry_core::{EnvVarName, ParamName};
    let namespace = pattern_of::<NamespaceName>();
    // Empty, or a namespace: the global env vars, every namespace of the fleet.
    let optional_namespace = or_empty(&namespace);
    let client = pattern_of::<ClientId>();
    let template = pattern_of::<TemplateName>();
    let param = pattern_of::<ParamName>();
    let env_name = pattern_of::<EnvVarName>();
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in params {
                let name = p["name"].as_str().unwrap_or("");
                let pattern = match (name, p["in"].as_str().unwrap_or("")) {
                    // Env vars: no namespace, or an empty one, means the global ones.
                    // The fleet: empty is every namespace, as the page's "all".
                    ("namespace", "query") if path.starts_with("/env") || path == "/fleet" => {
                        Some(&optional_namespace)
                    }
                    ("namespace", "query") => Some(&namespace),
                    ("client", "query") => Some(&client),
                    ("id", "path") if path.starts_with("/clients/") => Some(&client),
                    ("name", "path") if path.starts_with("/namespaces/") => Some(&namespace),
                    ("name", "path") if path.starts_with("/templates/") => Some(&template),
                    ("param", "path") => Some(&param),
                    ("ns", "path") => Some(&namespace),
                    ("name", "path") if path.starts_with("/env/") => Some(&env_name),
                    ("name", "path") if path.contains("/overrides/") => Some(&env_name),
                    _ => None,
                };
                if let Some(pattern) = pattern {
                    p["schema"]["pattern"] = json!(pattern);
                }
            }
        }
    }
}
