//! The `tenantry` command: the CLI that wires the catalog (and, as they arrive, the
//! cluster client, the engine, the web UI and kubesim) together.

mod args;
pub mod cli;
mod cli_catalog;
mod commands;
mod output;
