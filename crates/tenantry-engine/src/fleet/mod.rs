//! The fleet: every client environment of a namespace as the cluster has it, judged
//! against what it should be (its last revision) by core's pure rules. [`observe`]
//! reads the cluster once (one list per kind: what `tenantry status` and `tenantry
//! diff` need, with no server); [`cache::FleetCache`] keeps the same view live in a
//! server, from watches.

pub mod cache;
mod detail;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;
use tenantry_core::default_templates::CLIENT_LABEL;
use tenantry_core::drift::FieldDiff;
use tenantry_core::fleet::{EnvView, Expectation, LiveObject, ObjectView, assess, slim};
use tenantry_core::health::EnvHealth;
use tenantry_core::{ClientId, Redactor};
use tenantry_kube::{Expression, ListSpec, Op, Selector};
use tenantry_store::{Catalog, EnvState, RunBrief};

use crate::deploy::{DeployError, connect_to_read};
use crate::history::masked;
use crate::pods::{PodState, pod_state};
use crate::step::RevisionEntry;

pub use detail::{EventLine, LogTail, events_of, log_tails};

/// The kinds an environment is made of, with their collections (`{ns}` the Kubernetes
/// namespace). Pods are watched apart: they carry no client label.
pub const KINDS: &[(&str, &str)] = &[
    ("Deployment", "apis/apps/v1/namespaces/{ns}/deployments"),
    ("Service", "api/v1/namespaces/{ns}/services"),
    (
        "Ingress",
        "apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    ),
    ("ConfigMap", "api/v1/namespaces/{ns}/configmaps"),
    ("Secret", "api/v1/namespaces/{ns}/secrets"),
    ("Job", "apis/batch/v1/namespaces/{ns}/jobs"),
];

/// The list of one kind's objects that belong to some client (they carry its label).
pub fn kind_list(path: &str, k8s_ns: &str) -> ListSpec {
    let selector: Selector = Expression::Exists(CLIENT_LABEL.to_owned()).into();
    ListSpec::new(path.replace("{ns}", k8s_ns)).labels(selector)
}

pub fn pod_list(k8s_ns: &str) -> ListSpec {
    ListSpec::new(format!("api/v1/namespaces/{k8s_ns}/pods"))
}

/// What an environment should be.
#[derive(Debug, Clone)]
pub struct Desired {
    pub revision: Option<i64>,
    pub image: Option<String>,
    /// The rendered objects of its last revision, secrets revealed.
    pub manifests: Vec<Value>,
    pub expect: Expectation,
}

/// The client a live object is labelled for.
pub fn client_of(obj: &Value) -> Option<ClientId> {
    obj.pointer("/metadata/labels")?
        .get(CLIENT_LABEL)?
        .as_str()?
        .parse()
        .ok()
}

/// Every recorded environment's state in `ns`, as an expectation.
pub async fn states_in(
    catalog: &Catalog,
    ns: &str,
) -> Result<HashMap<ClientId, Expectation>, DeployError> {
    Ok(catalog
        .environments_in(ns)
        .await?
        .into_iter()
        .map(|(c, e)| (c, expectation(e.state)))
        .collect())
}

/// What a recorded environment state expects of the cluster.
fn expectation(s: EnvState) -> Expectation {
    match s {
        EnvState::Deployed => Expectation::Deployed,
        EnvState::Suspended => Expectation::Suspended,
        EnvState::Decommissioned => Expectation::Absent,
    }
}

/// The latest revisions of `ns` that `known` (client → revision number) does not hold,
/// at most `limit` of them, as what each environment should be (expected deployed:
/// [`states_in`] says otherwise).
pub async fn revisions_in(
    catalog: &Catalog,
    ns: &str,
    known: &HashMap<ClientId, i64>,
    limit: usize,
) -> Result<Vec<(ClientId, Desired)>, DeployError> {
    let revisions = catalog.latest_revisions(ns, known, limit).await?;
    Ok(revisions
        .into_iter()
        .map(|(c, r)| (c, desired_of(r)))
        .collect())
}

/// What a revision says an environment should be (expected deployed).
fn desired_of(r: tenantry_store::Revision) -> Desired {
    let manifests = r
        .manifests
        .iter()
        .filter_map(|m| serde_json::from_value::<RevisionEntry>(m.clone()).ok())
        .map(|e| e.body)
        .filter(|b| b.get("kind").is_some())
        .collect();
    Desired {
        revision: Some(r.number),
        image: Some(r.image),
        manifests,
        expect: Expectation::Deployed,
    }
}

/// What every environment of `ns` should be: its latest revision's objects and its
/// recorded state; the second value is every client's state.
pub async fn desired_in(
    catalog: &Catalog,
    ns: &str,
) -> Result<(Vec<(ClientId, Desired)>, HashMap<ClientId, Expectation>), DeployError> {
    let states = states_in(catalog, ns).await?;
    let mut desired = revisions_in(catalog, ns, &HashMap::new(), usize::MAX).await?;
    for (c, d) in &mut desired {
        if let Some(s) = states.get(c) {
            d.expect = *s;
        }
    }
    Ok((desired, states))
}

/// A row of the fleet: one client environment in one namespace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct FleetRow {
    pub client: ClientId,
    pub namespace: String,
    pub health: EnvHealth,
    pub reason: String,
    pub decided_by: String,
    pub drifted: bool,
    /// Objects not in step with their rendering (drifted, missing or extra).
    pub out_of_sync: usize,
    pub revision: Option<i64>,
    pub image: Option<String>,
    pub last_run: Option<RunBrief>,
}

