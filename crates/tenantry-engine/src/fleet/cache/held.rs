//! What the cache holds of one namespace, and how it judges an environment from it:
//! every object as compact JSON, indexed by client, pods indexed by label, what each
//! environment should be, and each environment's verdict, marked stale by changes.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;
use tenantry_core::ClientId;
use tenantry_core::fleet::{EnvView, Expectation, LiveObject, assess, slim};
use tenantry_store::RunBrief;

use super::super::{Desired, FleetRow, KINDS, client_of};
use crate::exec::watch::name_of;

/// Which list a watch keeps: one of [`KINDS`] (by index), or the pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Source {
    Kind(usize),
    Pods,
}

#[derive(Default)]
pub(super) struct NsCache {
    /// (kind index, name) → (client, slim object as compact JSON).
    pub(super) objects: HashMap<(usize, String), (ClientId, Held)>,
    pub(super) by_client: HashMap<ClientId, BTreeSet<(usize, String)>>,
    pub(super) pods: HashMap<String, Held>,
    /// `key=value` of each pod label → pod names.
    pub(super) pod_index: HashMap<String, BTreeSet<String>>,
    /// The first `key=value` of each Deployment's selector → its clients: whose views a
    /// pod's change touches.
    pub(super) selectors: HashMap<String, BTreeSet<ClientId>>,
    pub(super) desired: HashMap<ClientId, HeldDesired>,
    pub(super) states: HashMap<ClientId, Expectation>,
    pub(super) runs: HashMap<ClientId, RunBrief>,
    /// Each environment's verdict; the full view is judged again when asked for.
    pub(super) views: HashMap<ClientId, Summary>,
    pub(super) dirty: HashSet<ClientId>,
    /// Every view is stale (after a list).
    pub(super) all_dirty: bool,
    pub(super) synced: BTreeSet<Source>,
    pub(super) error: Option<String>,
}

/// An object kept as compact JSON text: a fraction of a parsed tree's memory, parsed
/// again when its environment is judged.
pub(super) type Held = Box<str>;

pub(super) fn hold(v: &Value) -> Held {
    serde_json::to_string(v)
        .unwrap_or_default()
        .into_boxed_str()
}

fn open(h: &str) -> Value {
    serde_json::from_str(h).unwrap_or(Value::Null)
}

/// What an environment should be, held compactly.
pub(super) struct HeldDesired {
    pub(super) revision: Option<i64>,
    pub(super) image: Option<String>,
    /// The rendered objects, a JSON array.
    pub(super) manifests: Held,
    pub(super) expect: Expectation,
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
pub(super) struct Summary {
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
            out_of_sync: v.out_of_sync().count(),
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
        let n = name_of(pod);
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
    pub(super) fn upsert(&mut self, source: Source, obj: &Value) {
        let n = name_of(obj);
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

    pub(super) fn delete(&mut self, source: Source, obj: &Value) {
        let n = name_of(obj);
        match source {
            Source::Pods => self.forget_pod(&n),
            Source::Kind(k) => self.remove_object(k, &n),
        }
    }

    pub(super) fn replace(&mut self, source: Source, items: &[Held]) {
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

    pub(super) fn judge(&self, client: ClientId) -> Option<EnvView> {
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
    pub(super) fn refresh(&mut self) {
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

    pub(super) fn row(&self, client: ClientId, ns: &str) -> Option<FleetRow> {
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
