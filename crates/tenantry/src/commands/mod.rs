//! One module per command group; each turns parsed arguments into catalog calls and
//! prints the result.

pub mod adopt;
pub mod client;
pub mod demo;
pub mod deploy;
pub mod env;
pub mod fleet;
pub mod namespace;
pub mod param;
pub mod render;
pub mod rollout;
pub mod secret;
pub mod serve;
pub mod sim;
pub mod template;
pub mod user;
pub mod webhook;

use std::io::Read;

use anyhow::Context;
use tenantry_core::NamespaceName;
use tenantry_store::{Catalog, Scope};

use crate::cli::Command;
use crate::output::Format;

pub async fn dispatch(catalog: &Catalog, command: Command, format: Format) -> anyhow::Result<()> {
    match command {
        Command::Client(c) => client::run(catalog, c, format).await,
        Command::Namespace(c) => namespace::run(catalog, c, format).await,
        Command::Param(c) => param::run(catalog, c, format).await,
        Command::Env(c) => env::run(catalog, c, format).await,
        Command::Template(c) => template::run(catalog, c, format).await,
        Command::Render {
            id,
            namespace,
            reveal,
        } => render::run(catalog, id, &namespace, reveal, format).await,
        Command::Secret(c) => secret::run(catalog, c, format).await,
        Command::Deploy {
            id,
            namespace,
            timeout,
            poll,
        } => {
            let op = deploy::Operation::Deploy;
            deploy::run(catalog, id, &namespace, op, timeout, poll, format).await
        }
        Command::Suspend {
            id,
            namespace,
            timeout,
        } => {
            let op = deploy::Operation::Suspend;
            deploy::run(catalog, id, &namespace, op, timeout, POLL, format).await
        }
        Command::Resume {
            id,
            namespace,
            timeout,
        } => {
            let op = deploy::Operation::Resume;
            deploy::run(catalog, id, &namespace, op, timeout, POLL, format).await
        }
        Command::Decommission {
            id,
            namespace,
            drop_databases,
            forget_secrets,
            yes,
            timeout,
        } => {
            deploy::confirm_decommission(id, &namespace, yes)?;
            let op = deploy::Operation::Decommission(tenantry_engine::Decommission {
                drop_databases,
                forget_secrets,
            });
            deploy::run(catalog, id, &namespace, op, timeout, POLL, format).await
        }
        Command::Rollback {
            id,
            namespace,
            to,
            timeout,
        } => {
            let op = deploy::Operation::Rollback(to);
            deploy::run(catalog, id, &namespace, op, timeout, POLL, format).await
        }
        Command::Runs(c) => deploy::runs(catalog, c, format).await,
        Command::History {
            id,
            namespace,
            diff,
        } => deploy::history(catalog, id, &namespace, diff, format).await,
        Command::Status {
            namespace,
            client,
            drifted,
        } => fleet::status(catalog, namespace, client, drifted, format).await,
        Command::Diff {
            id,
            namespace,
            rendered,
        } => fleet::diff(catalog, id, &namespace, rendered, format).await,
        Command::Adopt {
            namespace,
            dry_run,
            yes,
            partial,
            orgs,
        } => {
            let opts = tenantry_engine::adopt::AdoptOptions {
                dry_run,
                partial,
                names: orgs.into_iter().collect(),
            };
            adopt::run(catalog, &namespace, opts, yes, format).await
        }
        Command::Rollout(c) => rollout::run(catalog, c, format).await,
        Command::Webhook(c) => webhook::run(catalog, c, format).await,
        Command::User(c) => user::run(catalog, c, format).await,
        Command::Demo(_) | Command::Sim(_) | Command::Serve(_) => {
            unreachable!("demo, sim and serve are run by cli::run")
        }
    }
}

/// How often the lifecycle operations' waits look again between changes.
const POLL: std::time::Duration = std::time::Duration::from_millis(500);

pub(crate) fn scope(
    namespace: Option<NamespaceName>,
    client: Option<tenantry_core::ClientId>,
) -> Scope {
    match (namespace, client) {
        (Some(n), Some(c)) => Scope::Client(n, c),
        (Some(n), None) => Scope::Namespace(n),
        (None, _) => Scope::Global,
    }
}

/// Where a value is set, as the CLI says it.
pub(crate) fn where_(scope: &Scope) -> String {
    match scope {
        Scope::Global => "globally".to_owned(),
        Scope::Namespace(n) => format!("for {n}"),
        Scope::Client(n, c) => format!("for {c} in {n}"),
    }
}

/// Reads a secret from standard input, without its trailing newline.
pub(crate) fn read_stdin(what: &str) -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the {what} from standard input"))?;
    let s = s.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(
        !s.is_empty(),
        "the {what} read from standard input is empty"
    );
    Ok(s)
}

/// Who made a change, for histories: the OS user running the CLI.
pub(crate) fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}
