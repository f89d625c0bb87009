//! The OpenAPI 3.0 document of `/api/v1`, written by hand beside the handlers it
//! describes; schemathesis checks the server against it.

use serde_json::{Value, json};

use crate::openapi_day2::{fleet_paths, override_paths, rollout_paths, webhook_paths};
use crate::openapi_parts::{list_of, op, path_param, query_param, r};

pub fn document() -> Value {
    let mut doc = base();
    for more in [rollout_paths(), webhook_paths()] {
        if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), more) {
            paths.extend(more);
        }
    }
    let (fleet, schemas) = fleet_paths();
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), fleet) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), override_paths()) {
        paths.extend(more);
    }
    if let (Some(all), Value::Object(more)) =
        (doc["components"]["schemas"].as_object_mut(), schemas)
    {
        all.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), admin_paths()) {
        for (path, ops) in more {
            match paths.get_mut(&path).and_then(Value::as_object_mut) {
                Some(existing) => existing.extend(ops.as_object().cloned().unwrap_or_default()),
                None => {
                    paths.insert(path, ops);
                }
            }
        }
    }
    constrain_parameters(&mut doc);
    doc["components"]["schemas"]["Client"]["properties"]["organisation"] =
        json!({ "type": "string", "description": "the organisation's name, as `name`" });
    doc["components"]["schemas"]["Client"]["properties"]["environments"]["description"] =
        json!("the status of each environment it has had");
    doc
}

/// The forms the domain accepts for names and ids, on every parameter that carries one,
/// so a value the document allows is one the server takes.
fn constrain_parameters(doc: &mut Value) {
    const NAMESPACE: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
    const OPTIONAL_NAMESPACE: &str = "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$";
    const CLIENT: &str = "^C[1-9][0-9]{0,8}$";
    const MACRO_NAME: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
    const ENV_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let Some(params) = op["parameters"].as_array_mut() else {
                continue;
            };
            for p in params {
                let name = p["name"].as_str().unwrap_or("");
                let pattern = match (name, p["in"].as_str().unwrap_or("")) {
                    // Env vars: no namespace, or an empty one, means the global ones.
                    // The fleet: empty is every namespace, as the page's "all".
                    ("namespace", "query") if path.starts_with("/env") || path == "/fleet" => {
                        Some(OPTIONAL_NAMESPACE)
                    }
                    ("namespace", "query") => Some(NAMESPACE),
                    ("client", "query") => Some(CLIENT),
                    ("id", "path") if path.starts_with("/clients/") => Some(CLIENT),
                    ("name", "path") if path.starts_with("/namespaces/") => Some(NAMESPACE),
                    ("name", "path") if path.starts_with("/templates/") => Some(MACRO_NAME),
                    ("param", "path") => Some(MACRO_NAME),
                    ("ns", "path") => Some(NAMESPACE),
                    ("name", "path") if path.starts_with("/env/") => Some(ENV_NAME),
                    ("name", "path") if path.contains("/overrides/") => Some(ENV_NAME),
                    _ => None,
                };
                if let Some(pattern) = pattern {
                    p["schema"]["pattern"] = json!(pattern);
                }
            }
        }
    }
}

