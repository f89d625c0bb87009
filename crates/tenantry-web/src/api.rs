//! The JSON API under `/api/v1`: what the UI does, for automation. Callers send a Bearer
//! API token (or use their browser session plus `X-CSRF-Token`). Bad input is a 4xx whose
//! JSON names the field; the document is at `/api/v1/openapi.json`.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use tenantry_core::Role;
use tenantry_core::template::Template;
use tenantry_store::{Scope, StoredValue};

use crate::AppState;
use crate::access::{change_own_password, create_token, token_days};
use crate::actions::ns_name;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::runs::run_json;
use crate::templates::template_name;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .route("/me", get(me))
        .route("/me/password", post(change_password))
        .route("/runs", get(list_runs))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/requests", get(run_requests))
        .route("/runs/{id}/events", get(run_events))
        .route("/namespaces", get(list_namespaces))
        .route("/namespaces/{name}", get(get_namespace))
        .route("/namespaces/{name}/params", get(namespace_params))
        .route("/env", get(env))
        .route("/templates", get(list_templates))
        .route("/templates/{name}", get(get_template).put(put_template))
        .route("/audit", get(audit))
        .route("/users", get(list_users).post(create_user))
        .route("/tokens", get(list_tokens).post(create_api_token))
        .merge(crate::api_clients::routes())
        .merge(crate::api_admin::routes())
}

/// A JSON body; a problem names the field it is in.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = WebError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json {
            return Err(WebError::field(
                "body",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), 2 * 1024 * 1024)
            .await
            .map_err(|_| WebError::field("body", "the body is larger than 2 MiB"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(_)) => {}
            Ok(_) => return Err(WebError::field("body", "the body must be a JSON object")),
            Err(e) => {
                return Err(WebError::field(
                    "body",
                    format!("the body is not JSON: {e}"),
                ));
            }
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(Body).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            WebError::field(&field, e.into_inner().to_string())
        })
    }
}

/// The query string as a map; it never rejects (bad values are found by the handler).
#[derive(Debug)]
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for QueryMap {
    type Rejection = WebError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Self(
            form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        ))
    }
}

pub(crate) fn int(
    q: &HashMap<String, String>,
    name: &str,
    default: i64,
    max: i64,
) -> Result<i64, WebError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => Ok(n),
            _ => Err(WebError::field(
                name,
                format!("expected a whole number from 0 to {max}, got {v:?}"),
            )),
        },
    }
}

fn run_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>()
        .map_err(|_| WebError::NotFound(format!("no run {s:?}; run ids are numbers")))
}

async fn me(caller: Caller) -> Json<Value> {
    Json(json!({ "name": caller.name, "role": caller.role }))
}

async fn list_runs(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    let limit = int(&q, "limit", 50, 1000)?;
    let client = match q.get("client") {
        Some(c) => Some(
            tenantry_core::ClientId::parse(c)
                .map_err(|e| WebError::field("client", e.to_string()))?,
        ),
        None => None,
    };
    let runs = state.catalog.runs(client, limit).await?;
    Ok(Json(
        json!({ "items": runs.iter().map(run_json).collect::<Vec<_>>() }),
    ))
}

async fn get_run(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let r = state.catalog.run(run_id(&id)?).await?;
    Ok(Json(run_json(&r)))
}

async fn run_requests(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = run_id(&id)?;
    state.catalog.run(id).await?;
    Ok(Json(
        json!({ "items": state.catalog.run_requests(id).await? }),
    ))
}

async fn run_events(
    state: State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = run_id(&id)?;
    Ok(crate::runs::events(state, info, caller, Path(id))
        .await?
        .into_response())
}

pub(crate) fn namespace_json(n: &tenantry_store::Namespace) -> Value {
    json!({
        "name": n.name.as_str(),
        "k8s_namespace": n.k8s_namespace.as_str(),
        "api_root_url": n.api_root_url.as_str(),
        "token": tenantry_core::secret::MASK,
        "ca_bundle": n.ca_bundle.is_some(),
        "created_at": n.created_at,
        "updated_at": n.updated_at,
    })
}

