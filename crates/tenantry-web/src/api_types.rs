//! The API's answers, typed: what the handlers return is what the OpenAPI document says
//! (both come from these types). Catalog records the API shows as they are (contacts,
//! users, templates, the audit log, rollouts, webhooks) are the store's own types.

use serde::Serialize;
use serde_json::Value;
use tenantry_core::{ClientId, Role};
use tenantry_store::{EnvStatus, RunKind, RunStatus};
use utoipa::ToSchema;

/// A list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

impl<T> Items<T> {
    pub fn of(items: Vec<T>) -> Self {
        Self { items }
    }
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
}

/// A password change's outcome: every session of the user ended with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    pub changed: bool,
    pub sessions_ended: bool,
}

/// A run: a deploy, suspend, resume, rollback, decommission or adoption of one
/// client's environment in one namespace, with its steps.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub kind: RunKind,
    pub client: ClientId,
    pub namespace: String,
    pub status: RunStatus,
    /// Why it failed or was interrupted.
    pub reason: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The steps as the engine reported them.
    #[schema(value_type = Vec<tenantry_engine::StepReport>)]
    pub steps: Value,
}

impl From<&tenantry_store::RunRecord> for Run {
    fn from(r: &tenantry_store::RunRecord) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            client: r.client,
            namespace: r.namespace.clone(),
            status: r.status,
            reason: r.reason.clone(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            steps: r.report.clone(),
        }
    }
}

/// The state of a client's environment in one namespace.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentStatus {
    pub namespace: String,
    pub status: EnvStatus,
    /// Its latest run.
    pub run: Option<i64>,
}

/// A client: its own fields, `organisation` (the name as input calls it, equal to
/// `name`) and the state of its environment in each namespace it has had.
#[derive(Debug, Serialize, ToSchema)]
pub struct Client {
    #[serde(flatten)]
    pub client: tenantry_store::Client,
    pub organisation: String,
    pub environments: Vec<EnvironmentStatus>,
}

/// A page of clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientPage {
    /// How many match, on every page.
    pub total: i64,
    pub offset: i64,
    pub items: Vec<Client>,
}

/// A namespace's settings; its token always masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Namespace {
    pub name: String,
    pub k8s_namespace: String,
    pub api_root_url: String,
    /// Always masked.
    pub token: String,
    /// Whether a CA bundle is set.
    pub ca_bundle: bool,
    /// Drift is corrected by a deploy, at most once per 5 minutes per environment.
    pub self_heal: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&tenantry_store::Namespace> for Namespace {
    fn from(n: &tenantry_store::Namespace) -> Self {
        Self {
            name: n.name.as_str().to_owned(),
            k8s_namespace: n.k8s_namespace.as_str().to_owned(),
            api_root_url: n.api_root_url.as_str().to_owned(),
            token: tenantry_core::secret::MASK.to_owned(),
            ca_bundle: n.ca_bundle.is_some(),
            self_heal: n.self_heal,
            created_at: n.created_at.clone(),
            updated_at: n.updated_at.clone(),
        }
    }
}

/// A parameter as a namespace sees it; secret values masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Param {
    pub name: String,
    /// plain, secret, generated or builtin.
    pub kind: String,
    pub description: String,
    /// The global value.
    pub global: Option<String>,
    /// The namespace's own value.
    pub namespace: Option<String>,
}

/// An env var as set.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvSet {
    pub name: String,
    pub value: String,
    /// Absent: global.
    pub namespace: Option<String>,
}

/// A parameter as a client's rendering in a namespace sees it; secrets masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveParam {
    pub name: String,
    pub kind: String,
    pub value: Option<String>,
    /// client, namespace or global; absent when no value is set.
    pub source: Option<String>,
}

/// Every value a client's rendering in a namespace sees, and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overrides {
    pub client: ClientId,
    pub namespace: String,
    pub params: Vec<EffectiveParam>,
    pub env: Vec<tenantry_store::EnvEntry>,
}

/// Whether an API token can be used.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    Live,
    Expired,
    Revoked,
}

/// An API token; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub id: i64,
    pub name: String,
    /// What it may do: the lower of its role and its owner's.
    pub role: Role,
    pub owner: String,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub state: TokenState,
}

/// A token just made: its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    pub name: String,
    pub role: Role,
    pub owner: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub token: String,
}

/// What a rollout's start did: its plan, and its id unless it was a dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolloutStarted {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub preview: tenantry_engine::rollout::Preview,
}

/// Why a template was not saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateProblem {
    pub template: String,
    pub kind: TemplateProblemKind,
    pub message: String,
    #[serde(rename = "macro", skip_serializing_if = "Option::is_none")]
    pub macro_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// A known macro close to the unknown one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TemplateProblemKind {
    UnknownMacro,
    Order,
    SecretInName,
    NotAnObject,
}

/// What is wrong with a request, as every error answer says it.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ApiError {
    pub error: String,
    /// The field of the body or query that is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A known name close to the one given (422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// The run under way (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<i64>,
    /// Why a template was not saved (422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<TemplateProblem>,
}

/// A phone number as typed: with its country code (`+7 495 123-45-67`; without one it
/// is read as Russian, `8 495 …`), an extension after it (`доб. 12`, `ext. 12`). It must
/// be a valid number for its country: the `phone` format.
#[allow(dead_code)] // described in the document; input is read as a String
#[derive(ToSchema)]
#[schema(value_type = String, format = "phone")]
pub struct PhoneText(String);

/// An e-mail address, `name@example.com`.
#[allow(dead_code)] // described in the document; input is read as a String
#[derive(ToSchema)]
#[schema(value_type = String, format = "email")]
pub struct EmailText(String);

/// An event a webhook is told of.
#[allow(dead_code)] // described in the document; input is read as a String
#[derive(ToSchema)]
pub enum WebhookEvent {
    #[schema(rename = "run.failed")]
    RunFailed,
    #[schema(rename = "rollout.halted")]
    RolloutHalted,
    #[schema(rename = "rollout.finished")]
    RolloutFinished,
    #[schema(rename = "drift.detected")]
    DriftDetected,
}

/// How a webhook's body is written: tenantry's JSON, or a Slack message.
#[allow(dead_code)] // described in the document; input is read as a String
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum WebhookFormat {
    Json,
    Slack,
}

/// A health to choose environments by.
#[allow(dead_code)] // described in the document; input is read as a String
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum HealthName {
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    Unknown,
}
