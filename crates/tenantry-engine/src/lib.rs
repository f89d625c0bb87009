//! Provisioning: the plan (a client's templates rendered for one namespace, nothing sent
//! until every request has rendered), the executor that runs an operation's typed steps
//! against the cluster and says whether it worked and why not, and the operations on it
//! (deploy first), with each run's inventory and each environment's revisions.

pub mod adopt;
pub mod deploy;
mod exec;
pub mod fleet;
pub mod history;
mod lease;
pub mod ops;
pub mod plan;
pub mod pods;
mod record;
pub mod rollout;
pub mod step;

pub use deploy::{CONFIG_HASH, DeployError, Outcome, Prepared, deploy, prepare};
pub use exec::DeployOptions;
pub use lease::{orphaned_runs, owner as lease_owner};
pub use ops::{
    Decommission, Operation, prepare_decommission, prepare_operation, prepare_resume,
    prepare_rollback, prepare_suspend,
};
pub use plan::{
    PlanError, PlannedRequest, render_draft, render_plan, render_plans, render_preview,
    render_teardown, rsa_format,
};
pub use pods::{PodState, pod_states, pods_of_run};
pub use step::{Applied, Explained, Recreate, Said, StepReport, StepStatus, Verdict, Waited};
