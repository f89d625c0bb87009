//! `watch`: from a resource version or the current state, with selectors (entering and
//! leaving them), bookmarks, streaming lists and `410 Gone`.

// The verbs share the module's imports and helpers.
use super::*;

pub(super) fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// The event a watch with selectors sends for a change, as the API server's watch cache
/// decides it: an object entering the selection is ADDED, one leaving it is DELETED (with
/// its previous content at the new resource version), one outside it is not sent.
pub(super) fn selected_event(c: &Change, passes: &impl Fn(&Value) -> bool) -> Option<Bytes> {
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

pub(super) async fn watch(
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
        reached(sim, rv).await?;
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
    let ended = sim.watch_epoch.subscribe();
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
        let mut epoch = ended;
        epoch.mark_unchanged();
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
                _ = epoch.changed() => return,
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
