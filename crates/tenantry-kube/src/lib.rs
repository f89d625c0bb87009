//! The only place tenantry talks to a cluster. A [`Cluster`] is made from a namespace
//! target (API root with its Rancher prefix, bearer token, CA); requests are typed
//! [`Op`]s on [`ObjectRef`]s and [`ListSpec`]s; every attempt is told to the cluster's
//! [`Recorder`]; failures become [`KubeError`]s that say what to do, classified by type,
//! and transient ones are retried by one policy within a budget.

mod cluster;
mod error;
mod op;

pub mod counts;
pub use cluster::{Attempt, Change, ChangeStream, Cluster, Recorder, RetryPolicy, WatchError};
pub use error::{ApiFailure, KubeError};
pub use kube::core::{Expression, Selector};
pub use op::{FIELD_MANAGER, ListSpec, ObjectRef, Op, PatchKind, Propagation, namespace_in};
