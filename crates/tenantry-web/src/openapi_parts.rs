//! The pieces every operation of the OpenAPI document is made of.

use serde_json::{Value, json};

pub(crate) fn error_responses() -> Value {
    json!({
        "400": { "$ref": "#/components/responses/Error" },
        "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" },
        "404": { "$ref": "#/components/responses/Error" },
        "409": { "$ref": "#/components/responses/Error" },
        "422": { "$ref": "#/components/responses/Error" },
        "429": { "$ref": "#/components/responses/Error" }
    })
}

pub(crate) fn op(
    summary: &str,
    ok: &str,
    schema: Value,
    params: Value,
    body: Option<Value>,
) -> Value {
    let mut responses = error_responses();
    responses[ok] = if ok == "204" {
        json!({ "description": "done" })
    } else {
        json!({ "description": "ok", "content": { "application/json": { "schema": schema } } })
    };
    let mut o = json!({ "summary": summary, "parameters": params, "responses": responses });
    if let Some(b) = body {
        o["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": b } } });
    }
    o
}

pub(crate) fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(crate) fn list_of(item: Value) -> Value {
    json!({ "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": item } } })
}

pub(crate) fn path_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

pub(crate) fn query_param(name: &str, kind: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": kind } })
}
