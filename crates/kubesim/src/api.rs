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

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
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
            groups.push(metrics::group());
            groups.push(authz::group());
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }),
        ["apis", metrics::GROUP] => ok(&{
            let mut v = metrics::group();
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            v
        }),
        ["apis", metrics::GROUP, metrics::VERSION] => ok(&metrics::resource_list()),
        ["apis", authz::GROUP] => ok(&{
            let mut v = authz::group();
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            v
        }),
        ["apis", authz::GROUP, authz::VERSION] => ok(&authz::resource_list()),
        ["apis", authz::GROUP, authz::VERSION, rest @ ..] if *method == Method::POST => {
            authz::review(rest, &body).map(|v| json_response(StatusCode::CREATED, &v))
        }
        ["apis", metrics::GROUP, metrics::VERSION, rest @ ..] if *method == Method::GET => {
            ok(&metrics::handle(sim, rest, &q)?)
        }
        ["apis", g] if resources::groups().contains(g) => ok(&{
            let mut v = group(g);
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            v
        }),
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

fn group(g: &str) -> Value {
    json!({"name": g, "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}],
           "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"}})
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
    // kubesim speaks JSON only; clients that prefer protobuf fall back to JSON on 415.
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
                list(sim, res, (!ns.is_empty()).then_some(ns), q)
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
        (Method::GET, Some(n), Some("log")) => {
            get(sim, res, ns, n)?;
            let text = sim
                .logs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&(ns.to_owned(), n.to_owned()))
                .cloned()
                .unwrap_or_default();
            let text = match q.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
                Some(t) => {
                    let lines: Vec<&str> = text.lines().collect();
                    lines[lines.len().saturating_sub(t)..]
                        .iter()
                        .map(|l| format!("{l}\n"))
                        .collect()
                }
                None => text,
            };
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
        }
        (Method::GET, Some(n), Some("scale")) if crate::scale::scalable(res) => {
            get(sim, res, ns, n).and_then(|v| ok(&crate::scale::of(&v)))
        }
        (Method::PUT | Method::PATCH, Some(n), Some("scale")) if crate::scale::scalable(res) => {
            let key = Key::new(res, ns, n);
            let current = sim
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(res, n))?;
            let wanted = if *method == Method::PUT {
                parse_body(&body)?
            } else {
                let ct = content_type.split(';').next().unwrap_or("").trim();
                crate::scale::patched(&current, &body, ct)?
            };
            let next = crate::scale::apply(res, &current, &wanted)?;
            let merged = merge_update(res, &current, next, false)?;
            let v = commit(
                sim,
                res,
                &key,
                &current,
                merged,
                rv_of(&current),
                dry_run(q),
            )?;
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

fn store_err(res: &Resource, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found(res, name),
        StoreError::AlreadyExists => ApiError::already_exists(res, name),
        StoreError::Conflict => ApiError::conflict(res, name),
        StoreError::Gone { oldest } => {
            ApiError::gone(format!("too old resource version: {oldest}"))
        }
    }
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

fn list(sim: &Shared, res: &Resource, ns: Option<&str>, q: &HashMap<String, String>) -> ApiResult {
    let (ls, fs) = selectors(q)?;
    let (items, rv) = sim.store.list(&res.qualified_plural(), ns);
    let mut matching = items.iter().filter(|o| ls.matches(o) && fs.matches(o));
    let start_after = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => Some(
            decode_continue(c).ok_or_else(|| ApiError::bad_request("continue key is not valid"))?,
        ),
        None => None,
    };
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let key_of = |o: &Value| {
        format!(
            "{}/{}",
            o.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or(""),
            o.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
        )
    };
    let mut out: Vec<&Value> = Vec::new();
    let mut more = false;
    for o in matching.by_ref() {
        if start_after.as_ref().is_some_and(|s| key_of(o) <= *s) {
            continue;
        }
        if limit.is_some_and(|l| out.len() == l) {
            more = true;
            break;
        }
        out.push(o);
    }
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if more && let Some(last) = out.last() {
        meta["continue"] = json!(encode_continue(&key_of(last)));
    }
    let list = ListBody {
        kind: format!("{}List", res.kind),
        api_version: res.api_version(),
        metadata: meta,
        items: out.into_iter().map(ListItem).collect(),
    };
    let body = serde_json::to_vec(&list).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// A list as the real server writes it; items are serialised from the store without a
/// copy, leaving out their `kind` and `apiVersion` as the real server does.
#[derive(serde::Serialize)]
struct ListBody<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: Vec<ListItem<'a>>,
}

