//! Provisioning runs: the plan (a client's templates rendered for one namespace, nothing
//! sent until every request has rendered) and the deploy that sends it, waits for it,
//! and says whether it worked and why not.

pub mod deploy;
pub mod plan;

pub use deploy::{
    DeployError, DeployOptions, Outcome, PodState, Prepared, StepReport, deploy, orphaned_runs,
    pod_states, prepare,
};
pub use plan::{PlanError, PlannedRequest, render_plan, render_plans, rsa_format};
