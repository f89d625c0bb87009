//! `tenantry namespace …`: namespace targets (R4, R8).

use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;
use serde_json::json;
use tenantry_core::{ApiRootUrl, CaBundle, mask};
use tenantry_store::{Catalog, Namespace, NamespaceUpdate, NewNamespace};

use crate::cli::{NamespaceCmd, TokenArgs};
use crate::commands::read_stdin;
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: NamespaceCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        NamespaceCmd::Add {
            name,
            api_root_url,
            token,
            ca_file,
            k8s_namespace,
        } => {
            let token = read_token(&token)?.ok_or_else(|| {
                anyhow::anyhow!("the cluster API token is missing: give --token, --token-stdin or TENANTRY_CLUSTER_TOKEN")
            })?;
            let new = NewNamespace {
                name,
                k8s_namespace,
                api_root_url: ApiRootUrl::parse(&api_root_url)?,
                token,
                ca_bundle: ca_file.as_deref().map(read_ca).transpose()?,
            };
            let ns = catalog.add_namespace(&new).await?;
            match format {
                Format::Json => json(&view(&ns, false))?,
                Format::Text => outln!(
                    "added namespace {} → {} ({})",
                    ns.name,
                    ns.api_root_url,
                    ns.k8s_namespace
                ),
            }
        }
        NamespaceCmd::List => {
            let all = catalog.namespaces().await?;
            match format {
                Format::Json => json(&all.iter().map(|n| view(n, false)).collect::<Vec<_>>())?,
                Format::Text if all.is_empty() => {
                    outln!(
                        "no namespaces (add one with `tenantry namespace add NAME --api-root-url URL --token-stdin`)"
                    );
                }
                Format::Text => {
                    let mut t =
                        Table::new(&["NAME", "K8S NAMESPACE", "API ROOT URL", "CA", "TOKEN"]);
                    for n in &all {
                        t.row(vec![
                            n.name.to_string(),
                            n.k8s_namespace.to_string(),
                            n.api_root_url.to_string(),
                            ca_text(n),
                            mask(&n.token, false),
                        ]);
                    }
                    t.print();
                }
            }
        }
        NamespaceCmd::Show { name, reveal } => {
            print(&catalog.namespace(name.as_str()).await?, reveal, format)?
        }
        NamespaceCmd::Edit {
            name,
            api_root_url,
            token,
            ca_file,
            no_ca,
            k8s_namespace,
            self_heal,
        } => {
            let update = NamespaceUpdate {
                self_heal,
                k8s_namespace,
                api_root_url: api_root_url.as_deref().map(ApiRootUrl::parse).transpose()?,
                token: read_token(&token)?,
                ca_bundle: if no_ca {
                    Some(None)
                } else {
                    ca_file.as_deref().map(read_ca).transpose()?.map(Some)
                },
            };
            print(
                &catalog.update_namespace(name.as_str(), &update).await?,
                false,
                format,
            )?;
        }
    }
    Ok(())
}

fn read_token(args: &TokenArgs) -> anyhow::Result<Option<SecretString>> {
    let token = if args.token_stdin {
        Some(read_stdin("token")?)
    } else {
        args.token.clone()
    };
    match token.map(|t| t.trim().to_owned()) {
        Some(t) if t.is_empty() => anyhow::bail!("the cluster API token is empty"),
        Some(t) if t.chars().any(char::is_whitespace) => {
            anyhow::bail!("the cluster API token contains white space; paste the token alone")
        }
        other => Ok(other.map(SecretString::from)),
    }
}

fn read_ca(path: &Path) -> anyhow::Result<CaBundle> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the CA file {}", path.display()))?;
    CaBundle::parse(&text).with_context(|| format!("the CA file {} is not usable", path.display()))
}

fn ca_text(n: &Namespace) -> String {
    match &n.ca_bundle {
        Some(ca) => format!("{} cert(s)", ca.len()),
        None => "system".into(),
    }
}

fn view(n: &Namespace, reveal: bool) -> serde_json::Value {
    json!({
        "name": n.name,
        "k8s_namespace": n.k8s_namespace,
        "api_root_url": n.api_root_url,
        "token": mask(&n.token, reveal),
        "ca_bundle": n.ca_bundle,
        "self_heal": n.self_heal,
        "created_at": n.created_at,
        "updated_at": n.updated_at,
    })
}

fn print(n: &Namespace, reveal: bool, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return json(&view(n, reveal));
    }
    outln!("namespace      {}", n.name);
    outln!("k8s namespace  {}", n.k8s_namespace);
    outln!("api root url   {}", n.api_root_url);
    outln!("token          {}", mask(&n.token, reveal));
    outln!("ca             {}", ca_text(n));
    outln!("self-heal      {}", if n.self_heal { "on" } else { "off" });
    outln!("updated        {}", n.updated_at);
    Ok(())
}
