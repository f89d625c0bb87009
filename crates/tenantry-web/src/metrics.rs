//! `/metrics` in the Prometheus text format (OpenMetrics), through `prometheus-client`:
//! environments by health and namespace and the drifted ones (from the fleet cache),
//! runs by kind and outcome (from the catalog, so every server sharing it says the
//! same), the duration of the runs this server carried out, the requests this process
//! sent to clusters by method and answer, and the fleet's watch reconnects.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::auth::Caller;
use crate::error::WebError;

type Labels = Vec<(&'static str, String)>;

/// What this server measures itself, kept between scrapes.
#[derive(Debug)]
pub struct RunMetrics {
    /// Seconds each run took, by kind and outcome.
    durations: Family<Labels, Histogram>,
}

impl Default for RunMetrics {
    fn default() -> Self {
        Self {
            durations: Family::new_with_constructor(|| {
                // 0.25 s to about 17 min.
                Histogram::new(exponential_buckets(0.25, 2.0, 13))
            }),
        }
    }
}

impl RunMetrics {
    pub fn observe(&self, kind: &str, outcome: &str, seconds: f64) {
        self.durations
            .get_or_create(&vec![
                ("kind", kind.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .observe(seconds);
    }
}

pub async fn metrics(State(state): State<AppState>, _caller: Caller) -> Result<Response, WebError> {
    let mut reg = Registry::with_prefix("tenantry");
    let envs = Family::<Labels, Gauge>::default();
    let drifted = Family::<Labels, Gauge>::default();
    for r in state.fleet().rows() {
        let ns = ("namespace", r.namespace.clone());
        envs.get_or_create(&vec![ns.clone(), ("health", r.health.as_str().to_owned())])
            .inc();
        let d = drifted.get_or_create(&vec![ns]);
        if r.drifted {
            d.inc();
        }
    }
    reg.register("environments", "Client environments by live health", envs);
    reg.register(
        "environments_drifted",
        "Client environments that differ from their last revision",
        drifted,
    );
    let runs = Family::<Labels, Counter>::default();
    for (kind, status, n) in state.catalog.run_counts().await? {
        runs.get_or_create(&vec![
            ("kind", kind.as_str().to_owned()),
            ("outcome", status.as_str().to_owned()),
        ])
        .inc_by(u64::try_from(n).unwrap_or(0));
    }
    reg.register(
        "runs",
        "Runs recorded in the catalog, by kind and outcome",
        runs,
    );
    reg.register(
        "run_duration_seconds",
        "How long the runs this server carried out took",
        state.run_metrics.durations.clone(),
    );
    let requests = Family::<Labels, Counter>::default();
    for (method, answer, n) in tenantry_kube::counts::request_counts() {
        requests
            .get_or_create(&vec![("method", method.to_owned()), ("code", answer)])
            .inc_by(n);
    }
    reg.register(
        "cluster_requests",
        "Requests this process sent to clusters, by method and answer",
        requests,
    );
    let (reconnects, relists) = state.fleet().reconnects();
    let watch = Family::<Labels, Counter>::default();
    watch
        .get_or_create(&vec![("kind", "resumed".to_owned())])
        .inc_by(reconnects);
    watch
        .get_or_create(&vec![("kind", "relisted".to_owned())])
        .inc_by(relists);
    reg.register(
        "fleet_watch_reconnects",
        "Fleet watches opened again: resumed from their version, or listed again after a 410",
        watch,
    );
    let mut text = String::new();
    encode(&mut text, &reg)
        .map_err(|e| WebError::Internal(format!("cannot encode the metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Shared between the state's clones.
pub type Shared = Arc<RunMetrics>;
