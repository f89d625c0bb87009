//! `tenantry secret …`: the values generated for a client's environment (R9).

use serde_json::json;
use tenantry_core::{ParamKind, mask};
use tenantry_store::Catalog;

use crate::cli::SecretCmd;
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: SecretCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        SecretCmd::List {
            id,
            namespace,
            reveal,
        } => {
            catalog.namespace(namespace.as_str()).await?;
            let all = catalog.client_secrets(id, &namespace).await?;
            match format {
                Format::Json => json(
                    &all.iter()
                        .map(|s| json!({"name": s.name, "value": mask(&s.value, reveal), "created_at": s.created_at}))
                        .collect::<Vec<_>>(),
                )?,
                Format::Text if all.is_empty() => {
                    outln!("{id} has no generated secrets in {namespace} yet: they are made at its first render or deploy");
                }
                Format::Text => {
                    let mut t = Table::new(&["NAME", "VALUE", "CREATED"]);
                    for s in &all {
                        t.row(vec![s.name.clone(), mask(&s.value, reveal), s.created_at.clone()]);
                    }
                    t.print();
                }
            }
        }
        SecretCmd::Rotate {
            id,
            name,
            namespace,
        } => {
            catalog.namespace(namespace.as_str()).await?;
            let def = catalog.param_def(name.as_str()).await?;
            let ParamKind::Generated(generator) = def.kind else {
                anyhow::bail!(
                    "{name} is {}, not a generated parameter; set it with `tenantry param set`",
                    def.kind
                );
            };
            let params = catalog
                .params(&tenantry_store::Scope::Namespace(namespace.clone()))
                .await?;
            let format_param = tenantry_engine::rsa_format(&params);
            let s = catalog
                .rotate_client_secret(id, &namespace, &name, generator, format_param)
                .await?;
            match format {
                Format::Json => json(&json!({"name": s.name, "rotated_at": s.created_at}))?,
                Format::Text => outln!(
                    "rotated {name} of {id} in {namespace}; the next deploy uses the new value"
                ),
            }
        }
    }
    Ok(())
}
