//! Tenantry's catalog: clients, namespaces, parameters and env vars in SQL — an SQLite
//! file by default, PostgreSQL when several instances share one — with every secret
//! sealed under a master key kept outside the database.

mod adoption;
mod audit;
mod client_search;
mod client_secrets;
mod clients;
pub mod crypto;
mod db;
mod env;
mod environments;
mod error;
pub mod generate;
mod namespaces;
mod params;
mod revisions;
mod rollouts;
mod runs;
mod templates;
mod throttle;
mod users;
mod webhooks;

pub use audit::{AUDIT_LONG_MAX, AUDIT_SHORT_MAX, AuditEntry, NewAudit};
pub use client_search::ClientFilter;
pub use client_secrets::ClientSecret;
pub use clients::{Client, ClientUpdate, Contact, ContactUpdate, NewClient, NewContact};
pub use crypto::{KeyError, KeySource};
pub use db::{Backend, Catalog, OpenOptions, Opened, redact_url};
pub use env::{EnvEntry, EnvSource};
pub use environments::{EnvState, EnvStatus, Environment};
pub use error::StoreError;
pub use namespaces::{Namespace, NamespaceUpdate, NewNamespace};
pub use params::{ParamDef, ParamEntry, Scope, StoredValue, ValueSource};
pub use revisions::Revision;
pub use rollouts::{RolloutClient, RolloutRecord, RolloutStep, unix_now};
pub use runs::{
    Finish, NewRequest, RequestRecord, RunBrief, RunEnd, RunKind, RunObject, RunRecord, RunStatus,
    Settled,
};
pub use templates::{StoredTemplate, TemplateVersion};
pub use users::{ApiToken, NewApiToken, SessionRecord, User};
pub use webhooks::{Attempt, Delivery, DueDelivery, SecretChange, Tried, Webhook};
