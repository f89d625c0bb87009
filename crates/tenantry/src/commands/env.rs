//! `tenantry env …`: env vars of client environments (R5).

use serde_json::json;
use tenantry_core::env::EnvValue;
use tenantry_store::{Catalog, EnvSource};

use crate::cli::EnvCmd;
use crate::commands::scope;
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: EnvCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        EnvCmd::Set {
            name,
            value,
            namespace,
        } => {
            let value = EnvValue::parse(&value)
                .map_err(|e| anyhow::anyhow!("the value of {name} has a bad {e}"))?;
            let where_ = namespace
                .as_ref()
                .map_or("globally".to_owned(), |n| format!("for {n}"));
            catalog.set_env(&scope(namespace), &name, &value).await?;
            match format {
                Format::Json => json(&json!({ "name": name, "value": value, "set": where_ }))?,
                Format::Text => outln!("set {name} {where_}"),
            }
        }
        EnvCmd::Unset { name, namespace } => {
            let where_ = namespace
                .as_ref()
                .map_or("globally".to_owned(), |n| format!("for {n}"));
            let removed = catalog.unset_env(&scope(namespace), &name).await?;
            match format {
                Format::Json => json(&json!({ "name": name, "removed": removed }))?,
                Format::Text if removed => outln!("unset {name} {where_}"),
                Format::Text => outln!("{name} is not set {where_}"),
            }
        }
        EnvCmd::List { namespace } => {
            let ns = namespace.as_ref().map(ToString::to_string);
            let vars = catalog.env_vars(&scope(namespace)).await?;
            match format {
                Format::Json => json(&vars)?,
                Format::Text => {
                    let mut t = Table::new(&["NAME", "VALUE", "FROM"]);
                    for v in &vars {
                        let from = match v.source {
                            EnvSource::Global => "global".to_owned(),
                            EnvSource::Namespace => ns.clone().unwrap_or_default(),
                        };
                        t.row(vec![v.name.clone(), v.value.clone(), from]);
                    }
                    t.print();
                }
            }
        }
    }
    Ok(())
}
