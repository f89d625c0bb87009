//! kubesim: a Kubernetes API server simulator for tests and demos.
//!
//! It serves the REST API (create, get, list, watch, update, patch, delete, discovery)
//! for the core, apps, batch and networking resources an application deploys, validates
//! what the real API server validates, and runs simulated controllers and a kubelet so
//! that Deployments roll out, Jobs complete, and pods fail the ways real pods fail when a
//! scenario says so. It knows nothing of tenantry.
//!
//! Outside this crate a simulator is started (`start`, `spawn`, `spawn_tls`) and then
//! driven over HTTP, or through the helpers on `Running` (`handle`); the store, the
//! registry and the controllers are private.

mod api;
mod authz;
mod config;
mod controllers;
mod cron;
mod defaults;
mod faults;
mod handle;
mod immutable;
mod kinds;
mod logs;
mod metrics;
mod nodes;
mod ownership;
mod proto;
mod registry;
mod resources;
mod scale;
mod scenarios;
mod schema;
mod selector;
mod server;
mod sim;
mod smp;
mod status;
mod store;
mod table;
mod tls;
mod validate;

pub use config::{Config, Timings};
pub use faults::FaultConfig;
pub use scenarios::Scenarios;
pub use server::{Running, router, spawn, spawn_tls, start};
pub use sim::Shared;
pub use status::ApiError;
pub use store::{Change, EventType};

/// Whether kubesim serves objects of `kind` (`Deployment`, `ConfigMap`, …).
pub fn serves(kind: &str) -> bool {
    resources::by_kind(kind).is_some()
}
