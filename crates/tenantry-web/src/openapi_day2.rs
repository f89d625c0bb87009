//! The operations after day one in the OpenAPI document: the fleet and adoption, a
//! client's own settings, rollouts.

use serde_json::{Value, json};

use crate::openapi_parts::{list_of, op, path_param, query_param, r};

/// The fleet: live health and drift, and their schemas.
pub(crate) fn fleet_paths() -> (Value, Value) {
    let health = json!({ "type": "string", "enum": ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"] });
    let row = json!({ "type": "object", "required": ["client", "namespace", "health", "reason", "decided_by", "drifted", "out_of_sync"], "properties": {
        "client": { "type": "string", "pattern": "^C[1-9][0-9]*$" },
        "namespace": { "type": "string" },
        "health": health,
        "reason": { "type": "string", "description": "why, naming the object that decides; empty when healthy" },
        "decided_by": { "type": "string" },
        "drifted": { "type": "boolean", "description": "an object differs from the last revision, is missing, or was added with the client's label" },
        "out_of_sync": { "type": "integer", "minimum": 0 },
        "revision": { "type": "integer", "nullable": true },
        "image": { "type": "string", "nullable": true },
        "last_run": { "type": "object", "nullable": true, "properties": {
            "id": { "type": "integer" }, "kind": { "type": "string" }, "status": { "type": "string" },
            "started_at": { "type": "string" }, "finished_at": { "type": "string", "nullable": true } } }
    } });
    let mut env_row = row.clone();
    env_row["properties"]["organisation"] = json!({ "type": "string" });
    let mut environment = env_row.clone();
    environment["properties"]["source"] = json!({ "type": "string", "enum": ["cache", "cluster"] });
    environment["properties"]["objects"] = json!({ "type": "array", "items": { "type": "object", "required": ["kind", "name", "health", "sync", "diff"], "properties": {
        "kind": { "type": "string" }, "name": { "type": "string" }, "health": health, "reason": { "type": "string" },
        "sync": { "type": "string", "enum": ["insync", "drifted", "missing", "extra"] },
        "diff": { "type": "array", "items": { "type": "object", "required": ["path", "desired"], "properties": {
            "path": { "type": "string", "description": "as kubectl writes it: spec.template.spec.containers[0].image" },
            "desired": { "description": "as rendered (null: should not be there); secrets masked" },
            "live": { "description": "as in the cluster (null: absent); secrets masked", "nullable": true } } } }
    } } });
    environment["properties"]["pods"] = json!({ "type": "array", "items": { "type": "object" } });
    let fleet = json!({ "type": "object", "required": ["counts", "matched", "page", "per_page", "rows", "namespaces"], "properties": {
        "counts": { "type": "object", "properties": { "total": { "type": "integer" }, "by_health": { "type": "object", "additionalProperties": { "type": "integer" } }, "drifted": { "type": "integer" } } },
        "matched": { "type": "integer" }, "page": { "type": "integer" }, "per_page": { "type": "integer" },
        "rows": { "type": "array", "items": env_row },
        "namespaces": { "type": "array", "items": { "type": "object", "properties": {
            "namespace": { "type": "string" }, "synced": { "type": "boolean" }, "objects": { "type": "integer" }, "pods": { "type": "integer" }, "bytes": { "type": "integer" }, "error": { "type": "string", "nullable": true } } } }
    } });
    let paths = json!({
        "/fleet": { "get": op("Every client environment's live health and drift (from the server's watches), with counts; filtered and paged as the fleet page", "200", r("Fleet"), json!([
            { "name": "health", "in": "query", "schema": { "type": "string", "enum": ["healthy", "progressing", "degraded", "suspended", "missing", "unknown"] } },
            { "name": "drifted", "in": "query", "schema": { "type": "string", "enum": ["true", "false"] } },
            query_param("namespace", "string", "only this namespace target"),
            query_param("q", "string", "a client's id, organisation, contact, phone or e-mail"),
            { "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100000 } }
        ]), None) },
        "/clients/{id}/environments/{ns}": { "get": op("One environment: its objects with health and field-level drift against the last revision (secrets masked), its pods", "200", r("Environment"), json!([
            { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^C[1-9][0-9]*$" } },
            path_param("ns", "namespace")
        ]), None) },
        "/namespaces/{name}/adopt": { "post": op("Adopt the environments built by hand in a namespace (operator): found by the templates' names, their generated values read into the catalog, their objects labelled as tenantry's and recorded as revision 0; a dry run changes nothing", "200", r("AdoptReport"), json!([path_param("name", "namespace")]), Some(json!({
            "type": "object", "additionalProperties": false, "properties": {
                "dry_run": { "type": "boolean", "description": "report only: nothing stored, no write sent" },
                "partial": { "type": "boolean", "description": "adopt environments that lack objects too; a deploy then creates them" },
                "organisations": { "type": "object", "description": "organisation names of clients the catalog does not have yet, by client id", "additionalProperties": { "type": "string", "minLength": 1, "maxLength": 300 } }
            }
        }))) }
    });
    let key = json!({ "type": "object", "required": ["kind", "name"], "properties": { "kind": { "type": "string" }, "name": { "type": "string" } } });
    let adoption = json!({ "type": "object", "required": ["client", "written", "organisation", "status", "objects", "missing", "values", "not_found", "conflicts", "changes", "restarts_pods"], "properties": {
        "client": { "type": "string", "pattern": "^C[1-9][0-9]*$" },
        "written": { "type": "string", "description": "the client id as the cluster writes it" },
        "organisation": { "type": "string" },
        "status": { "type": "string", "enum": ["adopted", "would-adopt", "already-managed", "incomplete", "skipped", "failed"] },
        "reason": { "type": "string" },
        "objects": { "type": "array", "items": key },
        "missing": { "type": "array", "items": key },
        "values": { "type": "array", "description": "generated values read from the objects: where, never what", "items": { "type": "object", "required": ["name", "from"], "properties": { "name": { "type": "string" }, "from": { "type": "string" } } } },
        "not_found": { "type": "array", "items": { "type": "string" } },
        "conflicts": { "type": "array", "items": { "type": "string" } },
        "changes": { "type": "array", "description": "what a first deploy after adoption would change (secrets masked)", "items": { "type": "object", "required": ["kind", "name", "change", "fields"], "properties": {
            "kind": { "type": "string" }, "name": { "type": "string" }, "change": { "type": "string", "enum": ["create", "update"] },
            "fields": { "type": "array", "items": { "type": "object", "required": ["path", "desired"], "properties": {
                "path": { "type": "string" }, "desired": {}, "live": { "nullable": true } } } } } } },
        "restarts_pods": { "type": "boolean" },
        "run": { "type": "integer" },
        "revision": { "type": "integer" }
    } });
    let report = json!({ "type": "object", "required": ["namespace", "dry_run", "environments", "unmatched"], "properties": {
        "namespace": { "type": "string" }, "dry_run": { "type": "boolean" },
        "environments": { "type": "array", "items": adoption },
        "unmatched": { "type": "array", "items": key }
    } });
    (
        paths,
        json!({ "Fleet": fleet, "Environment": environment, "AdoptReport": report }),
    )
}

/// A client's own overrides in a namespace.
pub(crate) fn override_paths() -> Value {
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    let ns = path_param("ns", "namespace");
    let view = json!({ "type": "object", "required": ["client", "namespace", "params", "env"], "properties": {
        "client": { "type": "string" }, "namespace": { "type": "string" },
        "params": { "type": "array", "items": { "type": "object", "required": ["name", "kind", "value", "source"], "properties": {
            "name": { "type": "string" }, "kind": { "type": "string" },
            "value": { "type": "string", "nullable": true, "description": "the value the client's rendering sees; secrets masked" },
            "source": { "type": "string", "nullable": true, "description": "client, namespace or global; null: no value" } } } },
        "env": { "type": "array", "items": { "type": "object", "required": ["name", "value", "source"], "properties": {
            "name": { "type": "string" }, "value": { "type": "string" },
            "source": { "type": "string", "enum": ["client", "namespace", "global"] } } } }
    } });
    let param = path_param("param", "parameter name");
    let var = path_param("name", "env var name");
    json!({
        "/clients/{id}/overrides/{ns}": {
            "get": op("Every parameter and env var the client's rendering in a namespace sees, and where each comes from: the client's own override, the namespace, or global", "200", view.clone(), json!([id, ns]), None)
        },
        "/clients/{id}/overrides/{ns}/params/{param}": {
            "put": op("Pin a parameter for this client in the namespace (admin): it wins over the namespace's and the global value", "200", view.clone(), json!([id, ns, param]), Some(json!({
                "type": "object", "required": ["value"], "additionalProperties": false, "properties": {
                    "value": { "type": "string" }, "secret": { "type": "boolean" } } }))),
            "delete": op("Drop the client's own value of a parameter (admin)", "204", json!({}), json!([id, ns, param]), None)
        },
        "/clients/{id}/overrides/{ns}/env/{name}": {
            "put": op("Pin an env var for this client in the namespace (admin)", "200", view, json!([id, ns, var]), Some(json!({
                "type": "object", "required": ["value"], "additionalProperties": false, "properties": { "value": { "type": "string" } } }))),
            "delete": op("Drop the client's own value of an env var (admin)", "204", json!({}), json!([id, ns, var]), None)
        }
    })
}

/// Fleet rollouts.
pub(crate) fn rollout_paths() -> Value {
    let id = path_param("id", "rollout id");
    let client = json!({ "type": "object", "required": ["client", "canary", "status"], "properties": {
        "client": { "type": "string" }, "canary": { "type": "boolean" },
        "status": { "type": "string", "enum": ["pending", "up-to-date", "running", "succeeded", "failed"] },
        "at": { "type": "integer" },
        "run": { "type": "integer", "nullable": true },
        "revision_before": { "type": "integer", "nullable": true },
        "reason": { "type": "string", "nullable": true },
        "driver": { "type": "string", "nullable": true, "description": "the process that started (or took over) its deploy" } } });
    let rollout = json!({ "type": "object", "required": ["id", "namespace", "plan", "status", "clients"], "properties": {
        "id": { "type": "integer" }, "namespace": { "type": "string" },
        "plan": { "type": "object", "properties": {
            "canary": { "type": "array", "items": { "type": "string" } }, "rest": { "type": "array", "items": { "type": "string" } },
            "batch": { "type": "integer" }, "max_failures": { "type": "integer" }, "soak_secs": { "type": "integer" } } },
        "status": { "type": "string", "enum": ["running", "paused", "halted", "succeeded", "aborted"] },
        "reason": { "type": "string", "nullable": true },
        "created_by": { "type": "string" }, "created_at": { "type": "string" }, "updated_at": { "type": "string" },
        "owner": { "type": "string", "nullable": true, "description": "the driver that stepped it last, while it runs" },
        "clients": { "type": "array", "items": client } } });
    let preview = json!({ "type": "object", "required": ["namespace", "plan", "clients"], "properties": {
        "namespace": { "type": "string" }, "plan": { "type": "object" },
        "clients": { "type": "array", "items": { "type": "object", "required": ["client", "up_to_date", "changes"], "properties": {
            "client": { "type": "string" }, "up_to_date": { "type": "boolean" },
            "changes": { "type": "array", "items": { "type": "object" } },
            "revision": { "type": "integer", "nullable": true } } } } } });
    let input = json!({ "type": "object", "required": ["namespace"], "additionalProperties": false, "properties": {
        "namespace": { "type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" },
        "all": { "type": "boolean", "description": "every client deployed in the namespace" },
        "clients": { "type": "array", "items": { "type": "string", "pattern": "^C[1-9][0-9]{0,8}$" } },
        "health": { "type": "string", "enum": ["healthy", "suspended", "progressing", "missing", "degraded", "unknown"] },
        "canary": { "type": "integer", "minimum": 0, "maximum": 1000, "description": "the first N changing clients go first" },
        "canary_clients": { "type": "array", "items": { "type": "string", "pattern": "^C[1-9][0-9]{0,8}$" } },
        "batch": { "type": "integer", "minimum": 1, "maximum": 100 },
        "max_failures": { "type": "integer", "minimum": 0, "maximum": 10000 },
        "soak_secs": { "type": "integer", "minimum": 0, "maximum": 86400 },
        "dry_run": { "type": "boolean", "description": "only say which clients would change and how" } } });
    let control = |summary: &str| op(summary, "200", rollout.clone(), json!([id.clone()]), None);
    json!({
        "/rollouts": {
            "get": op("Every rollout, newest first", "200", list_of(rollout.clone()), json!([]), None),
            "post": op("Plan a rollout (operator): which clients change and how; unless a dry run, start it (201 with its id): canaries first, then at most `batch` at once, halted when more than `max_failures` fail. Choose the clients with one of all, clients or health", "201", json!({ "type": "object", "required": ["preview"], "properties": { "id": { "type": "integer" }, "preview": preview } }), json!([]), Some(input))
        },
        "/rollouts/{id}": { "get": op("One rollout: its status and each client's", "200", rollout.clone(), json!([id.clone()]), None) },
        "/rollouts/{id}/pause": { "post": control("Pause a rollout (operator): no new client starts; running deploys finish") },
        "/rollouts/{id}/resume": { "post": control("Resume a paused rollout (operator)") },
        "/rollouts/{id}/abort": { "post": control("Abort a rollout (operator): no new client starts; it ends when the running deploys have") },
        "/rollouts/{id}/undo": { "post": op("Roll every client a finished rollout deployed back to its revision before (operator); runs in the background", "202", json!({}), json!([id]), None) }
    })
}

/// Outgoing webhooks.
pub(crate) fn webhook_paths() -> Value {
    let id = path_param("id", "webhook id");
    let hook = json!({ "type": "object", "required": ["id", "url", "events", "format", "signed"], "properties": {
        "id": { "type": "integer" }, "url": { "type": "string" },
        "events": { "type": "array", "items": { "type": "string" } },
        "format": { "type": "string", "enum": ["json", "slack"] }, "signed": { "type": "boolean" },
        "created_by": { "type": "string" }, "created_at": { "type": "string" } } });
    let delivery = json!({ "type": "object", "required": ["id", "webhook", "event", "status", "attempts"], "properties": {
        "id": { "type": "integer" }, "webhook": { "type": "integer" }, "event": { "type": "string" },
        "status": { "type": "string", "enum": ["pending", "delivered", "failed"] },
        "attempts": { "type": "array", "items": { "type": "object", "properties": {
            "n": { "type": "integer" }, "at": { "type": "string" },
            "code": { "type": "integer", "nullable": true }, "error": { "type": "string", "nullable": true } } } },
        "created_at": { "type": "string" } } });
    json!({
        "/webhooks": {
            "get": op("Outgoing webhooks (admin); secrets never shown", "200", list_of(hook.clone()), json!([]), None),
            "post": op("Add a webhook (admin): its address, the events it is told of (run.failed, rollout.halted, rollout.finished, drift.detected), json or slack, and a secret to sign bodies with (HMAC-SHA256 in X-Tenantry-Signature)", "201", hook.clone(), json!([]), Some(json!({
                "type": "object", "required": ["url", "events"], "additionalProperties": false, "properties": {
                    "url": { "type": "string", "description": "http:// or https://" },
                    "events": { "type": "array", "minItems": 1, "items": { "type": "string", "enum": ["run.failed", "rollout.halted", "rollout.finished", "drift.detected"] } },
                    "format": { "type": "string", "enum": ["json", "slack"] },
                    "secret": { "type": "string" } } })))
        },
        "/webhooks/{id}": {
            "delete": op("Remove a webhook and its delivery log (admin)", "204", json!({}), json!([id.clone()]), None),
            "put": op("Change a webhook (admin): its address, events and format; `secret` absent keeps the secret, empty stops signing, a value replaces it. Deliveries not sent yet go as it now says", "200", hook.clone(), json!([id.clone()]), Some(json!({
                "type": "object", "required": ["url", "events"], "additionalProperties": false, "properties": {
                    "url": { "type": "string", "description": "http:// or https://" },
                    "events": { "type": "array", "minItems": 1, "items": { "type": "string", "enum": ["run.failed", "rollout.halted", "rollout.finished", "drift.detected"] } },
                    "format": { "type": "string", "enum": ["json", "slack"] },
                    "secret": { "type": "string" } } })))
        },
        "/webhooks/{id}/deliveries": { "get": op("A webhook's latest deliveries, each attempt with its answer (admin)", "200", list_of(delivery), json!([id]), None) }
    })
}