struct ListItem<'a>(&'a Value);

impl serde::Serialize for ListItem<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = ser.serialize_map(None)?;
        for (k, v) in self.0.as_object().into_iter().flatten() {
            if k != "kind" && k != "apiVersion" {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

fn encode_continue(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_continue(c: &str) -> Option<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// The event a watch with selectors sends for a change, as the API server's watch cache
/// decides it: an object entering the selection is ADDED, one leaving it is DELETED (with
/// its previous content at the new resource version), one outside it is not sent.
fn selected_event(c: &Change, passes: &impl Fn(&Value) -> bool) -> Option<Bytes> {
    let now = passes(&c.object);
    let before = c.previous.as_deref().is_some_and(passes);
    match (c.kind, before, now) {
        (EventType::Modified, false, true) => Some(watch_line("ADDED", &c.object)),
        (EventType::Modified, true, false) => {
            let mut old = c.previous.as_deref().cloned().unwrap_or(Value::Null);
            old["metadata"]["resourceVersion"] = json!(c.rv.to_string());
            Some(watch_line("DELETED", &old))
        }
        (EventType::Modified, false, false) => None,
        (kind, _, true) => Some(watch_line(kind.as_str(), &c.object)),
        (_, _, false) => None,
    }
}

async fn watch(
    sim: &Arc<Shared>,
    res: &'static Resource,
    ns: Option<&str>,
    q: &HashMap<String, String>,
) -> ApiResult {
    let (ls, fs) = selectors(q)?;
    let rv_param = q.get("resourceVersion").cloned().unwrap_or_default();
    let bookmarks = query_bool(q, "allowWatchBookmarks");
    // A streaming list (WatchList): the current state, then a bookmark marking its end.
    let initial_events = query_bool(q, "sendInitialEvents");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let res_key = res.qualified_plural();
    let ns = ns.map(str::to_owned);
    // From "" or "0": the current state first, as ADDED events, then changes.
    let (initial, from) = if rv_param.is_empty() || rv_param == "0" || initial_events {
        let (items, rv) = sim.store.list(&res_key, ns.as_deref());
        (
            items
                .into_iter()
                .filter(|o| ls.matches(o) && fs.matches(o))
                .collect::<Vec<_>>(),
            rv,
        )
    } else {
        let rv = rv_param
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv_param:?}")))?;
        // A version the store has not reached: the API server's watch cache waits up to
        // 3 s for it, then says so (the server lost its state, or the client is confused).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while rv > sim.store.current_rv() {
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::too_large_resource_version(
                    rv,
                    sim.store.current_rv(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (Vec::new(), rv)
    };
    let (backlog, mut rx) = match sim.store.watch_from(from) {
        Ok(x) => x,
        Err(StoreError::Gone { oldest }) => {
            let status =
                ApiError::gone(format!("too old resource version: {from} ({oldest})")).body();
            let line = watch_line("ERROR", &status);
            return Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                line,
            )
                .into_response());
        }
        Err(e) => return Err(store_err(res, "", e)),
    };
    let (tx, out) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(256);
    let bookmark_every = sim.config.bookmark_interval;
    let api_version = res.api_version();
    let kind = res.kind;
    tokio::spawn(async move {
        let passes = |o: &Value| ls.matches(o) && fs.matches(o);
        let in_scope =
            |c: &Change| c.key.res == res_key && ns.as_ref().is_none_or(|n| &c.key.ns == n);
        let mut last = from;
        for o in initial {
            if tx.send(Ok(watch_line("ADDED", &o))).await.is_err() {
                return;
            }
        }
        if initial_events {
            let b = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": from.to_string(),
                           "annotations": {"k8s.io/initial-events-end": "true"}}});
            if tx.send(Ok(watch_line("BOOKMARK", &b))).await.is_err() {
                return;
            }
        }
        for c in backlog.iter().filter(|c| in_scope(c)) {
            last = c.rv;
            if let Some(line) = selected_event(c, &passes)
                && tx.send(Ok(line)).await.is_err()
            {
                return;
            }
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut tick = tokio::time::interval(bookmark_every);
        tick.tick().await;
        loop {
            let sleep_until = deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(c) => {
                        if c.rv <= last { continue; }
                        last = c.rv;
                        if in_scope(&c)
                            && let Some(line) = selected_event(&c, &passes)
                            && tx.send(Ok(line)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let status = ApiError::gone(format!("too old resource version: {last}")).body();
                        let _ = tx.send(Ok(watch_line("ERROR", &status))).await;
                        return;
                    }
                    Err(_) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    let b = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": last.to_string()}});
                    if tx.send(Ok(watch_line("BOOKMARK", &b))).await.is_err() {
                        return;
                    }
                }
                () = tokio::time::sleep_until(sleep_until) => return,
                () = tx.closed() => return,
            }
        }
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::TRANSFER_ENCODING, "chunked"),
        ],
        Body::from_stream(ReceiverStream::new(out)),
    )
        .into_response())
}