async fn list_namespaces(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Value>, WebError> {
    let list = state.catalog.namespaces().await?;
    Ok(Json(
        json!({ "items": list.iter().map(namespace_json).collect::<Vec<_>>() }),
    ))
}

async fn get_namespace(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    Ok(Json(namespace_json(&state.catalog.namespace(&name).await?)))
}

fn masked(v: Option<&StoredValue>) -> Value {
    match v {
        None => Value::Null,
        Some(StoredValue::Plain(s)) => json!(s),
        Some(StoredValue::Secret(_)) => json!(tenantry_core::secret::MASK),
    }
}

/// A namespace's parameters as the API shows them (secrets masked).
pub(crate) async fn namespace_params_json(
    state: &AppState,
    name: &str,
) -> Result<Vec<Value>, WebError> {
    let ns = state.catalog.namespace(name).await?;
    let params = state.catalog.params(&Scope::Namespace(ns.name)).await?;
    Ok(params
        .iter()
        .map(|p| {
            json!({
                "name": p.def.name.as_str(),
                "kind": p.def.kind.to_string(),
                "description": p.def.description,
                "global": masked(p.global.as_ref()),
                "namespace": masked(p.namespaced.as_ref()),
            })
        })
        .collect())
}

async fn namespace_params(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    Ok(Json(
        json!({ "items": namespace_params_json(&state, &name).await? }),
    ))
}

async fn env(
    State(state): State<AppState>,
    _c: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    let scope = match q.get("namespace").filter(|s| !s.is_empty()) {
        Some(n) => Scope::Namespace(ns_name("namespace", n)?),
        None => Scope::Global,
    };
    Ok(Json(
        json!({ "items": state.catalog.env_vars(&scope).await? }),
    ))
}

async fn list_templates(
    State(state): State<AppState>,
    _c: Caller,
) -> Result<Json<Value>, WebError> {
    Ok(Json(json!({ "items": state.catalog.templates().await? })))
}

async fn get_template(
    State(state): State<AppState>,
    _c: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    Ok(Json(json!(
        state.catalog.template(&template_name(&name)?).await?
    )))
}

/// A `true`/`false` query value; absent is false.
pub(crate) fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool, WebError> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(WebError::field(
            name,
            format!("expected true or false, got {other:?}"),
        )),
    }
}

/// Saves a new version; refused with 422 and the problems listed (unknown macros with a
/// suggestion, a broken order, a body that is no object) unless `force=true`.
async fn put_template(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Path(name): Path<String>,
    QueryMap(q): QueryMap,
    Body(v): Body<Value>,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let name = template_name(&name)?;
    state.catalog.template(&name).await?;
    let t = Template::parse(&v.to_string()).map_err(|e| WebError::field("body", e.to_string()))?;
    if t.name != name {
        return Err(WebError::field(
            "name",
            format!(
                "the body names template {:?}, the path {:?}",
                t.name.as_str(),
                name.as_str()
            ),
        ));
    }
    let force = flag(&q, "force")?;
    let note = q.get("note").map_or("saved through the API", |n| n.trim());
    let saved = state
        .save_template(&caller.name, &info.address, &t, note, force)
        .await?;
    Ok(Json(json!(saved)))
}

async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryMap(q): QueryMap,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let limit = int(&q, "limit", 100, 1000)?;
    let offset = int(&q, "offset", 0, 1_000_000_000)?;
    Ok(Json(
        json!({ "items": state.catalog.audit_log(limit, offset).await? }),
    ))
}

async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    Ok(Json(json!({ "items": state.catalog.users().await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInput {
    name: String,
    role: String,
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(u): Body<UserInput>,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let user = state
        .create_user(&caller.name, &info.address, &u.name, &u.role, &u.password)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(user))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: String,
    role: String,
    /// Days until it expires (default 90, at most 366).
    #[serde(default)]
    expires_days: Option<i64>,
}

/// API tokens (admin): never their secret, which is shown once when made.
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, WebError> {
    caller.require(Role::Admin)?;
    let now = crate::auth::unix_now();
    let items: Vec<Value> = state
        .catalog
        .api_tokens()
        .await?
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "name": k.name,
                "role": k.effective_role(),
                "owner": k.created_by,
                "created_at": k.created_at,
                "expires_at": k.expires_at,
                "last_used_at": k.last_used_at,
                "state": if k.revoked_at.is_some() { "revoked" } else if k.expires_at <= now { "expired" } else { "live" },
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn create_api_token(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(t): Body<TokenInput>,
) -> Result<Response, WebError> {
    caller.require(Role::Admin)?;
    let role = crate::parse_role(&t.role)?;
    let days = token_days(&t.expires_days.map(|d| d.to_string()).unwrap_or_default())?;
    let (token, made) = create_token(&state, &caller, &info.address, &t.name, role, days).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "name": made.name,
            "role": role,
            "owner": made.created_by,
            "expires_at": made.expires_at,
            "token": token,
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current: String,
    new: String,
}

/// Changes the caller's own password (a browser session, with its CSRF token); every
/// session of the user ends.
async fn change_password(
    State(state): State<AppState>,
    info: RequestInfo,
    caller: Caller,
    Body(p): Body<PasswordChange>,
) -> Result<Json<Value>, WebError> {
    change_own_password(&state, &caller, &info.address, &p.current, &p.new).await?;
    Ok(Json(json!({ "changed": true, "sessions_ended": true })))
}
