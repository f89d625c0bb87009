//! The watch tasks: each keeps one list of a namespace current in the cache.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tenantry_core::fleet::slim;
use tenantry_kube::{Change, Cluster, ListSpec, Op};
use tokio::task::JoinHandle;

use super::super::{KINDS, client_of, kind_list, pod_list};
use super::Inner;
use super::held::{Held, Source, hold};
use crate::exec::watch::{too_new, version_of};

pub(super) fn spawn_watches(
    inner: &Arc<Inner>,
    ns: &str,
    k8s_ns: &str,
    cluster: &Cluster,
) -> Vec<JoinHandle<()>> {
    let sources = (0..KINDS.len())
        .map(|k| (Source::Kind(k), kind_list(KINDS[k].1, k8s_ns)))
        .chain([(Source::Pods, pod_list(k8s_ns))]);
    sources
        .map(|(source, list)| {
            let weak = Arc::downgrade(inner);
            let (ns, cluster) = (ns.to_owned(), cluster.clone());
            tokio::spawn(async move { follow(weak, ns, source, list, cluster).await })
        })
        .collect()
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << failures.min(7))).min(Duration::from_secs(30))
}

/// Objects per page of a list: a namespace of ten thousand environments is never one
/// answer held whole in memory.
const PAGE: u32 = 500;

/// The whole list, page by page, each object slimmed and held as it comes (never the
/// whole list parsed at once); and the version of
/// the list (its first page's: the snapshot the pages continue).
async fn list_in_pages(
    cluster: &Cluster,
    list: &ListSpec,
    source: Source,
) -> Result<(Vec<Held>, String), tenantry_kube::KubeError> {
    let kind = match source {
        Source::Kind(k) => KINDS[k].0,
        Source::Pods => "Pod",
    };
    let (mut items, mut version, mut next) = (Vec::new(), None, None);
    loop {
        let page = list.clone().page(PAGE, next.take());
        let answer = cluster.call(Op::List(&page)).await?;
        version.get_or_insert_with(|| version_of(&answer));
        items.extend(
            answer["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| hold(&slim(kind, o))),
        );
        match answer
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
        {
            Some(c) => next = Some(c.to_owned()),
            None => return Ok((items, version.unwrap_or_default())),
        }
    }
}

/// Keeps one list current: list, watch from its version, resume, list again on 410.
async fn follow(
    inner: std::sync::Weak<Inner>,
    ns: String,
    source: Source,
    list: ListSpec,
    cluster: Cluster,
) {
    let mut failures = 0u32;
    let mut listed_before = false;
    'list: loop {
        let (items, mut version) = match list_in_pages(&cluster, &list, source).await {
            Ok(a) => a,
            Err(e) => {
                let Some(i) = inner.upgrade() else { return };
                i.with_ns(&ns, |c| c.error = Some(e.to_string()));
                drop(i);
                failures += 1;
                tokio::time::sleep(backoff(failures)).await;
                continue;
            }
        };
        {
            let Some(i) = inner.upgrade() else { return };
            if listed_before {
                i.relists.fetch_add(1, Ordering::Relaxed);
            }
            listed_before = true;
            i.with_ns(&ns, |c| {
                c.replace(source, &items);
                c.error = None;
            });
            i.tell(&ns, None);
        }
        loop {
            match cluster.watch(&list, &version, failures).await {
                Ok(mut stream) => {
                    failures = 0;
                    while let Some(event) = stream.next().await {
                        let Some(i) = inner.upgrade() else { return };
                        match event {
                            Ok(Change::Upsert(o)) => {
                                version = version_of(&o);
                                let client = client_of(&o);
                                i.with_ns(&ns, |c| c.upsert(source, &o));
                                i.tell(&ns, client);
                            }
                            Ok(Change::Deleted(o)) => {
                                version = version_of(&o);
                                let client = client_of(&o);
                                i.with_ns(&ns, |c| c.delete(source, &o));
                                i.tell(&ns, client);
                            }
                            Ok(Change::Bookmark(v)) => version = v,
                            Ok(Change::Gone) => continue 'list,
                            Err(e) => {
                                tracing::debug!(%ns, "a fleet watch broke: {e}");
                                break;
                            }
                        }
                    }
                    let Some(i) = inner.upgrade() else { return };
                    i.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                Err(w) if w.error.code() == Some(410) || too_new(&w.error) => continue 'list,
                Err(w) => {
                    failures += 1;
                    if let Some(i) = inner.upgrade() {
                        i.with_ns(&ns, |c| c.error = Some(w.error.to_string()));
                    }
                    tokio::time::sleep(w.retry_in.unwrap_or_else(|| backoff(failures))).await;
                    if failures > 8 {
                        continue 'list;
                    }
                }
            }
        }
    }
}
