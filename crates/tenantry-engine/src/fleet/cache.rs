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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;
use tenantry_core::ClientId;
use tenantry_core::fleet::{EnvView, Expectation, LiveObject, assess, slim};
use tenantry_kube::{Change, Cluster, ListSpec, Op};
use tenantry_store::{Catalog, RunBrief};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use super::{Desired, FleetRow, KINDS, client_of, kind_list, pod_list, revisions_in, states_in};
use crate::exec::watch::{too_new, version_of};

/// Which list a watch keeps: one of [`KINDS`] (by index), or the pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    Kind(usize),
    Pods,
}

/// What changed in the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetChange {
    pub namespace: String,
    /// `None`: many environments at once (a list, a refresh).
    pub client: Option<ClientId>,
}

/// A namespace's watches, as `/metrics` and the fleet page tell them.
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

#[derive(Default)]
struct NsCache {
    /// (kind index, name) → (client, slim object as compact JSON).
    objects: HashMap<(usize, String), (ClientId, Held)>,
    by_client: HashMap<ClientId, BTreeSet<(usize, String)>>,
    pods: HashMap<String, Held>,
    /// `key=value` of each pod label → pod names.
    pod_index: HashMap<String, BTreeSet<String>>,
    /// The first `key=value` of each Deployment's selector → its clients: whose views a
    /// pod's change touches.
    selectors: HashMap<String, BTreeSet<ClientId>>,
    desired: HashMap<ClientId, HeldDesired>,
    states: HashMap<ClientId, Expectation>,
    runs: HashMap<ClientId, RunBrief>,
    /// Each environment's verdict; the full view is judged again when asked for.
    views: HashMap<ClientId, Summary>,
    dirty: HashSet<ClientId>,
    /// Every view is stale (after a list).
    all_dirty: bool,
    synced: BTreeSet<Source>,
    error: Option<String>,
}

/// An object kept as compact JSON text: a fraction of a parsed tree's memory, parsed
/// again when its environment is judged.
type Held = Box<str>;

fn hold(v: &Value) -> Held {
    serde_json::to_string(v)
        .unwrap_or_default()
        .into_boxed_str()
}

fn open(h: &str) -> Value {
    serde_json::from_str(h).unwrap_or(Value::Null)
}

/// What an environment should be, held compactly.
struct HeldDesired {
    revision: Option<i64>,
    image: Option<String>,
    /// The rendered objects, a JSON array.
    manifests: Held,
    expect: Expectation,
}

impl From<Desired> for HeldDesired {
    fn from(d: Desired) -> Self {
        Self {
            revision: d.revision,
            image: d.image,
            manifests: hold(&Value::Array(d.manifests)),
            expect: d.expect,
        }
    }
}

/// An environment's verdict, as rows show it.
struct Summary {
    health: tenantry_core::health::EnvHealth,
    reason: String,
    decided_by: String,
    drifted: bool,
    out_of_sync: usize,
}

impl Summary {
    fn of(v: &EnvView) -> Self {
        Self {
            health: v.health,
            reason: v.reason.clone(),
            decided_by: v.decided_by.clone(),
            drifted: v.drifted,
            out_of_sync: v
                .objects
                .iter()
                .filter(|o| o.sync != tenantry_core::fleet::SyncState::InSync)
                .count(),
        }
    }
}

fn labels(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
}

