//! The fleet, as the pages and the API both show it: every client environment's live
//! health and drift from the server's [`FleetCache`](tenantry_engine::fleet::cache),
//! filtered and paged ([`fleet_view`]), and one environment in full ([`env_view`]),
//! secrets masked. Typed views, serialised as they are for JSON and rendered by
//! `fleet_pages` for people.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use tenantry_core::ClientId;
use tenantry_core::fleet::SyncState;
use tenantry_core::health::EnvHealth;
use tenantry_engine::fleet::cache::NsStatus;
use tenantry_engine::fleet::{Against, EnvReport, FleetRow, observe_client, report};
use tenantry_store::ClientFilter;

use crate::AppState;
use crate::error::{Msg, WebError};

/// Rows per page of the fleet.
pub const PER_PAGE: usize = 100;

/// What the fleet is filtered by (`?health=degraded&drifted=true&namespace=lms-dev&q=…`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetQuery {
    pub health: Option<EnvHealth>,
    pub drifted: bool,
    pub namespace: Option<String>,
    pub q: Option<String>,
    /// From 1.
    pub page: usize,
}

pub fn health_of(s: &str) -> Option<EnvHealth> {
    Some(match s.to_ascii_lowercase().as_str() {
        "healthy" => EnvHealth::Healthy,
        "suspended" => EnvHealth::Suspended,
        "progressing" => EnvHealth::Progressing,
        "missing" => EnvHealth::Missing,
        "degraded" => EnvHealth::Degraded,
        "unknown" => EnvHealth::Unknown,
        _ => return None,
    })
}

pub const HEALTHS: [EnvHealth; 6] = [
    EnvHealth::Healthy,
    EnvHealth::Progressing,
    EnvHealth::Degraded,
    EnvHealth::Suspended,
    EnvHealth::Missing,
    EnvHealth::Unknown,
];

impl FleetQuery {
    /// Reads the query string; a wrong value is a 400 naming the field.
    pub fn parse(q: &HashMap<String, String>) -> Result<Self, WebError> {
        let nonempty = |k: &str| {
            q.get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let health = match nonempty("health") {
            None => None,
            Some(h) => Some(health_of(&h).ok_or_else(|| {
                WebError::field(
                    "health",
                    Msg::both(
                        format!("unknown health {h:?}: healthy, progressing, degraded, suspended, missing or unknown"),
                        format!("неизвестное состояние {h:?}: healthy, progressing, degraded, suspended, missing или unknown"),
                    ),
                )
            })?),
        };
        let drifted = match nonempty("drifted").as_deref() {
            None | Some("false") => false,
            Some("true" | "1" | "on") => true,
            Some(other) => {
                return Err(WebError::field(
                    "drifted",
                    Msg::both(
                        format!("expected true or false, got {other:?}"),
                        format!("ожидалось true или false, а не {other:?}"),
                    ),
                ));
            }
        };
        let page = match nonempty("page") {
            None => 1,
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| {
                    WebError::field(
                        "page",
                        Msg::both(
                            format!("expected a page number from 1, got {p:?}"),
                            format!("ожидался номер страницы от 1, а не {p:?}"),
                        ),
                    )
                })?,
        };
        let namespace = match nonempty("namespace") {
            None => None,
            Some(n) => Some(
                crate::actions::ns_name("namespace", &n)?
                    .as_str()
                    .to_owned(),
            ),
        };
        Ok(Self {
            health,
            drifted,
            namespace,
            q: nonempty("q"),
            page,
        })
    }
}

/// A row as shown: the environment and its client's organisation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowView {
    #[serde(flatten)]
    pub row: FleetRow,
    pub organisation: String,
}

/// How many environments are in each state (of those the namespace filter keeps).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub total: usize,
    pub by_health: BTreeMap<&'static str, usize>,
    pub drifted: usize,
}

/// The fleet page and `/api/v1/fleet`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FleetView {
    pub counts: Counts,
    /// Environments matching every filter.
    pub matched: usize,
    pub page: usize,
    pub per_page: usize,
    pub rows: Vec<RowView>,
    /// Each namespace's watches: synced yet, objects kept, the last error.
    pub namespaces: Vec<NsStatus>,
}