/// What admins do on the catalog pages, as API operations (`api_admin`).
fn admin_paths() -> Value {
    let ns = path_param("name", "namespace");
    let done = |summary: &str, params: Value, body: Option<Value>| {
        op(summary, "204", json!({}), params, body)
    };
    let ns_fields = json!({
        "k8s_namespace": { "type": "string" }, "api_root_url": { "type": "string" },
        "token": { "type": "string", "description": "the cluster's bearer token; required again when the API host changes" },
        "ca_bundle": { "type": "string", "description": "PEM; empty removes it" }
    });
    let mut new_ns = ns_fields.clone();
    new_ns["name"] = json!({ "type": "string" });
    let mut ns_fields = ns_fields;
    ns_fields["self_heal"] = json!({ "type": "boolean", "description": "correct drift automatically (a deploy, at most once per 5 minutes per environment, audited)" });
    json!({
        "/namespaces": {
            "post": op("Create a namespace (admin)", "201", r("Namespace"), json!([]), Some(json!({
                "type": "object", "required": ["name", "api_root_url", "token"], "additionalProperties": false, "properties": new_ns
            })))
        },
        "/namespaces/{name}": {
            "patch": op("Change a namespace's settings (admin); absent fields stay", "200", r("Namespace"), json!([ns.clone()]), Some(json!({
                "type": "object", "additionalProperties": false, "properties": ns_fields
            })))
        },
        "/namespaces/{name}/params/{param}": {
            "put": op("Set a parameter in a namespace (admin). A name no parameter has answers 422 with `suggestion` unless `create` is true; an empty secret keeps the stored one", "200", r("Param"),
                json!([ns.clone(), path_param("param", "parameter name")]), Some(json!({
                    "type": "object", "required": ["value"], "additionalProperties": false, "properties": {
                        "value": { "type": "string" }, "secret": { "type": "boolean" }, "create": { "type": "boolean" }
                    }
                }))),
            "delete": done("Unset a parameter in a namespace (admin)", json!([ns.clone(), path_param("param", "parameter name")]), None)
        },
        "/env/{name}": {
            "put": op("Set an env var, global or in a namespace (admin)", "200", json!({ "type": "object" }), json!([path_param("name", "env var name")]), Some(json!({
                "type": "object", "required": ["value"], "additionalProperties": false, "properties": {
                    "value": { "type": "string" }, "namespace": { "type": "string", "nullable": true }
                }
            }))),
            "delete": done("Unset an env var (admin)", json!([path_param("name", "env var name"), query_param("namespace", "string", "the namespace; absent: global")]), None)
        },
        "/templates/{name}/restore": {
            "post": op("Make an earlier version current again, as a new version (admin)", "200", r("StoredTemplate"), json!([path_param("name", "template name")]), Some(json!({
                "type": "object", "required": ["version"], "additionalProperties": false, "properties": { "version": { "type": "integer" } }
            })))
        },
        "/users/{name}": {
            "patch": op("Change a user's role (admin)", "200", r("User"), json!([path_param("name", "user name")]), Some(json!({
                "type": "object", "required": ["role"], "additionalProperties": false, "properties": { "role": r("Role") }
            }))),
            "delete": done("Remove a user, their sessions and tokens (admin; not yourself)", json!([path_param("name", "user name")]), None)
        },
        "/tokens": {
            "get": op("API tokens (admin); never their secret", "200", list_of(json!({ "type": "object", "properties": {
                "id": { "type": "integer" }, "name": { "type": "string" }, "role": r("Role"), "owner": { "type": "string" },
                "created_at": { "type": "integer" }, "expires_at": { "type": "integer" }, "last_used_at": { "type": "integer", "nullable": true },
                "state": { "type": "string", "enum": ["live", "expired", "revoked"] }
            } })), json!([]), None)
        },
        "/tokens/{id}": {
            "delete": done("Revoke an API token (admin)", json!([path_param("id", "token id")]), None)
        }
    })
}

