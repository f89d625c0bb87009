//! The typed steps an operation hands the executor, and what the executor reports of
//! each: a step targets an object (or a list), does one action, and waits until a
//! condition holds.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenantry_core::template::{Method, TemplateName, WaitFor};
use tenantry_kube::ObjectRef;

/// What a step does to its target.
#[derive(Debug, Clone)]
pub enum Action {
    /// Create the object, or bring an existing one of ours to `body` (never touching
    /// what tenantry does not own).
    Apply { body: Value, shown: Value },
    /// Read the target (a list, for a check of pods).
    Read,
    /// Send a template's own request as it is written.
    Send {
        method: Method,
        body: Option<Value>,
        shown: Option<Value>,
    },
    /// Set the target's replicas through its `/scale` subresource.
    Scale { replicas: i64 },
    /// Delete the target if it is tenantry's (foreground, only the object read), then
    /// wait until it is gone.
    Delete,
}

/// What a step waits for once its request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Nothing,
    JobComplete,
    RolloutReady,
    PodsReady,
    /// A Deployment with exactly this many pods, all ready (none: scaled down).
    ScaledTo(i64),
    /// The object no longer exists (or another of its name replaced it).
    Gone,
}

impl Until {
    /// The template's word for it, where a template can say it.
    pub fn as_wait(self) -> Option<WaitFor> {
        match self {
            Self::Nothing => Some(WaitFor::None),
            Self::JobComplete => Some(WaitFor::JobComplete),
            Self::RolloutReady => Some(WaitFor::RolloutReady),
            Self::PodsReady => Some(WaitFor::PodsReady),
            Self::ScaledTo(_) | Self::Gone => None,
        }
    }
}

impl From<WaitFor> for Until {
    fn from(w: WaitFor) -> Self {
        match w {
            WaitFor::None => Self::Nothing,
            WaitFor::JobComplete => Self::JobComplete,
            WaitFor::RolloutReady => Self::RolloutReady,
            WaitFor::PodsReady => Self::PodsReady,
        }
    }
}

/// One step of an operation.
#[derive(Debug, Clone)]
pub struct Step {
    /// The template it comes from: the step's name in reports.
    pub template: TemplateName,
    /// Below the API root: the collection (for [`Action::Apply`]) or the request path.
    pub path: String,
    /// The object it is about, when it is about one.
    pub target: Option<ObjectRef>,
    pub action: Action,
    pub until: Until,
    /// Steps that must be done first.
    pub after: Vec<TemplateName>,
}

impl Step {
    /// The Kubernetes namespace the step works in.
    pub fn namespace(&self) -> String {
        tenantry_kube::namespace_in(&self.path)
            .unwrap_or("default")
            .to_owned()
    }

    /// The kind of object it applies, if it applies one.
    pub fn kind(&self) -> Option<&str> {
        match &self.action {
            Action::Apply { body, .. } => body["kind"].as_str(),
            _ => self.kind_of_target(),
        }
    }

    /// The kind of the target, told by its collection.
    pub fn kind_of_target(&self) -> Option<&'static str> {
        match self.target.as_ref()?.plural() {
            "deployments" => Some("Deployment"),
            "replicasets" => Some("ReplicaSet"),
            "jobs" => Some("Job"),
            "services" => Some("Service"),
            "ingresses" => Some("Ingress"),
            "configmaps" => Some("ConfigMap"),
            "secrets" => Some("Secret"),
            "pods" => Some("Pod"),
            _ => None,
        }
    }
}

/// What a step's request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "applied", content = "with", rename_all = "kebab-case")]
pub enum Applied {
    Created,
    /// The live object was as rendered: nothing written.
    Unchanged,
    /// Brought back to the rendered state; the fields that differed.
    Updated(Vec<String>),
    /// A Job deleted and created again.
    Recreated(Recreate),
    Read,
    Sent,
    /// Replicas set through `/scale`: from, to.
    Scaled(i64, i64),
    Deleted,
    /// Not there to delete.
    AlreadyGone,
    /// Not tenantry's: never touched; its labels.
    LeftAlone(String),
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recreate {
    Changed,
    PreviousFailed,
}

impl Applied {
    /// Whether the object is new, so every pod it has is of this operation.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::Created | Self::Recreated(_))
    }

    /// Whether the step wrote to the cluster.
    pub fn wrote(&self) -> bool {
        matches!(
            self,
            Self::Created
                | Self::Updated(_)
                | Self::Recreated(_)
                | Self::Sent
                | Self::Scaled(..)
                | Self::Deleted
        )
    }

    /// The inventory's word for it.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Unchanged => "unchanged",
            Self::Updated(_) => "updated",
            Self::Recreated(_) => "recreated",
            Self::Read => "read",
            Self::Sent => "sent",
            Self::Scaled(..) => "scaled",
            Self::Deleted => "deleted",
            Self::AlreadyGone => "already gone",
            Self::LeftAlone(_) => "left alone",
        }
    }
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Updated(fields) if !fields.is_empty() => {
                let mut shown: Vec<&str> = fields.iter().take(3).map(String::as_str).collect();
                if fields.len() > 3 {
                    shown.push("…");
                }
                write!(f, "updated ({})", shown.join(", "))
            }
            Self::Recreated(Recreate::Changed) => f.write_str("re-created (changed)"),
            Self::Recreated(Recreate::PreviousFailed) => {
                f.write_str("re-created (the previous one had failed)")
            }
            Self::Scaled(from, to) => write!(f, "scaled from {from} to {to} replica(s)"),
            Self::LeftAlone(labels) => {
                write!(f, "left untouched: not tenantry's (labels: {labels})")
            }
            other => f.write_str(other.action()),
        }
    }
}

