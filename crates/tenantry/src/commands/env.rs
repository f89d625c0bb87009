//! `tenantry env …`: env vars of client environments (R5).

use serde_json::json;
use tenantry_core::env::EnvValue;
use tenantry_store::{Catalog, EnvSource};

use crate::cli::EnvCmd;
use crate::commands::{scope, where_};
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: EnvCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        EnvCmd::Set {
            name,
            value,
            namespace,
            client,
        } => {
            let value = EnvValue::parse(&value)
                .map_err(|e| anyhow::anyhow!("the value of {name} has a bad {e}"))?;
            let scope = scope(namespace, client);
            let where_ = where_(&scope);
            catalog.set_env(&scope, &name, &value).await?;
            match format {
                Format::Json => json(&json!({ "name": name, "value": value, "set": where_ }))?,
                Format::Text => outln!("set {name} {where_}"),
            }
        }
        EnvCmd::Unset {
            name,
            namespace,
            client,
        } => {
            let scope = scope(namespace, client);
            let where_ = where_(&scope);
            let removed = catalog.unset_env(&scope, &name).await?;
            match format {
                Format::Json => json(&json!({ "name": name, "removed": removed }))?,
                Format::Text if removed => outln!("unset {name} {where_}"),
                Format::Text => outln!("{name} is not set {where_}"),
            }
        }
        EnvCmd::List { namespace, client } => {
            let ns = namespace.as_ref().map(ToString::to_string);
            let who = client.map(|c| c.to_string()).unwrap_or_default();
            let vars = catalog.env_vars(&scope(namespace, client)).await?;
            match format {
                Format::Json => json(&vars)?,
                Format::Text => {
                    let mut t = Table::new(&["NAME", "VALUE", "FROM"]);
                    for v in &vars {
                        let from = match v.source {
                            EnvSource::Global => "global".to_owned(),
                            EnvSource::Namespace => ns.clone().unwrap_or_default(),
                            EnvSource::Client => who.clone(),
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