fn base() -> Value {
    let id = path_param("id", "client id, C<N>");
    let none = json!([]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "tenantry API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Clients, their environments and the catalogs behind them. Authenticate with `Authorization: Bearer <API token>` (made by an admin under API tokens; a token acts with the lower of its role and its owner's, and expires). A browser may call it with its session cookie instead, and then every state-changing request must carry the session's CSRF token in `X-CSRF-Token` (the pages' `_csrf` value) and no foreign `Origin`. Errors are JSON: `{\"error\": message, \"field\": name}`."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearer": [] }, { "session": [], "csrf": [] }],
        "paths": {
            "/me": { "get": op("The caller", "200", r("Me"), none.clone(), None) },
            "/me/password": {
                "post": op("Change the caller's own password (a browser session; an API token gets 409); every session of the user ends", "200", json!({
                    "type": "object", "required": ["changed"], "properties": { "changed": { "type": "boolean" }, "sessions_ended": { "type": "boolean" } }
                }), none.clone(), Some(json!({
                    "type": "object", "required": ["current", "new"], "additionalProperties": false,
                    "properties": { "current": { "type": "string" }, "new": { "type": "string", "minLength": 10, "maxLength": 128 } }
                })))
            },
            "/clients": {
                "get": op("Clients, a page at a time", "200", r("ClientPage"), json!([
                    query_param("q", "string", "search by id, organisation, contact, phone or e-mail"),
                    { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 1_000_000_000 } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 1000 } },
                    { "name": "archived", "in": "query", "schema": { "type": "string", "enum": ["true", "false"] } }
                ]), None),
                "post": op("Create a client (operator)", "201", r("Client"), none.clone(), Some(r("ClientInput")))
            },
            "/clients/{id}": {
                "get": op("One client", "200", r("Client"), json!([id]), None),
                "patch": op("Change a client's organisation, phones or e-mails (operator)", "200", r("Client"), json!([id]), Some(r("ClientPatch")))
            },
            "/clients/{id}/contacts": {
                "post": op("Add a contact person (operator)", "201", r("Contact"), json!([id]), Some(r("ContactInput")))
            },
            "/clients/{id}/contacts/{contact}": {
                "put": op("Replace a contact person (operator)", "200", r("Contact"), json!([id, path_param("contact", "contact id")]), Some(r("ContactInput"))),
                "delete": op("Remove a contact person (operator)", "204", json!({}), json!([id, path_param("contact", "contact id")]), None)
            },
            "/clients/{id}/deploy": {
                "post": op("Deploy the client to a namespace (operator); the run goes on in the background", "202", r("Run"), json!([id]), Some(json!({
                    "type": "object", "required": ["namespace"], "additionalProperties": false,
                    "properties": { "namespace": { "type": "string" } }
                })))
            },
            "/clients/{id}/suspend": {
                "post": op("Suspend the client's environment in a namespace: its Deployment to zero replicas (operator)", "202", r("Run"), json!([id]), Some(r("NamespaceInput")))
            },
            "/clients/{id}/resume": {
                "post": op("Resume a suspended environment: its replicas back, every pod ready (operator)", "202", r("Run"), json!([id]), Some(r("NamespaceInput")))
            },
            "/clients/{id}/rollback": {
                "post": op("Deploy an earlier revision again, as a new run and revision (operator)", "202", r("Run"), json!([id]), Some(json!({
                    "type": "object", "required": ["namespace"], "additionalProperties": false,
                    "properties": { "namespace": { "type": "string" }, "to": { "type": "integer", "minimum": 1, "description": "the revision; the one before the latest when absent" } }
                })))
            },
            "/clients/{id}/decommission": {
                "post": op("Delete the client's environment in a namespace (operator); confirm with the client id", "202", r("Run"), json!([id]), Some(json!({
                    "type": "object", "required": ["namespace", "confirm"], "additionalProperties": false,
                    "properties": {
                        "namespace": { "type": "string" }, "confirm": { "type": "string", "description": "the client id, typed again" },
                        "drop_databases": { "type": "boolean" }, "forget_secrets": { "type": "boolean" }
                    }
                })))
            },
            "/clients/{id}/archive": {
                "post": op("Archive a client (operator); 409 naming the namespaces while any of its environments exists", "200", r("Client"), json!([id]), None)
            },
            "/clients/{id}/restore": {
                "post": op("Restore an archived client (operator)", "200", r("Client"), json!([id]), None)
            },
            "/clients/{id}/history": {
                "get": op("The revisions of the client's environment in a namespace, oldest first", "200", list_of(r("Revision")), json!([id, { "name": "namespace", "in": "query", "required": true, "schema": { "type": "string" } }]), None)
            },
            "/runs": {
                "get": op("Runs, newest first", "200", list_of(r("Run")), json!([
                    query_param("client", "string", "only this client's"),
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 1000 } }
                ]), None)
            },
            "/runs/{id}": { "get": op("One run with its steps", "200", r("Run"), json!([path_param("id", "run id")]), None) },
            "/runs/{id}/events": { "get": {
                "summary": "Server-sent events of a run: `run` (the whole run as JSON) whenever it changes; the stream ends with the run, or with an `error` event when the caller's session or token ends",
                "parameters": [path_param("id", "run id")],
                "responses": {
                    "200": { "description": "an event stream", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
                    "401": { "$ref": "#/components/responses/Error" },
                    "404": { "$ref": "#/components/responses/Error" }
                }
            } },
            "/runs/{id}/requests": { "get": op("The requests a run sent (bodies with secrets masked)", "200", list_of(r("Request")), json!([path_param("id", "run id")]), None) },
            "/namespaces": { "get": op("Namespaces (tokens masked)", "200", list_of(r("Namespace")), none.clone(), None) },
            "/namespaces/{name}": { "get": op("One namespace (token masked)", "200", r("Namespace"), json!([path_param("name", "namespace")]), None) },
            "/namespaces/{name}/params": { "get": op("A namespace's parameters (secrets masked)", "200", list_of(r("Param")), json!([path_param("name", "namespace")]), None) },
            "/env": { "get": op("Env vars, global or as a namespace sees them", "200", list_of(r("EnvVar")), json!([query_param("namespace", "string", "namespace")]), None) },
            "/templates": { "get": op("Request templates", "200", list_of(r("StoredTemplate")), none.clone(), None) },
            "/templates/{name}": {
                "get": op("One template", "200", r("StoredTemplate"), json!([path_param("name", "template name")]), None),
                "put": op("Save a new version of a template (admin). Refused with 422 and `problems` (unknown macros with the closest known name, an order that no longer resolves, a body that is no object, secrets in names) unless `force=true`", "200", r("StoredTemplate"), json!([
                    path_param("name", "template name"),
                    { "name": "force", "in": "query", "description": "save despite problems (never despite secrets in names)", "schema": { "type": "string", "enum": ["true", "false"] } },
                    { "name": "note", "in": "query", "description": "a comment kept in the template's history", "schema": { "type": "string", "maxLength": 500 } }
                ]), Some(json!({ "type": "object" })))
            },
            "/audit": { "get": op("The audit log, newest first (admin)", "200", list_of(r("AuditEntry")), json!([
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 1000 } },
                { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 1_000_000_000 } }
            ]), None) },
            "/users": {
                "get": op("Users (admin)", "200", list_of(r("User")), none.clone(), None),
                "post": op("Create a user (admin)", "201", r("User"), none.clone(), Some(json!({
                    "type": "object", "required": ["name", "role", "password"], "additionalProperties": false,
                    "properties": { "name": { "type": "string" }, "role": r("Role"), "password": { "type": "string", "minLength": 10, "maxLength": 128 } }
                })))
            },
            "/tokens": {
                "post": op("Create an API token (admin) owned by the caller's user, with at most the owner's role; the token is shown once", "201", json!({
                    "type": "object", "required": ["name", "role", "owner", "expires_at", "token"],
                    "properties": { "name": { "type": "string" }, "role": r("Role"), "owner": { "type": "string" }, "expires_at": { "type": "integer", "description": "Unix seconds" }, "token": { "type": "string" } }
                }), none, Some(json!({
                    "type": "object", "required": ["name", "role"], "additionalProperties": false,
                    "properties": { "name": { "type": "string" }, "role": r("Role"), "expires_days": { "type": "integer", "minimum": 1, "maximum": 366, "default": 90 } }
                })))
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "an API token, `tnt_…`" },
                "session": { "type": "apiKey", "in": "cookie", "name": "tenantry_session", "description": "a browser session (`__Host-tenantry_session` when the server runs with --secure-cookies)" },
                "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": "the session's CSRF token; required with the session cookie on every request but GET/HEAD/OPTIONS" }
            },
            "responses": {
                "Error": { "description": "what is wrong", "content": { "application/json": { "schema": r("Error") } } }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": {
                    "error": { "type": "string" },
                    "suggestion": { "type": "string", "nullable": true, "description": "a known name close to the one given (422)" },
                    "field": { "type": "string" },
                    "run": { "type": "integer", "description": "the run that is under way (409)" },
                    "problems": { "type": "array", "description": "why a template was not saved (422)", "items": { "type": "object", "required": ["template", "kind", "message"], "properties": {
                        "template": { "type": "string" },
                        "kind": { "type": "string", "enum": ["unknown-macro", "order", "secret-in-name", "not-an-object"] },
                        "message": { "type": "string" },
                        "macro": { "type": "string" },
                        "at": { "type": "string" },
                        "suggestion": { "type": "string", "nullable": true }
                    } } }
                } },
                "Role": { "type": "string", "enum": ["viewer", "operator", "admin"] },
                "Me": { "type": "object", "required": ["name", "role"], "properties": { "name": { "type": "string" }, "role": r("Role") } },
                "Contact": { "type": "object", "required": ["id", "name", "phones", "emails"], "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" },
                    "role": { "type": "string", "nullable": true }, "note": { "type": "string", "nullable": true },
                    "phones": { "type": "array", "items": { "type": "string" } },
                    "emails": { "type": "array", "items": { "type": "string" } }
                } },
                "Client": { "type": "object", "required": ["id", "name", "phones", "emails", "contacts", "archived"], "properties": {
                    "id": { "type": "string", "pattern": "^C[0-9]+$" }, "name": { "type": "string" },
                    "phones": { "type": "array", "items": { "type": "string" } },
                    "emails": { "type": "array", "items": { "type": "string" } },
                    "contacts": { "type": "array", "items": r("Contact") },
                    "archived": { "type": "boolean" },
                    "created_at": { "type": "string" }, "updated_at": { "type": "string" },
                    "archived_at": { "type": "string", "nullable": true },
                    "environments": { "type": "array", "description": "one client's GET only: the status of each environment it has had", "items": {
                        "type": "object", "required": ["namespace", "status"], "properties": {
                            "namespace": { "type": "string" },
                            "status": { "type": "string", "enum": ["not-deployed", "deploying", "healthy", "failed", "suspended", "decommissioning", "decommissioned"] },
                            "run": { "type": "integer", "nullable": true }
                        }
                    } }
                } },
                "ClientPage": { "type": "object", "required": ["total", "offset", "items"], "properties": {
                    "total": { "type": "integer" }, "offset": { "type": "integer" }, "items": { "type": "array", "items": r("Client") }
                } },
                "ContactInput": { "type": "object", "required": ["name"], "additionalProperties": false, "properties": {
                    "name": { "type": "string", "minLength": 1 }, "role": { "type": "string", "nullable": true }, "note": { "type": "string", "nullable": true },
                    "phones": { "type": "array", "items": { "type": "string" } },
                    "emails": { "type": "array", "items": { "type": "string" } }
                } },
                "ClientInput": { "type": "object", "required": ["organisation"], "additionalProperties": false, "properties": {
                    "organisation": { "type": "string", "minLength": 1, "maxLength": 300 },
                    "phones": { "type": "array", "items": { "type": "string" } },
                    "emails": { "type": "array", "items": { "type": "string" } },
                    "contacts": { "type": "array", "items": r("ContactInput") }
                } },
                "ClientPatch": { "type": "object", "additionalProperties": false, "properties": {
                    "organisation": { "type": "string", "nullable": true },
                    "phones": { "type": "array", "nullable": true, "items": { "type": "string" } },
                    "emails": { "type": "array", "nullable": true, "items": { "type": "string" } }
                } },
                "Step": { "type": "object", "properties": {
                    "template": { "type": "string" },
                    "status": { "type": "string", "enum": ["pending", "running", "done", "failed", "skipped"] },
                    "detail": { "type": "string" }, "elapsed_ms": { "type": "integer" }
                } },
                "NamespaceInput": { "type": "object", "required": ["namespace"], "additionalProperties": false,
                    "properties": { "namespace": { "type": "string" } } },
                "Revision": { "type": "object", "required": ["number", "run", "created_at", "image", "changes"], "properties": {
                    "number": { "type": "integer" }, "run": { "type": "integer" }, "created_at": { "type": "string" },
                    "image": { "type": "string" }, "changes": { "type": "array", "items": { "type": "string" } }
                } },
                "Run": { "type": "object", "required": ["id", "kind", "client", "namespace", "status", "steps"], "properties": {
                    "id": { "type": "integer" },
                    "kind": { "type": "string", "enum": ["deploy", "decommission", "suspend", "resume", "rollback", "adopt"] },
                    "client": { "type": "string" }, "namespace": { "type": "string" },
                    "status": { "type": "string", "enum": ["running", "succeeded", "failed", "interrupted"] },
                    "reason": { "type": "string", "nullable": true },
                    "started_at": { "type": "string" }, "finished_at": { "type": "string", "nullable": true },
                    "steps": { "type": "array", "items": r("Step") }
                } },
                "Request": { "type": "object", "properties": {
                    "seq": { "type": "integer" }, "method": { "type": "string" }, "path": { "type": "string" },
                    "status": { "type": "integer" }, "duration_ms": { "type": "integer" }, "excerpt": { "type": "string" }, "at": { "type": "string" }
                } },
                "Namespace": { "type": "object", "required": ["name", "k8s_namespace", "api_root_url", "token"], "properties": {
                    "name": { "type": "string" }, "k8s_namespace": { "type": "string" }, "api_root_url": { "type": "string" },
                    "token": { "type": "string", "description": "always masked" }, "ca_bundle": { "type": "boolean" },
                    "self_heal": { "type": "boolean" },
                    "created_at": { "type": "string" }, "updated_at": { "type": "string" }
                } },
                "Param": { "type": "object", "properties": {
                    "name": { "type": "string" }, "kind": { "type": "string" }, "description": { "type": "string" },
                    "global": { "type": "string", "nullable": true }, "namespace": { "type": "string", "nullable": true }
                } },
                "EnvVar": { "type": "object", "properties": {
                    "name": { "type": "string" }, "value": { "type": "string" }, "source": { "type": "string", "enum": ["global", "namespace"] }
                } },
                "StoredTemplate": { "type": "object", "properties": {
                    "template": { "type": "object" }, "version": { "type": "integer" }, "updated_at": { "type": "string" }, "updated_by": { "type": "string" }
                } },
                "AuditEntry": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "at": { "type": "string" }, "actor": { "type": "string" }, "action": { "type": "string" },
                    "target": { "type": "string" }, "detail": { "type": "string" }, "address": { "type": "string" }
                } },
                "User": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" }, "role": r("Role"), "created_at": { "type": "integer" }
                } }
            }
        }
    })
}