/// What a wait ended with.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "waited", rename_all = "kebab-case")]
pub enum Waited {
    JobComplete {
        secs: f64,
    },
    RolledOut {
        secs: f64,
    },
    /// Scaled to this many ready pods.
    ScaledReady {
        pods: i64,
        secs: f64,
    },
    Gone {
        secs: f64,
    },
    PodsReady {
        pods: usize,
    },
}

impl std::fmt::Display for Waited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::JobComplete { secs } => write!(f, "Job complete in {secs:.1}s"),
            Self::RolledOut { secs } => write!(f, "rolled out in {secs:.1}s"),
            Self::ScaledReady { pods, secs } => write!(f, "{pods} pod(s) ready in {secs:.1}s"),
            Self::Gone { secs } => write!(f, "gone in {secs:.1}s"),
            Self::PodsReady { pods } => write!(f, "{pods} pod(s) running and ready"),
        }
    }
}

/// One part of what a step reports, typed, so a page can say it in its own language
/// (the `detail` text is these parts in English).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "kebab-case")]
pub enum Said {
    Applied(Applied),
    Waiting,
    Waited(Waited),
    /// Not started: an earlier step failed.
    NotRun,
    /// Stopped waiting: another step failed.
    Stopped,
    /// Why it failed, as the engine and the cluster put it; typed when the health
    /// rules named a failed object.
    Failed {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explained: Option<Explained>,
    },
}

/// A failed object as the health rules judged it, with what explains it: how long
/// after the step began, the last lines of its log, its Warning Events.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// `Pod lms-dev/lms-deployment-c1-…`.
    pub object: String,
    /// The cluster's reason, e.g. `ImagePullBackOff`.
    pub reason: String,
    /// The cluster's message.
    pub message: String,
    pub after_secs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    /// (reason, message) of each Warning Event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<(String, String)>,
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.reason)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        write!(f, " (after {:.1}s)", self.after_secs)?;
        if let Some(log) = &self.log_tail {
            write!(f, "\nlast log lines:\n{log}")?;
        }
        if !self.warnings.is_empty() {
            f.write_str("\nevents:")?;
            for (r, m) in &self.warnings {
                write!(f, "\n  {r}: {m}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Applied(a) => write!(f, "{a}"),
            Self::Waiting => f.write_str("waiting"),
            Self::Waited(w) => write!(f, "{w}"),
            Self::NotRun => f.write_str("not run: an earlier step failed"),
            Self::Stopped => f.write_str("stopped: another step failed"),
            Self::Failed { reason, .. } => f.write_str(reason),
        }
    }
}

/// The parts as one English line.
pub fn detail_of(said: &[Said]) -> String {
    said.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

/// A step as the run page and the CLI show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub template: TemplateName,
    pub status: StepStatus,
    /// What happened: "created, Job complete", or the failure.
    pub detail: String,
    /// The same, typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub said: Vec<Said>,
    pub elapsed_ms: u64,
}

/// How a run ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Succeeded,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object a run touched, for the run's inventory.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Touched {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub action: &'static str,
}

impl Touched {
    pub(crate) fn of(object: &Value, applied: &Applied, step: &Step) -> Option<Self> {
        let s = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_owned);
        // A Scale answers for the object it scales.
        let kind = match (s("/kind")?.as_str(), step.kind_of_target()) {
            ("Scale", Some(k)) => k.to_owned(),
            (k, _) => k.to_owned(),
        };
        Some(Self {
            kind,
            namespace: s("/metadata/namespace").unwrap_or_default(),
            name: s("/metadata/name")?,
            uid: s("/metadata/uid").unwrap_or_default(),
            resource_version: s("/metadata/resourceVersion").unwrap_or_default(),
            action: applied.action(),
        })
    }
}

/// One object of a revision: what a rollback sends again, in its place in the order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionEntry {
    pub template: TemplateName,
    /// The collection it is created in.
    pub path: String,
    pub wait: WaitFor,
    pub after: Vec<TemplateName>,
    /// The object as rendered, secrets revealed (stored sealed).
    pub body: Value,
}

impl RevisionEntry {
    /// The entries of an operation's apply steps.
    pub(crate) fn of_steps(steps: &[Step]) -> Vec<Value> {
        steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Apply { body, .. } => serde_json::to_value(Self {
                    template: s.template.clone(),
                    path: s.path.clone(),
                    wait: s.until.as_wait().unwrap_or_default(),
                    after: s.after.clone(),
                    body: body.clone(),
                })
                .ok(),
                _ => None,
            })
            .collect()
    }
}
