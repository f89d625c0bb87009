//! Tenantry's domain: clients, contacts, namespaces, parameters, env vars and the
//! macro syntax they share. Pure types and rules; nothing here does IO.

pub mod adopt;
pub mod client;
pub mod contact;
pub mod default_templates;
pub mod defaults;
pub mod drift;
pub mod env;
pub mod fleet;
pub mod health;
pub mod limits;
pub mod macros;
pub mod manifest;
pub mod names;
pub mod namespace;
pub mod param;
pub mod password;
pub mod render;
pub mod rollout;
pub mod secret;
pub mod template;
pub mod template_check;
pub mod throttle;
pub mod user;
pub mod webhook;

pub use client::{ClientId, OrgName};
pub use contact::{ContactName, Email, Phone};
pub use env::EnvVarName;
pub use namespace::{ApiRootUrl, CaBundle, NamespaceName};
pub use param::{Generator, ParamKind, ParamName};
pub use secret::{Redactor, SecretString, mask};
pub use user::{Role, UserName};