/// One environment in full: its objects with health and (masked) drift, its pods.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EnvReport {
    #[serde(flatten)]
    pub row: FleetRow,
    pub objects: Vec<ObjectView>,
    pub pods: Vec<PodState>,
}

impl FleetRow {
    pub fn of(
        client: ClientId,
        ns: &str,
        view: &EnvView,
        desired: Option<&Desired>,
        last_run: Option<RunBrief>,
    ) -> Self {
        Self {
            client,
            namespace: ns.to_owned(),
            health: view.health,
            reason: view.reason.clone(),
            decided_by: view.decided_by.clone(),
            drifted: view.drifted,
            out_of_sync: view.out_of_sync().count(),
            revision: desired.and_then(|d| d.revision),
            image: desired.and_then(|d| d.image.clone()),
            last_run,
        }
    }
}

/// `view` as it may be shown: a Secret's data values masked in its diff, and every
/// secret value the client has.
pub fn masked_objects(view: &EnvView, redactor: &Redactor) -> Vec<ObjectView> {
    let mut objects = view.objects.clone();
    for o in &mut objects {
        for d in &mut o.diff {
            *d = masked_diff(&o.kind, d, redactor);
        }
        o.reason = redactor.text(&o.reason);
    }
    objects
}

/// One field's difference of an object of `kind` as it may be shown: a Secret's data
/// never, every known secret value masked.
pub fn masked_diff(kind: &str, d: &FieldDiff, redactor: &Redactor) -> FieldDiff {
    let secret =
        kind == "Secret" && (d.path.starts_with("data") || d.path.starts_with("stringData"));
    let hide = |v: &Value| {
        if secret {
            Value::String(tenantry_core::secret::MASK.to_owned())
        } else {
            masked(v, redactor)
        }
    };
    FieldDiff {
        path: d.path.clone(),
        desired: hide(&d.desired),
        live: d.live.as_ref().map(hide),
    }
}

/// The pods of a view, as lists show them.
pub fn pods_shown(view: &EnvView) -> Vec<PodState> {
    view.pods.iter().map(pod_state).collect()
}

/// What a diff compares the cluster with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// The last successful deploy's objects: drift.
    Revision,
    /// The catalog rendered today: what a deploy would change.
    Rendering,
}

/// The client environments of a namespace, read from the cluster once: one list per
/// kind and one of pods. Environments with neither a revision nor an object are not
/// listed.
pub async fn observe(catalog: &Catalog, ns: &str) -> Result<Vec<Observed>, DeployError> {
    observe_some(catalog, ns, None).await
}

/// One client's environment read from the cluster now, against its last revision or
/// today's rendering; `None` when it has neither objects nor a revision.
pub async fn observe_client(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    against: Against,
) -> Result<Option<Observed>, DeployError> {
    let seen = observe_some(catalog, ns, Some(client)).await?.pop();
    match against {
        Against::Revision => Ok(seen),
        Against::Rendering => against_rendering(catalog, client, ns, seen).await.map(Some),
    }
}

/// Environments of `ns` judged against today's rendering: what a deploy of each of
/// `clients` would change. The cluster is read once for them all.
pub async fn observe_rendered(
    catalog: &Catalog,
    ns: &str,
    clients: &[ClientId],
) -> Result<Vec<Observed>, DeployError> {
    let mut seen: HashMap<ClientId, Observed> = observe(catalog, ns)
        .await?
        .into_iter()
        .map(|o| (o.row.client, o))
        .collect();
    let mut out = Vec::with_capacity(clients.len());
    for c in clients {
        out.push(against_rendering(catalog, *c, ns, seen.remove(c)).await?);
    }
    Ok(out)
}

