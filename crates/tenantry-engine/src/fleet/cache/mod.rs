//! The live fleet, for a server: per namespace target, one watch per kind (selected on
//! the client label) and one of pods keep a slim copy of every object in memory, in the
//! manner of kube-runtime's reflector: list, then watch from the list's version,
//! resume from the last version seen when a watch ends, list again when the server
//! says the version is gone (410) or not reached. Our own watch is used rather than
//! kube-runtime so every opening goes through `Cluster` (its retry policy, its errors).
//! A change marks its client's view stale; views are judged again (core's pure rules)
//! when read, and a broadcast tells listeners (the fleet page's SSE) what changed.
//! What environments should be (revisions, states, last runs) is read from the
//! catalog every few seconds, or at once when nudged after a run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Serialize;
use tenantry_core::ClientId;
use tenantry_core::fleet::EnvView;
use tenantry_kube::Cluster;
use tenantry_store::{Catalog, RunBrief};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use super::{FleetRow, KINDS, revisions_in, states_in};
mod follow;
mod held;

use follow::spawn_watches;
use held::{HeldDesired, NsCache};

/// What changed in the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetChange {
    pub namespace: String,
    /// `None`: many environments at once (a list, a refresh).
    pub client: Option<ClientId>,
}

/// A namespace's watches, as `/metrics` and the fleet page tell them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct NsStatus {
    pub namespace: String,
    /// Every list has been read once.
    pub synced: bool,
    pub objects: usize,
    pub pods: usize,
    /// The bytes of what is held for it: objects, pods and revisions as compact JSON.
    pub bytes: usize,
    /// The last failure to list or watch, while it lasts.
    pub error: Option<String>,
}

/// A namespace's watch tasks and the fingerprint of the target they were started for.
type Watchers = (u64, Vec<JoinHandle<()>>);

struct Inner {
    catalog: Catalog,
    namespaces: RwLock<BTreeMap<String, NsCache>>,
    changes: broadcast::Sender<FleetChange>,
    nudge: Notify,
    /// Per namespace: what its watches were started with, and the tasks.
    watchers: Mutex<HashMap<String, Watchers>>,
    reconnects: AtomicU64,
    relists: AtomicU64,
    refresh_every: Duration,
}

/// The fleet kept live from watches. Cheap to clone; the tasks stop when the last
/// clone is dropped.
#[derive(Clone)]
pub struct FleetCache {
    inner: Arc<Inner>,
    _guard: Arc<Guard>,
}

impl std::fmt::Debug for FleetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetCache")
            .field("namespaces", &self.status())
            .finish_non_exhaustive()
    }
}

struct Guard(JoinHandle<()>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(w) = self.watchers.get_mut() {
            for (_, (_, tasks)) in w.drain() {
                tasks.iter().for_each(JoinHandle::abort);
            }
        }
    }
}

impl FleetCache {
    /// Starts watching every namespace target of the catalog (and those added later).
    pub fn start(catalog: Catalog, refresh_every: Duration) -> Self {
        let inner = Arc::new(Inner {
            catalog,
            namespaces: RwLock::new(BTreeMap::new()),
            changes: broadcast::channel(1024).0,
            nudge: Notify::new(),
            watchers: Mutex::new(HashMap::new()),
            reconnects: AtomicU64::new(0),
            relists: AtomicU64::new(0),
            refresh_every,
        });
        // The supervisor holds the cache; the guard stops it when the last clone goes.
        let held = inner.clone();
        let supervisor = tokio::spawn(async move {
            loop {
                if let Err(e) = supervise(&held).await {
                    tracing::warn!("the fleet view could not read the catalog: {e}");
                }
                tokio::select! {
                    () = held.nudge.notified() => {}
                    () = tokio::time::sleep(held.refresh_every) => {}
                }
            }
        });
        Self {
            inner,
            _guard: Arc::new(Guard(supervisor)),
        }
    }

    /// Reads the catalog again now (after a run ended, a namespace changed).
    pub fn nudge(&self) {
        self.inner.nudge.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FleetChange> {
        self.inner.changes.subscribe()
    }

    /// Every environment of every namespace, by namespace and client.
    pub fn rows(&self) -> Vec<FleetRow> {
        self.refresh_all();
        let map = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner());
        map.iter()
            .flat_map(|(ns, c)| {
                let mut clients: Vec<&ClientId> = c.views.keys().collect();
                clients.sort_unstable();
                clients
                    .into_iter()
                    .filter_map(|client| c.row(*client, ns))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// One environment: its row and its view (unmasked: mask before showing).
    pub fn environment(&self, client: ClientId, ns: &str) -> Option<(FleetRow, Arc<EnvView>)> {
        self.refresh_all();
        let map = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let c = map.get(ns)?;
        let view = c.judge(client)?;
        Some((c.row(client, ns)?, Arc::new(view)))
    }

    pub fn status(&self) -> Vec<NsStatus> {
        let map = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(ns, c)| NsStatus {
                namespace: ns.clone(),
                synced: c.synced.len() == KINDS.len() + 1,
                objects: c.objects.len(),
                pods: c.pods.len(),
                bytes: c.objects.values().map(|(_, h)| h.len()).sum::<usize>()
                    + c.pods.values().map(|h| h.len()).sum::<usize>()
                    + c.desired.values().map(|d| d.manifests.len()).sum::<usize>(),
                error: c.error.clone(),
            })
            .collect()
    }

    /// Watches that ended and were opened again, and lists read again (after a 410).
    pub fn reconnects(&self) -> (u64, u64) {
        (
            self.inner.reconnects.load(Ordering::Relaxed),
            self.inner.relists.load(Ordering::Relaxed),
        )
    }

    fn refresh_all(&self) {
        let mut map = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner());
        map.values_mut().for_each(NsCache::refresh);
    }
}

impl Inner {
    fn with_ns(&self, ns: &str, f: impl FnOnce(&mut NsCache)) {
        let mut map = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get_mut(ns) {
            f(c);
        }
    }

