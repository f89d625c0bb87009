//! Lists kept current by watches, and shared between the steps of a wave: a
//! [`Watched`] list follows one watch (resuming from the last version, listing again
//! when the version is too old or newer than the server has, polling a cluster that
//! refuses to watch); a [`Shared`] list is kept by one [`pump`] and read by every step
//! that waits on it through a [`Feed`], so no step waits on another's lock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tenantry_kube::{Change, ChangeStream, KubeError, ListSpec, Op};

use super::Ctx;

pub(crate) fn version_of(v: &Value) -> String {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

pub(crate) fn name_of(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The objects of one list, kept current by a watch that resumes from the last version
/// seen. One request opens it, however long it stays open.
pub(crate) struct Watched {
    pub(crate) list: ListSpec,
    objects: BTreeMap<String, Value>,
    version: String,
    stream: Option<ChangeStream>,
    polling: bool,
    /// Openings that failed in a row: past the cluster's retry budget, the last failure
    /// is the verdict.
    failures: u32,
}

/// What a [`Watched`] list heard next.
pub(crate) enum Event {
    /// A tick passed.
    Nothing,
    /// The watch ended.
    Closed,
    /// Polling: time to list again.
    Poll,
    Change(Change),
}

/// A watch from a version the server has not reached: it lost its state.
pub(crate) fn too_new(e: &KubeError) -> bool {
    matches!(e, KubeError::Api(a) if a.code == 504 && a.message.to_lowercase().contains("too large resource version"))
}

impl Watched {
    pub(crate) fn new(list: ListSpec, objects: impl IntoIterator<Item = Value>) -> Self {
        Self {
            list,
            objects: objects.into_iter().map(|o| (name_of(&o), o)).collect(),
            version: String::new(),
            stream: None,
            polling: false,
            failures: 0,
        }
    }

    /// From a list response.
    pub(crate) fn from_list(list: ListSpec, answer: &Value) -> Self {
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        Self {
            version: version_of(answer),
            ..Self::new(list, items)
        }
    }

    pub(crate) async fn list(ctx: &Ctx<'_>, list: ListSpec) -> Result<Self, String> {
        let answer = ctx
            .cluster
            .call(Op::List(&list))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self::from_list(list, &answer))
    }

    pub(crate) fn items(&self) -> Vec<&Value> {
        let mut v: Vec<&Value> = self.objects.values().collect();
        v.sort_by_key(|o| {
            (
                o.pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                name_of(o),
            )
        });
        v
    }

    /// Opens the watch if it is not open. Done outside any `select!`, so an open watch
    /// is never dropped half-recorded. A transient failure is tried again at the next
    /// tick, until the cluster's retry budget is spent; a watch from a version the
    /// server no longer (or not yet) has lists again: `true` then, the objects having
    /// changed.
    pub(crate) async fn open(&mut self, ctx: &Ctx<'_>) -> Result<bool, String> {
        if self.stream.is_some() || self.polling {
            return Ok(false);
        }
        match ctx
            .cluster
            .watch(&self.list, &self.version, self.failures)
            .await
        {
            Ok(s) => {
                self.stream = Some(s);
                self.failures = 0;
            }
            Err(w) if too_new(&w.error) || w.error.code() == Some(410) => {
                *self = Self::list(ctx, self.list.clone()).await?;
                return Ok(true);
            }
            Err(w) if w.error.is_transient() => {
                self.failures += 1;
                let Some(wait) = w.retry_in else {
                    return Err(format!(
                        "cannot watch {}: {} ({} tries)",
                        self.list.path(),
                        w.error,
                        self.failures
                    ));
                };
                tokio::time::sleep(wait).await;
            }
            Err(w) => {
                tracing::info!(path = %self.list.path(), "cannot watch, polling instead: {}", w.error);
                self.polling = true;
            }
        }
        Ok(false)
    }

    /// Waits up to `tick` for what comes next (the watch must be open). Cancel-safe:
    /// nothing is sent, and nothing received is lost if it is dropped.
    pub(crate) async fn next_event(&mut self, tick: Duration) -> Event {
        use futures_util::StreamExt;
        if self.polling {
            tokio::time::sleep(tick).await;
            return Event::Poll;
        }
        let Some(stream) = self.stream.as_mut() else {
            tokio::time::sleep(tick).await;
            return Event::Nothing;
        };
        match tokio::time::timeout(tick, stream.next()).await {
            Err(_) => Event::Nothing,
            Ok(None | Some(Err(_))) => Event::Closed,
            Ok(Some(Ok(change))) => Event::Change(change),
        }
    }

    /// Takes in what [`next_event`](Self::next_event) gave (listing again when the
    /// watch's version is too old, or when polling); says whether the objects changed.
    pub(crate) async fn take_in(&mut self, ctx: &Ctx<'_>, event: Event) -> Result<bool, String> {
        match event {
            Event::Nothing => Ok(false),
            Event::Closed => {
                // Closed by the server or the network: resume from the last version.
                self.stream = None;
                Ok(false)
            }
            Event::Poll => {
                *self = Self {
                    polling: true,
                    ..Self::list(ctx, self.list.clone()).await?
                };
                Ok(true)
            }
            Event::Change(Change::Upsert(o)) => {
                self.version = version_of(&o);
                self.objects.insert(name_of(&o), o);
                Ok(true)
            }
            Event::Change(Change::Deleted(o)) => {
                self.version = version_of(&o);
                self.objects.remove(&name_of(&o));
                Ok(true)
            }
            Event::Change(Change::Bookmark(v)) => {
                self.version = v;
                Ok(false)
            }
            Event::Change(Change::Gone) => {
                *self = Self::list(ctx, self.list.clone()).await?;
                Ok(true)
            }
        }
    }

    pub(crate) async fn next(&mut self, ctx: &Ctx<'_>, tick: Duration) -> Result<(), String> {
        if self.open(ctx).await? {
            return Ok(());
        }
        let event = self.next_event(tick).await;
        self.take_in(ctx, event).await.map(drop)
    }
}

/// The objects of a shared list as last seen, or why it could not be kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    objects: Arc<Vec<Value>>,
    error: Option<String>,
}

