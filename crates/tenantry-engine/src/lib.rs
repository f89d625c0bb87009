//! Provisioning runs. For now: the plan, i.e. a client's templates rendered for one
//! namespace, in execution order, with nothing sent until every request has rendered.

pub mod plan;

pub use plan::{PlanError, PlannedRequest, render_plan, rsa_format};