fn name(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The first `key=value` of a Deployment's `matchLabels`: how its pods are found.
fn selector_key(dep: &Value) -> Option<String> {
    dep.pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .and_then(|m| m.iter().next())
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
}

fn kind_index(kind: &str) -> usize {
    KINDS
        .iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(usize::MAX)
}

impl NsCache {
    /// Marks stale the views of the clients a pod may belong to.
    fn touch_pod(&mut self, pod: &Value) {
        let job = kind_index("Job");
        for l in labels(pod) {
            if let Some(clients) = self.selectors.get(&l) {
                self.dirty.extend(clients.iter().copied());
            }
            if let Some(j) = l.strip_prefix("job-name=")
                && let Some((c, _)) = self.objects.get(&(job, j.to_owned()))
            {
                self.dirty.insert(*c);
            }
        }
    }

    fn index_pod(&mut self, pod: &Value, add: bool) {
        let n = name(pod);
        for l in labels(pod) {
            let set = self.pod_index.entry(l.clone()).or_default();
            if add {
                set.insert(n.clone());
            } else {
                set.remove(&n);
                if set.is_empty() {
                    self.pod_index.remove(&l);
                }
            }
        }
    }

    /// Drops a pod from the index, marking stale the views that selected it.
    fn forget_pod(&mut self, n: &str) {
        if let Some(old) = self.pods.remove(n) {
            let old = open(&old);
            self.index_pod(&old, false);
            self.touch_pod(&old);
        }
    }

    fn remove_object(&mut self, kind: usize, n: &str) {
        if let Some((c, old)) = self.objects.remove(&(kind, n.to_owned())) {
            if let Some(set) = self.by_client.get_mut(&c) {
                set.remove(&(kind, n.to_owned()));
            }
            if kind == kind_index("Deployment")
                && let Some(key) = selector_key(&open(&old))
                && let Some(set) = self.selectors.get_mut(&key)
            {
                set.remove(&c);
                if set.is_empty() {
                    self.selectors.remove(&key);
                }
            }
            self.dirty.insert(c);
        }
    }

    /// An object as a watch or list says it is now. A pod's change marks stale only
    /// the views of the clients whose Deployments or Jobs select it.
    fn upsert(&mut self, source: Source, obj: &Value) {
        let n = name(obj);
        match source {
            Source::Pods => {
                self.forget_pod(&n);
                let s = slim("Pod", obj);
                self.index_pod(&s, true);
                self.touch_pod(&s);
                self.pods.insert(n, hold(&s));
            }
            Source::Kind(k) => {
                self.remove_object(k, &n);
                if let Some(c) = client_of(obj) {
                    if KINDS[k].0 == "Deployment"
                        && let Some(key) = selector_key(obj)
                    {
                        self.selectors.entry(key).or_default().insert(c);
                    }
                    self.objects
                        .insert((k, n.clone()), (c, hold(&slim(KINDS[k].0, obj))));
                    self.by_client.entry(c).or_default().insert((k, n));
                    self.dirty.insert(c);
                }
            }
        }
    }

    fn delete(&mut self, source: Source, obj: &Value) {
        let n = name(obj);
        match source {
            Source::Pods => self.forget_pod(&n),
            Source::Kind(k) => self.remove_object(k, &n),
        }
    }

    fn replace(&mut self, source: Source, items: &[Held]) {
        match source {
            Source::Pods => {
                self.pods.clear();
                self.pod_index.clear();
            }
            Source::Kind(k) => {
                let names: Vec<String> = self
                    .objects
                    .keys()
                    .filter(|(kind, _)| *kind == k)
                    .map(|(_, n)| n.clone())
                    .collect();
                for n in names {
                    self.remove_object(k, &n);
                }
            }
        }
        for o in items {
            self.upsert(source, &open(o));
        }
        self.synced.insert(source);
        self.all_dirty = true;
    }

    /// The pods that may be `client`'s: those with a label its Deployments select on
    /// or its Jobs' `job-name`.
    fn candidate_pods(&self, live: &[LiveObject]) -> Vec<Value> {
        let mut names = BTreeSet::new();
        for o in live {
            let key = match o.kind.as_str() {
                "Deployment" => o
                    .object
                    .pointer("/spec/selector/matchLabels")
                    .and_then(Value::as_object)
                    .and_then(|m| m.iter().next())
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
                "Job" => Some(format!("job-name={}", o.name())),
                _ => None,
            };
            if let Some(set) = key.and_then(|k| self.pod_index.get(&k)) {
                names.extend(set.iter().cloned());
            }
        }
        names
            .into_iter()
            .filter_map(|n| self.pods.get(&n).map(|p| open(p)))
            .collect()
    }

    fn judge(&self, client: ClientId) -> Option<EnvView> {
        let live: Vec<LiveObject> = self
            .by_client
            .get(&client)
            .into_iter()
            .flatten()
            .filter_map(|key| {
                let (_, obj) = self.objects.get(key)?;
                Some(LiveObject {
                    kind: KINDS[key.0].0.to_owned(),
                    object: open(obj),
                })
            })
            .collect();
        let desired = self.desired.get(&client);
        // Deployed without a revision read yet: nothing to compare with (yet).
        let expect = match (self.states.get(&client).copied(), desired) {
            (Some(Expectation::Absent), _) => Expectation::Absent,
            (Some(s), Some(_)) => s,
            (None, Some(d)) => d.expect,
            (_, None) => Expectation::Unrecorded,
        };
        if live.is_empty() && desired.is_none() {
            return None;
        }
        let pods = self.candidate_pods(&live);
        let manifests = match desired.map(|d| open(&d.manifests)) {
            Some(Value::Array(m)) => m,
            _ => Vec::new(),
        };
        Some(assess(&manifests, expect, &live, &pods))
    }

    fn clients(&self) -> BTreeSet<ClientId> {
        self.desired
            .keys()
            .chain(
                self.by_client
                    .iter()
                    .filter(|(_, s)| !s.is_empty())
                    .map(|(c, _)| c),
            )
            .copied()
            .collect()
    }

    /// Judges again what changed.
    fn refresh(&mut self) {
        if !self.all_dirty && self.dirty.is_empty() {
            return;
        }
        let stale: Vec<ClientId> = if self.all_dirty {
            self.views.clear();
            self.clients().into_iter().collect()
        } else {
            self.dirty.iter().copied().collect()
        };
        for c in stale {
            match self.judge(c) {
                Some(v) => {
                    self.views.insert(c, Summary::of(&v));
                }
                None => {
                    self.views.remove(&c);
                }
            }
        }
        self.dirty.clear();
        self.all_dirty = false;
    }

    fn row(&self, client: ClientId, ns: &str) -> Option<FleetRow> {
        let v = self.views.get(&client)?;
        let d = self.desired.get(&client);
        Some(FleetRow {
            client,
            namespace: ns.to_owned(),
            health: v.health,
            reason: v.reason.clone(),
            decided_by: v.decided_by.clone(),
            drifted: v.drifted,
            out_of_sync: v.out_of_sync,
            revision: d.and_then(|d| d.revision),
            image: d.and_then(|d| d.image.clone()),
            last_run: self.runs.get(&client).cloned(),
        })
    }
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

fn spawn_watches(
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

/// Revisions opened at a time when the cache reads what environments should be.
const REVISIONS_PER_BATCH: usize = 500;

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