    fn tell(&self, namespace: &str, client: Option<ClientId>) {
        let _ = self.changes.send(FleetChange {
            namespace: namespace.to_owned(),
            client,
        });
    }
}

/// What a namespace's watches depend on: if it changes, they start again.
fn fingerprint(n: &tenantry_store::Namespace) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    n.k8s_namespace.as_str().hash(&mut h);
    n.api_root_url.as_str().hash(&mut h);
    n.token.expose_secret().hash(&mut h);
    n.ca_bundle
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .hash(&mut h);
    h.finish()
}

/// One round of the supervisor: watches for every namespace target (started, restarted
/// when its target changed, stopped when it went), and what each environment should be.
async fn supervise(inner: &Arc<Inner>) -> Result<(), crate::deploy::DeployError> {
    let namespaces = inner.catalog.namespaces().await?;
    {
        let mut watchers = inner.watchers.lock().unwrap_or_else(|e| e.into_inner());
        let names: HashSet<&str> = namespaces.iter().map(|n| n.name.as_str()).collect();
        watchers.retain(|ns, (_, tasks)| {
            let keep = names.contains(ns.as_str());
            if !keep {
                tasks.iter().for_each(JoinHandle::abort);
                inner
                    .namespaces
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(ns);
            }
            keep
        });
        for n in &namespaces {
            let print = fingerprint(n);
            let ns = n.name.as_str().to_owned();
            if watchers.get(&ns).is_some_and(|(p, _)| *p == print) {
                continue;
            }
            if let Some((_, tasks)) = watchers.remove(&ns) {
                tasks.iter().for_each(JoinHandle::abort);
            }
            inner
                .namespaces
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(ns.clone(), NsCache::default());
            let tasks = match Cluster::connect(&n.api_root_url, &n.token, n.ca_bundle.as_ref()) {
                Ok(cluster) => spawn_watches(inner, &ns, n.k8s_namespace.as_str(), &cluster),
                Err(e) => {
                    inner.with_ns(&ns, |c| c.error = Some(e.to_string()));
                    Vec::new()
                }
            };
            watchers.insert(ns, (print, tasks));
        }
    }
    for n in &namespaces {
        let ns = n.name.as_str();
        let known: HashMap<ClientId, i64> = {
            let map = inner.namespaces.read().unwrap_or_else(|e| e.into_inner());
            map.get(ns)
                .map(|c| {
                    c.desired
                        .iter()
                        .filter_map(|(k, d)| Some((*k, d.revision?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let states = states_in(&inner.catalog, ns).await?;
        // Revisions are opened a batch at a time and held compactly at once, so ten
        // thousand of them never sit parsed in memory together.
        let mut known = known;
        let mut fresh = Vec::new();
        loop {
            let batch = revisions_in(&inner.catalog, ns, &known, REVISIONS_PER_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for (client, d) in batch {
                if let Some(n) = d.revision {
                    known.insert(client, n);
                }
                fresh.push((client, HeldDesired::from(d)));
            }
        }
        let runs: HashMap<ClientId, RunBrief> = inner
            .catalog
            .latest_runs_in(ns)
            .await?
            .into_iter()
            .collect();
        let mut changed = Vec::new();
        inner.with_ns(ns, |c| {
            for (client, d) in fresh {
                c.desired.insert(client, d);
                changed.push(client);
            }
            for (client, s) in &states {
                if c.states.get(client) != Some(s) {
                    changed.push(*client);
                }
                if let Some(d) = c.desired.get_mut(client) {
                    d.expect = *s;
                }
            }
            for (client, r) in &runs {
                let same = c
                    .runs
                    .get(client)
                    .is_some_and(|o| o.id == r.id && o.status == r.status);
                if !same {
                    changed.push(*client);
                }
            }
            c.states = states;
            c.runs = runs;
            c.dirty.extend(changed.iter().copied());
        });
        changed.sort_unstable();
        changed.dedup();
        for client in changed {
            inner.tell(ns, Some(client));
        }
    }
    Ok(())
}

/// Revisions opened at a time when the cache reads what environments should be.
const REVISIONS_PER_BATCH: usize = 500;