/// Checks the body's apiVersion and kind against the URL's; like the real server, a body
/// that leaves them out gets the URL's.
fn check_type(res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
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

fn has_spec(kind: &str) -> bool {
    !matches!(
        kind,
        "ConfigMap" | "Secret" | "Event" | "Namespace" | "ServiceAccount" | "Role" | "RoleBinding"
    )
}

fn initial_status(kind: &str) -> Option<Value> {
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

fn random_suffix() -> String {
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

fn decode_secret_data(obj: &Value) -> Result<(), ApiError> {
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

fn create(
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
fn checked(
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

/// Builds the object that replaces `current`: server-owned fields kept, status kept unless
/// this is the status subresource, generation bumped when the spec changed.
/// A boolean query parameter as the API server reads it (Go's `strconv.ParseBool`):
/// the Python client sends `watch=True`.
fn query_bool(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key)
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// Whether the request asks for a dry run (`dryRun=All`): everything is checked, nothing
/// is stored.
fn dry_run(q: &HashMap<String, String>) -> bool {
    q.get("dryRun").is_some_and(|d| d == "All")
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// Stores a write of an existing object (or, in a dry run, only checks it): the version
/// it was read at must still be current; an object being deleted takes no new
/// finalizers, and goes once its last finalizer is removed.
fn commit(
    sim: &Shared,
    res: &Resource,
    key: &Key,
    current: &Value,
    next: Value,
    expect: Option<u64>,
    dry: bool,
) -> Result<Value, ApiError> {
    if terminating(current) {
        let before = finalizers(current);
        let added: Vec<String> = finalizers(&next)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list = added
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::invalid(
                res,
                &key.name,
                vec![Cause::forbidden(
                    "metadata.finalizers",
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                    ),
                )],
            ));
        }
    }
    if dry {
        if expect.is_some_and(|e| Some(e) != rv_of(current)) {
            return Err(ApiError::conflict(res, &key.name));
        }
        return Ok(next);
    }
    let v = sim
        .store
        .update(key, next, expect)
        .map_err(|e| store_err(res, &key.name, e))?;
    if terminating(&v) && finalizers(&v).is_empty() {
        let _ = remove_object(sim, res, &key.ns, &key.name, false);
    }
    Ok((*v).clone())
}

fn merge_update(
    res: &Resource,
    current: &Value,
    mut next: Value,
    status_only: bool,
) -> Result<Value, ApiError> {
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if status_only {
        let mut out = current.clone();
        out["status"] = next.get("status").cloned().unwrap_or(json!({}));
        return Ok(out);
    }
    for k in [
        "uid",
        "creationTimestamp",
        "namespace",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        if let Some(v) = current.pointer(&format!("/metadata/{k}")) {
            next["metadata"][k] = v.clone();
        }
    }
    if let Some(s) = current.get("status") {
        next["status"] = s.clone();
    }
    if res.kind == "Job" {
        let uid = current
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        apply_defaults("Job", &mut next, &uid, "");
        let mut causes = Vec::new();
        if next.pointer("/spec/template") != current.pointer("/spec/template") {
            causes.push(Cause::immutable("spec.template"));
        }
        if next.pointer("/spec/selector") != current.pointer("/spec/selector") {
            causes.push(Cause::immutable("spec.selector"));
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(res, &name, causes));
        }
    } else {
        let ip = current
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("10.96.0.1")
            .to_owned();
        apply_defaults(res.kind, &mut next, "", &ip);
    }
    let mut causes = crate::immutable::update_causes(res.kind, current, &next);
    causes.extend(validate(res.kind, &next));
    if !causes.is_empty() {
        return Err(ApiError::invalid(res, &name, causes));
    }
    if has_spec(res.kind) && next.get("spec") != current.get("spec") {
        let g = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        next["metadata"]["generation"] = json!(g + 1);
    }
    Ok(next)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's parts, passed through once"
)]
fn update(
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
    let current = sim
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(res, name))?;
    let expect = rv_of(&next);
    let merged = merge_update(res, &current, next, status_only)?;
    if res.kind == "Secret" {
        decode_secret_data(&merged)?;
    }
    commit(
        sim,
        res,
        &key,
        &current,
        merged,
        expect.or(rv_of(&current)),
        dry_run(q),
    )
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's parts, passed through once"
)]
fn patch(
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
    let patch_body = || parse_body(body);
    match ct {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            if q.get("fieldManager").is_none_or(String::is_empty) {
                return Err(ApiError::bad_request(
                    "PATCH requests with apply patch type require a fieldManager (use ?fieldManager=NAME)",
                ));
            }
            let mut applied = serde_json::from_slice::<Value>(body).map_err(|_| {
                ApiError::bad_request(
                    "kubesim accepts apply patches written as JSON (YAML documents are not parsed)",
                )
            })?;
            check_type(res, &mut applied)?;
            let applied = checked(res, applied, q, warnings)?;
            match sim.store.get(&key) {
                None => create_object(sim, res, ns, applied)
                    .map(|v| json_response(StatusCode::CREATED, &v)),
                Some(current) => {
                    let mut next = (*current).clone();
                    merge_patch(&mut next, &applied);
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
                    ok(&v)
                }
            }
        }
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let p = patch_body()?;
            let current = sim
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(res, name))?;
            let mut next = (*current).clone();
            if ct == "application/merge-patch+json" {
                merge_patch(&mut next, &p);
            } else {
                crate::smp::apply(res.kind, &mut next, &p);
            }
            let next = checked(res, next, q, warnings)?;
            let expect = p
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .or(rv_of(&current));
            let merged = merge_update(res, &current, next, status_only)?;
            let v = commit(sim, res, &key, &current, merged, expect, dry_run(q))?;
            ok(&v)
        }
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("the body of the request is not a JSON patch: {e}"))
            })?;
            let current = sim
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(res, name))?;
            let mut next = (*current).clone();
            json_patch::patch(&mut next, &ops).map_err(|e| {
                ApiError::unprocessable(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            let next = checked(res, next, q, warnings)?;
            let expect = next
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .or(rv_of(&current));
            let merged = merge_update(res, &current, next, status_only)?;
            let v = commit(sim, res, &key, &current, merged, expect, dry_run(q))?;
            ok(&v)
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// Deletes an object: one with finalizers is marked (`deletionTimestamp`) and goes when
/// the last is removed; one without goes at once with, unless orphaned, what it owns.
pub fn delete_object(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    orphan: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(res, ns, name);
    let current = sim
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(res, name))?;
    if finalizers(&current).is_empty() {
        return remove_object(sim, res, ns, name, orphan);
    }
    if terminating(&current) {
        return Ok((*current).clone());
    }
    sim.store
        .modify(&key, |cur| {
            let mut next = cur.clone();
            next["metadata"]["deletionTimestamp"] = json!(now());
            next["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            Some(next)
        })
        .map(|v| (*v).clone())
        .map_err(|e| store_err(res, name, e))
}

/// Removes an object now and, unless orphaned, everything it owns.
fn remove_object(
    sim: &Shared,
    res: &Resource,
    ns: &str,
    name: &str,
    orphan: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(res, ns, name);
    let gone = sim
        .store
        .delete(&key)
        .map_err(|e| store_err(res, name, e))?;
    let uid = gone
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let scope = if res.kind == "Namespace" {
        Some(name)
    } else {
        (!ns.is_empty()).then_some(ns)
    };
    for r in RESOURCES.iter().filter(|r| r.namespaced) {
        let (items, _) = sim.store.list(&r.qualified_plural(), scope);
        for o in items {
            let owned = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()));
            let in_ns = res.kind == "Namespace";
            let n = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let ons = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if in_ns || (owned && !orphan) {
                let _ = remove_object(sim, r, &ons, &n, false);
            } else if owned {
                let _ = sim.store.modify(&Key::new(r, &ons, &n), |cur| {
                    let mut next = cur.clone();
                    if let Some(refs) = next
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    Some(next)
                });
            }
        }
    }
    Ok((*gone).clone())
}

/// `deletecollection`: deletes every object of the namespace the selectors match, each
/// as a single delete with the same options would, and answers the list of them.
fn delete_collection(
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

fn delete(
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
    let current = sim
        .store
        .get(&Key::new(res, ns, name))
        .ok_or_else(|| ApiError::not_found(res, name))?;
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
