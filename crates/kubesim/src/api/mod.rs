//! The REST API: path routing (under an optional Rancher-style prefix), bearer auth,
//! discovery, and the verbs create, get, list, watch, update, patch, delete.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::resources::{self, RESOURCES, Resource};
use crate::selector::{FieldSelector, LabelSelector};
use crate::sim::Shared;
use crate::status::{ApiError, Cause};
use crate::store::{Change, EventType, Key, StoreError, rv_of};
use crate::validate::{apply_defaults, validate};
use crate::{authz, metrics};

mod create;
mod delete;
mod list;
mod log;
mod update;
mod watch;

use crate::registry::*;
use create::*;
use delete::*;
use list::*;
use log::*;
use update::*;
use watch::*;

type ApiResult = Result<Response, ApiError>;

fn json_response(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn ok(v: &Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, v))
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    uri.query().map(url_decode_pairs).unwrap_or_default()
}

fn url_decode_pairs(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The one handler: everything below the prefix goes through here.
pub async fn handle(
    State(sim): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let path = uri.path().to_owned();
    sim.count_request(method.as_str());
    let response = match sim.faults.before(&method, &path).await {
        Some(r) => r,
        None => route(&sim, &method, &uri, &headers, body)
            .await
            .unwrap_or_else(IntoResponse::into_response),
    };
    tracing::info!(target: "kubesim", "{} {} {} {}ms", method, uri, response.status().as_u16(), started.elapsed().as_millis());
    response
}

async fn route(
    sim: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult {
    let Some(path) = uri
        .path()
        .strip_prefix(sim.config.path_prefix.trim_end_matches('/'))
    else {
        return Err(ApiError::not_found_path());
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let public = matches!(
        segs.as_slice(),
        ["version"] | ["healthz"] | ["livez"] | ["readyz"]
    );
    if !public && !sim.authorised(headers) {
        return Err(ApiError::unauthorized());
    }
    let q = query_map(uri);
    let (json_headers, body) = json_body(method, headers, body)?;
    let headers = json_headers.as_ref().unwrap_or(headers);
    match segs.as_slice() {
        [] => ok(&json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/version"]})),
        ["version"] => ok(&json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0-kubesim", "gitCommit": "kubesim",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
            "compiler": "gc", "platform": "linux/amd64"
        })),
        ["healthz"] | ["livez"] | ["readyz"] => Ok((StatusCode::OK, "ok").into_response()),
        ["api"] => ok(&json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]})),
        ["api", "v1"] => ok(&resource_list("", "v1")),
        ["apis"] => ok(&{
            let mut groups: Vec<Value> = resources::groups().iter().map(|g| group(g)).collect();
            groups.push(group_of(metrics::GROUP, metrics::VERSION));
            groups.push(group_of(authz::GROUP, authz::VERSION));
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }),
        ["apis", metrics::GROUP] => ok(&api_group(group_of(metrics::GROUP, metrics::VERSION))),
        ["apis", metrics::GROUP, metrics::VERSION] => ok(&metrics::resource_list()),
        ["apis", authz::GROUP] => ok(&api_group(group_of(authz::GROUP, authz::VERSION))),
        ["apis", authz::GROUP, authz::VERSION] => ok(&authz::resource_list()),
        ["apis", authz::GROUP, authz::VERSION, rest @ ..] if *method == Method::POST => {
            authz::review(rest, &body).map(|v| json_response(StatusCode::CREATED, &v))
        }
        ["apis", metrics::GROUP, metrics::VERSION, rest @ ..] if *method == Method::GET => {
            ok(&metrics::handle(sim, rest, &q)?)
        }
        ["apis", g] if resources::groups().contains(g) => ok(&api_group(group(g))),
        ["apis", g, "v1"] if resources::groups().contains(g) => ok(&resource_list(g, "v1")),
        ["api", "v1", rest @ ..] => {
            resource_route(sim, method, "", "v1", rest, &q, headers, body).await
        }
        ["apis", g, v, rest @ ..] => {
            resource_route(sim, method, g, v, rest, &q, headers, body).await
        }
        _ => Err(ApiError::not_found_path()),
    }
}