/// An environment as observed (or nothing of it) judged against what the catalog
/// renders for it today; its row keeps the revision it has.
async fn against_rendering(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    seen: Option<Observed>,
) -> Result<Observed, DeployError> {
    // Revealed, so that secrets compare as they are; the report masks them.
    let rendered: Vec<Value> = crate::plan::render_current(catalog, client, ns)
        .await?
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .filter_map(|r| r.body)
        .filter(|b| b.get("kind").is_some())
        .collect();
    let Some(mut o) = seen else {
        let view = assess(&rendered, Expectation::Deployed, &[], &[]);
        return Ok(Observed {
            row: FleetRow::of(client, ns, &view, None, None),
            view,
            live: Vec::new(),
        });
    };
    let expect = match catalog.environment(client, ns).await? {
        Some(e) if e.state == EnvState::Suspended => Expectation::Suspended,
        _ => Expectation::Deployed,
    };
    o.view = assess(&rendered, expect, &o.live, &o.view.pods);
    let was = o.row;
    o.row = FleetRow::of(client, ns, &o.view, None, was.last_run);
    o.row.revision = was.revision;
    o.row.image = was.image;
    Ok(o)
}

async fn observe_some(
    catalog: &Catalog,
    ns: &str,
    only: Option<ClientId>,
) -> Result<Vec<Observed>, DeployError> {
    let (namespace, cluster) = connect_to_read(catalog, ns).await?;
    let k8s_ns = namespace.k8s_namespace.as_str();
    let mut live: BTreeMap<ClientId, Vec<LiveObject>> = BTreeMap::new();
    let lists = KINDS.iter().map(|(kind, path)| {
        let cluster = &cluster;
        async move {
            let list = match only {
                Some(c) => ListSpec::new(path.replace("{ns}", k8s_ns))
                    .labels_text(format!("{CLIENT_LABEL}={c}")),
                None => kind_list(path, k8s_ns),
            };
            let answer = cluster.call(Op::List(&list)).await?;
            Ok::<_, DeployError>((*kind, answer))
        }
    });
    for r in futures_util::future::join_all(lists).await {
        let (kind, answer) = r?;
        for o in answer["items"].as_array().into_iter().flatten() {
            if let Some(c) = client_of(o) {
                live.entry(c).or_default().push(LiveObject {
                    kind: kind.to_owned(),
                    object: slim(kind, o),
                });
            }
        }
    }
    let pods = cluster.call(Op::List(&pod_list(k8s_ns))).await?;
    let pods: Vec<Value> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| slim("Pod", p))
        .collect();
    let (mut desired, states): (BTreeMap<ClientId, Desired>, _) = match only {
        None => {
            let (desired, states) = desired_in(catalog, ns).await?;
            (desired.into_iter().collect(), states)
        }
        // One client: its own revision and state, not the namespace's.
        Some(c) => {
            let state = catalog
                .environment(c, ns)
                .await?
                .map(|e| expectation(e.state));
            let desired = catalog.latest_revision(c, ns).await?.map(|r| {
                let mut d = desired_of(r);
                d.expect = state.unwrap_or(Expectation::Deployed);
                (c, d)
            });
            (
                desired.into_iter().collect(),
                state.map(|s| (c, s)).into_iter().collect(),
            )
        }
    };
    let runs: HashMap<ClientId, RunBrief> = catalog.latest_runs_in(ns).await?.into_iter().collect();
    let mut clients: Vec<ClientId> = desired.keys().chain(live.keys()).copied().collect();
    clients.sort_unstable();
    clients.dedup();
    Ok(clients
        .into_iter()
        .map(|c| {
            let d = desired.remove(&c).unwrap_or(Desired {
                revision: None,
                image: None,
                manifests: Vec::new(),
                expect: states.get(&c).copied().unwrap_or(Expectation::Unrecorded),
            });
            let objects = live.remove(&c).unwrap_or_default();
            let view = assess(&d.manifests, d.expect, &objects, &pods);
            Observed {
                row: FleetRow::of(c, ns, &view, Some(&d), runs.get(&c).cloned()),
                view,
                live: objects,
            }
        })
        .collect())
}

/// An environment observed: its row and its full view (unmasked: mask before showing).
#[derive(Debug, Clone)]
pub struct Observed {
    pub row: FleetRow,
    pub view: EnvView,
    /// The client's objects as read.
    pub live: Vec<LiveObject>,
}

/// An observed environment's report, masked with the client's secrets.
pub async fn report(
    catalog: &Catalog,
    observed: Observed,
) -> Result<EnvReport, crate::plan::PlanError> {
    let redactor =
        crate::plan::redactor(catalog, observed.row.client, &observed.row.namespace).await?;
    Ok(EnvReport {
        objects: masked_objects(&observed.view, &redactor),
        pods: pods_shown(&observed.view),
        row: observed.row,
    })
}