impl Snapshot {
    fn of(w: &Watched) -> Self {
        Self {
            objects: Arc::new(w.items().into_iter().cloned().collect()),
            error: None,
        }
    }
}

/// A list several steps of a wave wait on. One [`pump`] keeps it current from the
/// first time a step wants a change; every step reads the newest [`Snapshot`].
pub(crate) struct Shared {
    tx: tokio::sync::watch::Sender<Snapshot>,
    pub(crate) wanted: tokio::sync::Notify,
}

/// One step's view of a [`Shared`] list.
pub(crate) struct Feed {
    pub(crate) shared: Arc<Shared>,
    pub(crate) rx: tokio::sync::watch::Receiver<Snapshot>,
}

impl Feed {
    /// The newest snapshot, marked seen.
    pub(crate) fn snapshot(&mut self) -> Result<Arc<Vec<Value>>, String> {
        let s = self.rx.borrow_and_update();
        match &s.error {
            Some(e) => Err(e.clone()),
            None => Ok(s.objects.clone()),
        }
    }
}

/// A shared list and the watch that will keep it current.
pub(crate) type Pump = (Arc<Shared>, Watched);

impl Shared {
    /// A list starting as `w` holds it now.
    pub(crate) fn new(w: &Watched) -> Arc<Self> {
        Arc::new(Self {
            tx: tokio::sync::watch::channel(Snapshot::of(w)).0,
            wanted: tokio::sync::Notify::new(),
        })
    }

    /// A step's view of the list.
    pub(crate) fn feed(self: &Arc<Self>) -> Feed {
        Feed {
            shared: self.clone(),
            rx: self.tx.subscribe(),
        }
    }
}

/// Keeps a shared list current, from the first time a step wants a change until
/// `stop`. A watch being opened is opened and recorded before it stops; a failure to
/// keep the list is published for the steps to report.
pub(crate) async fn pump(
    ctx: &Ctx<'_>,
    shared: &Shared,
    mut w: Watched,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let tick = ctx.opts.poll;
    tokio::select! {
        _ = stop.wait_for(|s| *s) => return,
        () = shared.wanted.notified() => {}
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let opened = w.open(ctx).await;
        let taken = match opened {
            Err(e) => Err(e),
            Ok(true) => Ok(true),
            Ok(false) => {
                let event = tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    e = w.next_event(tick) => e,
                };
                w.take_in(ctx, event).await
            }
        };
        match taken {
            Ok(true) => {
                shared.tx.send_replace(Snapshot::of(&w));
            }
            Ok(false) => {}
            Err(e) => {
                shared.tx.send_modify(|s| s.error = Some(e));
                let _ = stop.wait_for(|s| *s).await;
                return;
            }
        }
    }
}
