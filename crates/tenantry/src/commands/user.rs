//! `tenantry user`: operators of the web UI and API, and API tokens.

use serde_json::json;
use tenantry_core::Role;
use tenantry_store::Catalog;
use tenantry_web::auth;

use crate::cli::UserCmd;
use crate::commands::{actor, read_stdin};
use crate::output::{Format, Table, json, outln};

fn password_from_stdin() -> anyhow::Result<String> {
    let p = read_stdin("password")?;
    auth::check_password_strength(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(p)
}

pub async fn run(catalog: &Catalog, cmd: UserCmd, format: Format) -> anyhow::Result<()> {
    let web = |e: tenantry_web::WebError| anyhow::anyhow!("{e}");
    match cmd {
        UserCmd::Add {
            name,
            role,
            admin,
            password_stdin: _,
        } => {
            let role = if admin { Role::Admin } else { role };
            let password = password_from_stdin()?;
            let hash = auth::hash_password(&password).map_err(web)?;
            let user = catalog
                .create_user(&name, role, &hash, auth::unix_now())
                .await?;
            let by = actor();
            catalog
                .audit(&tenantry_store::NewAudit {
                    actor: &by,
                    action: "create user",
                    target: user.name.as_str(),
                    detail: role.as_str(),
                    address: "cli",
                })
                .await?;
            match format {
                Format::Json => json(&user)?,
                Format::Text => outln!("added user {} ({})", user.name, user.role),
            }
        }
        UserCmd::List => {
            let users = catalog.users().await?;
            match format {
                Format::Json => json(&users)?,
                Format::Text => {
                    let mut t = Table::new(&["NAME", "ROLE"]);
                    for u in &users {
                        t.row(vec![u.name.to_string(), u.role.to_string()]);
                    }
                    t.print();
                }
            }
        }
        UserCmd::Edit {
            name,
            role,
            password_stdin,
        } => {
            anyhow::ensure!(
                role.is_some() || password_stdin,
                "nothing to change: give --role or --password-stdin"
            );
            let hash = if password_stdin {
                Some(auth::hash_password(&password_from_stdin()?).map_err(web)?)
            } else {
                None
            };
            let user = catalog
                .update_user(name.as_str(), role, hash.as_deref())
                .await?;
            match format {
                Format::Json => json(&user)?,
                Format::Text => outln!("updated user {} ({})", user.name, user.role),
            }
        }
        UserCmd::Remove { name } => {
            catalog.delete_user(name.as_str()).await?;
            match format {
                Format::Json => json(&json!({ "removed": name }))?,
                Format::Text => outln!("removed user {name}"),
            }
        }
        UserCmd::Token { name, role } => {
            anyhow::ensure!(
                !name.trim().is_empty(),
                "give the token a name saying what uses it, e.g. `tenantry user token ci`"
            );
            let token = format!("tnt_{}", auth::random_token());
            catalog
                .create_api_token(
                    name.trim(),
                    &auth::sha256_hex(&token),
                    role,
                    &actor(),
                    auth::unix_now(),
                )
                .await?;
            match format {
                Format::Json => {
                    json(&json!({ "name": name.trim(), "role": role, "token": token }))?
                }
                Format::Text => {
                    outln!("{token}");
                    eprintln!(
                        "API token {:?} ({role}); it is shown only now. Send it as `Authorization: Bearer <token>`.",
                        name.trim()
                    );
                }
            }
        }
    }
    Ok(())
}
