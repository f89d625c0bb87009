//! The catalog's errors: each says what is wrong in words an operator can act on.

use tenantry_core::{ClientId, NamespaceName, ParamName};

use crate::crypto::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the catalog database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot bring the catalog database's schema up to date")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("no client {0}")]
    ClientNotFound(ClientId),
    #[error("client {client} has no contact #{contact}")]
    ContactNotFound { client: ClientId, contact: i64 },
    #[error("client {0} is archived; restore it first to change it")]
    ClientArchived(ClientId),
    #[error(
        "the catalog already has other values for {client} in {namespace} than its objects hold: {}; the catalog's would lock the running environment out of its databases or keys. Compare them (`tenantry render {client} --namespace {namespace} --reveal`) and rotate or forget the catalog's before adopting",
        names.join(", ")
    )]
    SecretsDiffer {
        client: ClientId,
        namespace: String,
        names: Vec<String>,
    },
    #[error("no rollout {0}")]
    RolloutNotFound(i64),
    #[error("rollout {id} is {status}: it cannot be changed any more")]
    RolloutOver { id: i64, status: &'static str },
    #[error("no namespace {0:?}")]
    NamespaceNotFound(String),
    #[error("namespace {0} already exists; change it with `namespace edit`")]
    NamespaceExists(NamespaceName),
    #[error("no parameter {0:?}")]
    ParamNotFound(String),
    #[error("parameter {name} is {kind}; {hint}")]
    ParamNotSettable {
        name: ParamName,
        kind: String,
        hint: &'static str,
    },
    #[error("parameter {0} already exists")]
    ParamExists(ParamName),
    #[error("no template {0:?}")]
    TemplateNotFound(String),
    #[error("template {name} has no version {version}")]
    TemplateVersionNotFound { name: String, version: i64 },
    #[error(
        "a deploy of {client} to {namespace} is already running (run {run}, started {started_at} by {owner})"
    )]
    RunActive {
        client: ClientId,
        namespace: String,
        run: i64,
        started_at: String,
        owner: String,
    },
    #[error(
        "namespace {namespace}: the API URL moves from {from} to {to}; give the token again (the stored one is only ever sent to where it was given for)"
    )]
    TokenRequired {
        namespace: String,
        from: String,
        to: String,
    },
    #[error("template {template}: {problems}")]
    SecretInName { template: String, problems: String },
    #[error(transparent)]
    TooLarge(#[from] tenantry_core::limits::LimitError),
    #[error(
        "client {client} still has an environment in {}; decommission it first (`tenantry decommission {client} --namespace {}`, or the danger zone on the client card)",
        namespaces.join(", "),
        namespaces.first().map(String::as_str).unwrap_or("NS")
    )]
    EnvironmentsExist {
        client: ClientId,
        namespaces: Vec<String>,
    },
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("no user {0:?}")]
    UserNotFound(String),
    #[error("no run {0}")]
    RunNotFound(i64),
    #[error("cannot generate a secret: {0}")]
    Generate(String),
    #[error("the catalog holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error("the catalog database failed")]
    Db(#[from] sqlx::Error),
}