pub async fn fleet_view(state: &AppState, q: &FleetQuery) -> Result<FleetView, WebError> {
    let fleet = state.fleet();
    let all = fleet.rows();
    let names = state.catalog.client_names().await?;
    let found: Option<HashSet<ClientId>> = match &q.q {
        None => None,
        Some(text) => Some(
            state
                .catalog
                .list_clients(&ClientFilter {
                    include_archived: true,
                    only_archived: false,
                    search: Some(text.clone()),
                })
                .await?
                .into_iter()
                .map(|c| c.id)
                .collect(),
        ),
    };
    let in_ns: Vec<&FleetRow> = all
        .iter()
        .filter(|r| q.namespace.as_ref().is_none_or(|n| &r.namespace == n))
        .collect();
    let mut counts = Counts {
        total: in_ns.len(),
        ..Counts::default()
    };
    for h in HEALTHS {
        counts.by_health.insert(h.as_str(), 0);
    }
    for r in &in_ns {
        *counts.by_health.entry(r.health.as_str()).or_default() += 1;
        counts.drifted += usize::from(r.drifted);
    }
    let matching: Vec<&FleetRow> = in_ns
        .into_iter()
        .filter(|r| q.health.is_none_or(|h| r.health == h))
        .filter(|r| !q.drifted || r.drifted)
        .filter(|r| found.as_ref().is_none_or(|f| f.contains(&r.client)))
        .collect();
    let rows = matching
        .iter()
        .skip((q.page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|r| RowView {
            row: (*r).clone(),
            organisation: names.get(&r.client).cloned().unwrap_or_default(),
        })
        .collect();
    Ok(FleetView {
        counts,
        matched: matching.len(),
        page: q.page,
        per_page: PER_PAGE,
        rows,
        namespaces: fleet.status(),
    })
}

/// One environment as its page and `/api/v1/clients/{id}/environments/{ns}` show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnvPage {
    #[serde(flatten)]
    pub report: EnvReport,
    pub organisation: String,
    /// Where it was read from: `cache` (the server's watches) or `cluster` (read now,
    /// the cache not having it yet).
    pub source: &'static str,
}

/// One environment, from the live cache, or read from the cluster when the cache has
/// not seen it yet (its namespace still syncing); 404 when neither has it.
pub async fn env_view(state: &AppState, id: ClientId, ns: &str) -> Result<EnvPage, WebError> {
    let client = state.catalog.client(id).await?;
    state.catalog.namespace(ns).await?;
    let cached = state.fleet().environment(id, ns);
    let (observed, source) = match cached {
        Some((row, view)) => (
            tenantry_engine::fleet::Observed {
                row,
                view: (*view).clone(),
                live: Vec::new(),
            },
            "cache",
        ),
        None => match read_from_cluster(state, id, ns).await? {
            Some(o) => (o, "cluster"),
            None => {
                return Err(WebError::not_found(Msg::both(
                    format!(
                        "{id} has no environment in {ns}: nothing of it is in the cluster and no deploy there has succeeded"
                    ),
                    format!(
                        "у {id} нет окружения в {ns}: в кластере ничего нет и ни одно развёртывание там не удалось"
                    ),
                )));
            }
        },
    };
    let report = report(&state.catalog, observed)
        .await
        .map_err(tenantry_engine::DeployError::from)?;
    Ok(EnvPage {
        report,
        organisation: client.name.as_str().to_owned(),
        source,
    })
}

/// How long a page waits for a cluster it reads because the watches have not.
const CLUSTER_READ: std::time::Duration = std::time::Duration::from_secs(5);

/// The environment as the cluster has it now, if it answers within `CLUSTER_READ`.
async fn read_from_cluster(
    state: &AppState,
    id: ClientId,
    ns: &str,
) -> Result<Option<tenantry_engine::fleet::Observed>, WebError> {
    let read = observe_client(&state.catalog, id, ns, Against::Revision);
    match tokio::time::timeout(CLUSTER_READ, read).await {
        Ok(observed) => Ok(observed?),
        Err(_) => Err(WebError::unprocessable(Msg::both(
            format!(
                "the cluster of {ns} did not answer within {} s; check the namespace's API URL, or try again when its watches have synced",
                CLUSTER_READ.as_secs()
            ),
            format!(
                "кластер пространства {ns} не ответил за {} с; проверьте адрес API пространства или повторите, когда наблюдение синхронизируется",
                CLUSTER_READ.as_secs()
            ),
        ))),
    }
}

/// The names of an environment's objects and pods, whose Events its page shows.
pub fn event_subjects(page: &EnvPage) -> Vec<String> {
    page.report
        .objects
        .iter()
        .filter(|o| o.sync != SyncState::Missing)
        .map(|o| o.name.clone())
        .chain(page.report.pods.iter().map(|p| p.name.clone()))
        .collect()
}
