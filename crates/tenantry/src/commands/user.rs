//! `tenantry user`: operators of the web UI and API, and API tokens.

use serde_json::json;
use tenantry_core::Role;
use tenantry_store::Catalog;
use tenantry_web::auth;

use crate::cli::UserCmd;
use crate::commands::{actor, read_stdin};
use crate::output::{Format, Table, json, outln};

fn password_from_stdin(user: &str) -> anyhow::Result<String> {
    let p = read_stdin("password")?;
    auth::check_password(&p, user).map_err(|e| anyhow::anyhow!("{e}"))?;
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
            let password = password_from_stdin(name.as_str())?;
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
                Some(auth::hash_password(&password_from_stdin(name.as_str())?).map_err(web)?)
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
        UserCmd::Token {
            name,
            role,
            owner,
            expires,
        } => {
            anyhow::ensure!(
                !name.trim().is_empty() && name.trim().chars().count() <= 100,
                "give the token a name of 1 to 100 characters saying what uses it, e.g. `tenantry user token ci --owner NAME`"
            );
            let (owner, _) = catalog
                .user_with_hash(owner.as_str())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {owner:?}; see `tenantry user list`"))?;
            anyhow::ensure!(
                role <= owner.role,
                "a token cannot have more rights than its owner: {} is {}",
                owner.name,
                owner.role
            );
            let token = format!("tnt_{}", auth::random_token());
            let now = auth::unix_now();
            let made = catalog
                .create_api_token(&tenantry_store::NewApiToken {
                    name: name.trim(),
                    token_hash: &auth::sha256_hex(&token),
                    role,
                    owner: &owner,
                    created_at: now,
                    expires_at: now + expires * 86_400,
                })
                .await?;
            let by = actor();
            catalog
                .audit(&tenantry_store::NewAudit {
                    actor: &by,
                    action: "create API token",
                    target: name.trim(),
                    detail: &format!("{role}, owner {}, {expires} days", owner.name),
                    address: "cli",
                })
                .await?;
            match format {
                Format::Json => json(&json!({
                    "name": made.name,
                    "role": role,
                    "owner": made.created_by,
                    "expires_at": made.expires_at,
                    "token": token,
                }))?,
                Format::Text => {
                    outln!("{token}");
                    eprintln!(
                        "API token {:?} ({role}, for {}, expires in {expires} days); it is shown only now. Send it as `Authorization: Bearer <token>`.",
                        made.name, made.created_by
                    );
                }
            }
        }
        UserCmd::Unlock { name } => {
            catalog
                .user_with_hash(name.as_str())
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("no user {:?}; see `tenantry user list`", name.as_str())
                })?;
            let had = catalog.unlock_user(name.as_str()).await?;
            let by = actor();
            catalog
                .audit(&tenantry_store::NewAudit {
                    actor: &by,
                    action: "unlock user",
                    target: name.as_str(),
                    detail: "",
                    address: "cli",
                })
                .await?;
            match format {
                Format::Json => json(&json!({ "user": name, "had_failures": had }))?,
                Format::Text if had => {
                    outln!("unlocked {name}: the failed logins counted against them are forgotten")
                }
                Format::Text => outln!("{name} had no failed logins counted; nothing to unlock"),
            }
        }
    }
    Ok(())
}
