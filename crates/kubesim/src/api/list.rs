//! `list`: selectors, paging with continue tokens, the list body written from the store.

// The verbs share the module's imports and helpers.
use super::*;

/// A version the store has not reached: the API server's watch cache waits up to 3 s for
/// it, then says so (the server lost its state, or the client is confused).
pub(super) async fn reached(sim: &Shared, rv: u64) -> Result<(), ApiError> {
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
    Ok(())
}

/// A list's `resourceVersion` and `resourceVersionMatch`, as the API server reads them:
/// unset or "0" is any version; a version not reached yet is waited for (then 504);
/// `Exact` is that version's snapshot (`Some`), 410 once the history no longer reaches it.
pub(super) async fn list_version(
    sim: &Shared,
    q: &HashMap<String, String>,
) -> Result<Option<u64>, ApiError> {
    let rv = q.get("resourceVersion").filter(|v| !v.is_empty());
    let matching = q.get("resourceVersionMatch").filter(|v| !v.is_empty());
    let Some(rv) = rv else {
        return match matching {
            Some(_) => Err(ApiError::unprocessable(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            )),
            None => Ok(None),
        };
    };
    let n: u64 = rv
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?;
    match matching.map(String::as_str) {
        None | Some("NotOlderThan") => reached(sim, n).await.map(|()| None),
        Some("Exact") if n == 0 => Err(ApiError::unprocessable(
            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        )),
        Some("Exact") => {
            reached(sim, n).await?;
            Ok(Some(n))
        }
        Some(other) => Err(ApiError::unprocessable(format!(
            "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""
        ))),
    }
}

/// A list, at version `at` (a snapshot) or now; a continue token carries the version of
/// its first page, so every page reads the same snapshot.
pub(super) fn list(
    sim: &Shared,
    res: &Resource,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    at: Option<u64>,
) -> ApiResult {
    let (ls, fs) = selectors(q)?;
    let (start_after, at) = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => {
            let (rv, key) = decode_continue(c)
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            (Some(key), Some(rv))
        }
        None => (None, at),
    };
    let (items, rv) = match at {
        None => sim.store.list(&res.qualified_plural(), ns),
        Some(at) => sim
            .store
            .list_at(&res.qualified_plural(), ns, at)
            .map_err(|e| match (e, q.contains_key("continue")) {
                (StoreError::Gone { .. }, true) => ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ),
                (StoreError::Gone { .. }, false) => {
                    ApiError::gone("The resourceVersion for the provided list is too old.")
                }
                (e, _) => store_err(res, "", e),
            })?,
    };
    let mut matching = items.iter().filter(|o| ls.matches(o) && fs.matches(o));
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
        meta["continue"] = json!(encode_continue(rv, &key_of(last)));
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

/// A continue token: the snapshot's version and the last key served.
pub(super) fn encode_continue(rv: u64, key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{rv}\n{key}"))
}

pub(super) fn decode_continue(c: &str) -> Option<(u64, String)> {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    let (rv, key) = text.split_once('\n')?;
    Some((rv.parse().ok()?, key.to_owned()))
}