/// A protobuf body (kubectl ≥ 1.31 and client-go send built-in kinds so) or a YAML one
/// read into the JSON the rest of kubesim handles, with the headers saying JSON (an apply
/// patch stays an apply patch); other bodies pass unchanged.
fn json_body(
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(Option<HeaderMap>, Bytes), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or("").trim();
    let yaml = |body: &[u8]| {
        serde_yaml_ng::from_slice::<Value>(body).map_err(|e| {
            ApiError::bad_request(format!("the body of the request is not valid YAML: {e}"))
        })
    };
    let object = match (media, method) {
        _ if body.is_empty() => return Ok((None, body)),
        (_, &Method::POST | &Method::PUT | &Method::DELETE) if crate::proto::is_protobuf(media) => {
            crate::proto::decode(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        ("application/yaml", &Method::POST | &Method::PUT) => yaml(&body)?,
        // An apply patch in JSON (what kubectl sends) is read where it is applied.
        ("application/apply-patch+yaml", &Method::PATCH)
            if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() =>
        {
            yaml(&body)?
        }
        _ => return Ok((None, body)),
    };
    // An apply patch stays one (its media type decides the verb); others become JSON.
    let json_type = if media == "application/apply-patch+yaml" {
        media
    } else {
        "application/json"
    };
    let mut json_headers = headers.clone();
    json_headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_str(json_type).expect("a media type is a header value"),
    );
    Ok((Some(json_headers), Bytes::from(object.to_string())))
}

fn group(g: &str) -> Value {
    group_of(g, "v1")
}

/// A group with one version, as `/apis` lists it.
fn group_of(g: &str, version: &str) -> Value {
    let gv = format!("{g}/{version}");
    json!({"name": g, "versions": [{"groupVersion": gv, "version": version}],
           "preferredVersion": {"groupVersion": gv, "version": version}})
}

/// `/apis/GROUP`: the group as its own document.
fn api_group(mut g: Value) -> Value {
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    g
}

fn resource_list(g: &str, v: &str) -> Value {
    let mut list = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == g && r.version == v) {
        let mut verbs = vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        if r.namespaced {
            verbs.push("deletecollection");
        }
        let mut e = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                           "kind": r.kind, "verbs": verbs});
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        list.push(e);
        for sub in r.subresources {
            let verbs: &[&str] = if *sub == "log" {
                &["get"]
            } else {
                &["get", "patch", "update"]
            };
            let kind = match *sub {
                "log" => "Pod",
                "scale" => "Scale",
                _ => r.kind,
            };
            let mut e = json!({"name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": verbs});
            if *sub == "scale" {
                e["group"] = json!("autoscaling");
                e["version"] = json!("v1");
            }
            list.push(e);
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": if g.is_empty() { v.to_owned() } else { format!("{g}/{v}") }, "resources": list})
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's parts, passed through once"
)]
async fn resource_route(
    sim: &Arc<Shared>,
    method: &Method,
    g: &str,
    v: &str,
    rest: &[&str],
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult {
    let lookup = |plural: &str| resources::find(g, v, plural).ok_or_else(ApiError::not_found_path);
    // (resource, namespace, name, subresource)
    let (res, ns, name, sub): (&Resource, Option<&str>, Option<&str>, Option<&str>) = match rest {
        [plural] => (lookup(plural)?, None, None, None),
        [plural, name] => {
            let r = lookup(plural)?;
            if r.namespaced {
                return Err(ApiError::not_found_path());
            }
            (r, None, Some(*name), None)
        }
        ["namespaces", name, sub] if g.is_empty() && *sub == "status" => {
            (resources::NAMESPACES, None, Some(*name), Some(*sub))
        }
        ["namespaces", ns, plural] => (lookup(plural)?, Some(*ns), None, None),
        ["namespaces", ns, plural, name] => (lookup(plural)?, Some(*ns), Some(*name), None),
        ["namespaces", ns, plural, name, sub] => {
            (lookup(plural)?, Some(*ns), Some(*name), Some(*sub))
        }
        _ => return Err(ApiError::not_found_path()),
    };
    if res.namespaced != ns.is_some() && !(name.is_none() && ns.is_none() && *method == Method::GET)
    {
        return Err(ApiError::not_found_path());
    }
    if let Some(sub) = sub
        && !res.subresources.contains(&sub)
    {
        return Err(ApiError::not_found_path());
    }
    let ns = ns.unwrap_or("");
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("application/json");
    // A write that is not an apply is owned by its `fieldManager`, or else by the client's
    // user agent up to its first `/` (as the API server names it); an apply must name one.
    let mut with_manager;
    let q = if content_type.starts_with("application/apply-patch")
        || q.get("fieldManager").is_some_and(|m| !m.is_empty())
    {
        q
    } else {
        with_manager = q.clone();
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|m| !m.is_empty())
            .unwrap_or("unknown");
        with_manager.insert("fieldManager".to_owned(), agent.to_owned());
        &with_manager
    };
    // Protobuf bodies were read into JSON by `json_body`; any other encoding is refused.
    if matches!(*method, Method::POST | Method::PUT)
        && !body.is_empty()
        && !content_type.starts_with("application/json")
        && !content_type.starts_with("*/*")
    {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let mut warnings = Vec::new();
    let response = match (method.clone(), name, sub) {
        (Method::GET, None, None) => {
            if query_bool(q, "watch") {
                watch(sim, res, (!ns.is_empty()).then_some(ns), q).await
            } else if crate::table::wanted(headers) {
                let (ls, fs) = selectors(q)?;
                let (items, rv) = sim
                    .store
                    .list(&res.qualified_plural(), (!ns.is_empty()).then_some(ns));
                let matching: Vec<&Value> = items
                    .iter()
                    .map(|o| &**o)
                    .filter(|o| ls.matches(o) && fs.matches(o))
                    .collect();
                ok(&crate::table::table(res, &matching, rv))
            } else {
                let at = list_version(sim, q).await?;
                list(sim, res, (!ns.is_empty()).then_some(ns), q, at)
            }
        }
        (Method::POST, None, None) => create(sim, res, ns, &body, q, &mut warnings)
            .map(|v| json_response(StatusCode::CREATED, &v)),
        (Method::GET, Some(n), None) if crate::table::wanted(headers) => {
            let v = get(sim, res, ns, n)?;
            ok(&crate::table::table(res, &[&v], rv_of(&v).unwrap_or(0)))
        }
        (Method::GET, Some(n), None) => get(sim, res, ns, n).and_then(|v| ok(&v)),
        (Method::GET, Some(n), Some("status")) => get(sim, res, ns, n).and_then(|v| ok(&v)),
        (Method::GET, Some(n), Some("log")) => pod_log(sim, ns, n, q).await,
        (Method::GET, Some(n), Some("scale")) if crate::scale::scalable(res) => {
            get(sim, res, ns, n).and_then(|v| ok(&crate::scale::of(&v)))
        }
        (Method::PUT | Method::PATCH, Some(n), Some("scale")) if crate::scale::scalable(res) => {
            let key = Key::new(res, ns, n);
            let current = stored(sim, res, &key)?;
            let wanted = if *method == Method::PUT {
                parse_body(&body)?
            } else {
                let ct = content_type.split(';').next().unwrap_or("").trim();
                crate::scale::patched(&current, &body, ct)?
            };
            let next = crate::scale::apply(res, &current, &wanted)?;
            let v = write(sim, res, &key, &current, next, rv_of(&current), q, false)?;
            ok(&crate::scale::of(&v))
        }
        (Method::PUT, Some(n), sub @ (None | Some("status"))) => update(
            sim,
            res,
            ns,
            n,
            &body,
            sub == Some("status"),
            q,
            &mut warnings,
        )
        .and_then(|v| ok(&v)),
        (Method::PATCH, Some(n), sub @ (None | Some("status"))) => patch(
            sim,
            res,
            ns,
            n,
            &body,
            content_type,
            q,
            sub == Some("status"),
            &mut warnings,
        ),
        (Method::DELETE, Some(n), None) => delete(sim, res, ns, n, &body, q).and_then(|v| ok(&v)),
        (Method::DELETE, None, None) if res.namespaced && !ns.is_empty() => {
            delete_collection(sim, res, ns, &body, q).and_then(|v| ok(&v))
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    };
    // Each warning in its own header, as the API server sends them (kubectl prints them).
    response.map(|mut r| {
        for w in warnings {
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("299 - {w:?}")) {
                r.headers_mut().append(header::WARNING, v);
            }
        }
        r
    })
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

pub fn get(sim: &Shared, res: &Resource, ns: &str, name: &str) -> Result<Value, ApiError> {
    sim.store
        .get(&Key::new(res, ns, name))
        .map(|v| (*v).clone())
        .ok_or_else(|| ApiError::not_found(res, name))
}

fn selectors(q: &HashMap<String, String>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let l = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))
        .map_err(ApiError::bad_request)?;
    let f = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))
        .map_err(ApiError::bad_request)?;
    Ok((l, f))
}

/// A boolean query parameter as the API server reads it (Go's `strconv.ParseBool`):
/// the Python client sends `watch=True`.
fn query_bool(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key)
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// Who writes, for `managedFields`: the request's field manager (set for every write by
/// `resource_route`), now.
fn writer(res: &Resource, q: &HashMap<String, String>, status: bool) -> crate::ownership::Writer {
    crate::ownership::Writer {
        manager: q
            .get("fieldManager")
            .map_or("unknown", String::as_str)
            .to_owned(),
        api_version: res.api_version(),
        now: crate::registry::now(),
        status,
    }
}

/// Whether the request asks for a dry run (`dryRun=All`): everything is checked, nothing
/// is stored.
fn dry_run(q: &HashMap<String, String>) -> bool {
    q.get("dryRun").is_some_and(|d| d == "All")
}
