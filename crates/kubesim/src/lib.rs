//! kubesim: a Kubernetes API server simulator for tests and demos.
//!
//! It serves the REST API (create, get, list, watch, update, patch, delete, discovery)
//! for the core, apps, batch and networking resources an application deploys, validates
//! what the real API server validates, and runs simulated controllers and a kubelet so
//! that Deployments roll out, Jobs complete, and pods fail the ways real pods fail when a
//! scenario says so. It knows nothing of tenantry.

pub mod api;
mod authz;
mod config;
pub mod controllers;
mod cron;
mod defaults;
mod faults;
mod immutable;
mod kinds;
mod logs;
mod metrics;
mod nodes;
pub(crate) mod ownership;
pub mod proto;
pub mod registry;
pub mod resources;
pub mod scale;
mod schema;
pub mod selector;
pub mod sim;
mod smp;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
pub mod validate;

pub use sim::{
    Config, FaultConfig, Running, Scenarios, Shared, Timings, router, spawn, spawn_tls, start,
};
