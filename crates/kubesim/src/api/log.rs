//! `GET …/pods/NAME/log`: a container's log, whole or followed.

// The verbs share the module's imports and helpers.
use super::*;
use crate::logs::{Query, container, limit};

fn first_container(pod: &Value) -> Option<String> {
    pod.pointer("/spec/containers/0/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub(super) async fn pod_log(
    sim: &Arc<Shared>,
    ns: &str,
    name: &str,
    q: &HashMap<String, String>,
) -> ApiResult {
    let pod = get(sim, resources::PODS, ns, name)?;
    let query = Query::parse(q, |k| query_bool(q, k))?;
    let lead = crate::controllers::lead_of(&pod, &sim.scenarios());
    let (_, written) = container(&pod, q.get("container").map(String::as_str), lead)?;
    let text_plain = [(header::CONTENT_TYPE, "text/plain")];
    if !written {
        // The kubelet writes the lead container's log: the others have written nothing.
        return Ok((StatusCode::OK, text_plain, String::new()).into_response());
    }
    if query_bool(q, "previous") {
        let Some(text) = sim.logs.read_previous(ns, name, &query) else {
            let c = q.get("container").map_or_else(
                || first_container(&pod).unwrap_or_default(),
                String::to_owned,
            );
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{c}\" in pod \"{name}\" not found"
            )));
        };
        let text = limit(&text, query.limit_bytes).to_owned();
        return Ok((StatusCode::OK, text_plain, text).into_response());
    }
    let text = sim.logs.read(ns, name, 0, &query);
    if !query.follow {
        let text = limit(&text, query.limit_bytes).to_owned();
        return Ok((StatusCode::OK, text_plain, text).into_response());
    }
    // Follow: what there is, then each new line, until the pod's containers have ended,
    // the pod is gone, the byte limit is reached or the client leaves.
    let (tx, out) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(64);
    let sim = Arc::clone(sim);
    let (ns, name) = (ns.to_owned(), name.to_owned());
    tokio::spawn(async move {
        let mut budget = query.limit_bytes.unwrap_or(usize::MAX);
        let mut from = sim.logs.len(&ns, &name);
        let send = |text: String, budget: &mut usize| {
            let part = limit(&text, Some(*budget)).to_owned();
            *budget -= part.len();
            part
        };
        let first = send(text, &mut budget);
        if !first.is_empty() && tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        let key = Key::new(resources::PODS, &ns, &name);
        loop {
            let pod = sim.store.get(&key);
            let ended = pod.as_ref().is_none_or(|p| {
                matches!(
                    p.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                )
            });
            let now = sim.logs.len(&ns, &name);
            if now > from {
                let rest = Query {
                    tail_lines: None,
                    since_seconds: None,
                    ..query.clone()
                };
                let more = send(sim.logs.read(&ns, &name, from, &rest), &mut budget);
                from = now;
                if !more.is_empty() && tx.send(Ok(Bytes::from(more))).await.is_err() {
                    return;
                }
            }
            if ended || budget == 0 || tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain"),
            (header::TRANSFER_ENCODING, "chunked"),
        ],
        Body::from_stream(ReceiverStream::new(out)),
    )
        .into_response())
}
