//! `tenantry param …`: parameters macros refer to (R3, R4, R6, R9).

use secrecy::SecretString;
use serde_json::json;
use tenantry_core::{Generator, ParamKind, mask};
use tenantry_store::{Catalog, ParamEntry, StoredValue, ValueSource};

use crate::cli::ParamCmd;
use crate::commands::{read_stdin, scope, where_};
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: ParamCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        ParamCmd::Set {
            name,
            value,
            stdin,
            namespace,
            client,
            secret,
        } => {
            let value = match value {
                Some(v) if !stdin => v,
                _ => read_stdin("value")?,
            };
            let scope = scope(namespace, client);
            let where_ = where_(&scope);
            let def = catalog
                .set_param(&name, &scope, &SecretString::from(value), secret)
                .await?;
            match format {
                Format::Json => {
                    json(&json!({ "name": def.name, "kind": def.kind.to_string(), "set": where_ }))?
                }
                Format::Text => outln!("set {} ({}) {where_}", def.name, def.kind),
            }
        }
        ParamCmd::Unset {
            name,
            namespace,
            client,
        } => {
            let scope = scope(namespace, client);
            let where_ = where_(&scope);
            let removed = catalog.unset_param(&name, &scope).await?;
            match format {
                Format::Json => json(&json!({ "name": name, "removed": removed }))?,
                Format::Text if removed => outln!("unset {name} {where_}"),
                Format::Text => outln!("{name} had no value {where_}"),
            }
        }
        ParamCmd::List {
            namespace,
            client,
            reveal,
        } => {
            let entries = catalog.params(&scope(namespace.clone(), client)).await?;
            let ns = namespace.as_ref().map(ToString::to_string);
            match format {
                Format::Json => json(
                    &entries
                        .iter()
                        .map(|e| view(e, ns.as_deref(), reveal))
                        .collect::<Vec<_>>(),
                )?,
                Format::Text => {
                    let mut t = Table::new(&["NAME", "KIND", "VALUE", "FROM", "DESCRIPTION"]);
                    for e in &entries {
                        let (value, from) = shown(e, ns.as_deref(), reveal);
                        t.row(vec![
                            e.def.name.to_string(),
                            e.def.kind.to_string(),
                            value.unwrap_or_else(|| "-".into()),
                            from.unwrap_or_else(|| "-".into()),
                            e.def.description.clone(),
                        ]);
                    }
                    t.print();
                }
            }
        }
        ParamCmd::Define {
            name,
            kind,
            description,
        } => {
            let kind = match kind.as_str() {
                "plain" => ParamKind::Plain,
                "secret" => ParamKind::Secret,
                other => match other.strip_prefix("generated:") {
                    Some(g) => ParamKind::Generated(Generator::parse(g)?),
                    None => anyhow::bail!(
                        "kind {other:?} is unknown: use plain, secret or generated:password|hex|rsa[:SIZE]"
                    ),
                },
            };
            let def = catalog.define_param(&name, kind, &description).await?;
            match format {
                Format::Json => json(&def)?,
                Format::Text => outln!("defined {} ({})", def.name, def.kind),
            }
        }
    }
    Ok(())
}

/// The value to show and where it comes from.
fn shown(e: &ParamEntry, ns: Option<&str>, reveal: bool) -> (Option<String>, Option<String>) {
    let from = match e.source() {
        Some(ValueSource::Client) => Some(format!("client, {}", ns.unwrap_or_default())),
        Some(ValueSource::Namespace) => ns.map(ToOwned::to_owned),
        Some(ValueSource::Global) => Some("global".into()),
        None => None,
    };
    let value = match e.effective() {
        Some(StoredValue::Plain(v)) => Some(v.clone()),
        Some(StoredValue::Secret(s)) => Some(mask(s, reveal)),
        None => match e.def.kind {
            ParamKind::Generated(_) => Some("(per client)".into()),
            ParamKind::Builtin => Some("(from client/namespace)".into()),
            _ => None,
        },
    };
    (value, from)
}

fn view(e: &ParamEntry, ns: Option<&str>, reveal: bool) -> serde_json::Value {
    let (value, from) = shown(e, ns, reveal);
    let has_value = e.effective().is_some();
    json!({
        "name": e.def.name,
        "kind": e.def.kind.tag(),
        "generator": match e.def.kind { ParamKind::Generated(g) => Some(g.to_string()), _ => None },
        "secret": e.def.kind.is_secret(),
        "builtin": e.def.builtin,
        "description": e.def.description,
        "value": if has_value { value } else { None },
        "source": from,
    })
}
