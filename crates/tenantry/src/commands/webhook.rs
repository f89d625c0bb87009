//! `tenantry webhook …`: outgoing webhooks (delivered by `tenantry serve`).

use secrecy::SecretString;
use serde_json::json;
use tenantry_core::webhook::{Event, Format};
use tenantry_store::Catalog;

use crate::cli::{UsageError, WebhookCmd};
use crate::commands::read_stdin;
use crate::output::{Format as Output, Table, json, outln};

fn address(url: &str) -> Result<url::Url, UsageError> {
    tenantry_core::webhook::address(url).map_err(UsageError)
}

fn events_of(names: &[String]) -> Result<Vec<Event>, UsageError> {
    names
        .iter()
        .map(|e| Event::parse(e).map_err(UsageError))
        .collect()
}

pub async fn run(catalog: &Catalog, cmd: WebhookCmd, format: Output) -> anyhow::Result<()> {
    match cmd {
        WebhookCmd::Add {
            url,
            events,
            format: body,
            secret_stdin,
        } => {
            let parsed = address(&url)?;
            let events = events_of(&events)?;
            let body = Format::parse(&body).map_err(UsageError)?;
            let secret = if secret_stdin {
                Some(SecretString::from(read_stdin("secret")?))
            } else {
                None
            };
            let id = catalog
                .add_webhook(parsed.as_str(), &events, body, secret.as_ref(), "cli")
                .await?;
            match format {
                Output::Json => json(&json!({ "id": id }))?,
                Output::Text => outln!(
                    "webhook {id} added: {} is told of {}",
                    parsed,
                    events
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        WebhookCmd::List => {
            let all = catalog.webhooks().await?;
            if format == Output::Json {
                return json(&all);
            }
            let mut t = Table::new(&["ID", "URL", "EVENTS", "FORMAT", "SIGNED"]);
            for w in &all {
                t.row(vec![
                    w.id.to_string(),
                    w.url.clone(),
                    w.events.join(","),
                    w.format.clone(),
                    if w.signed { "yes".into() } else { "no".into() },
                ]);
            }
            t.print();
        }
        WebhookCmd::Edit {
            id,
            url,
            events,
            format: body,
            secret_stdin,
            unsign,
        } => {
            use tenantry_store::SecretChange;
            let Some(now) = catalog.webhooks().await?.into_iter().find(|w| w.id == id) else {
                anyhow::bail!("no webhook {id} (`tenantry webhook list` shows them)");
            };
            let parsed = address(url.as_deref().unwrap_or(&now.url))?;
            let events = events_of(events.as_deref().unwrap_or(&now.events))?;
            let body = Format::parse(body.as_deref().unwrap_or(&now.format)).map_err(UsageError)?;
            let secret = if secret_stdin {
                SecretChange::Set(SecretString::from(read_stdin("secret")?))
            } else if unsign {
                SecretChange::Remove
            } else {
                SecretChange::Keep
            };
            if !catalog
                .update_webhook(id, parsed.as_str(), &events, body, &secret)
                .await?
            {
                anyhow::bail!("no webhook {id}");
            }
            outln!("webhook {id} changed");
        }
        WebhookCmd::Remove { id } => {
            if !catalog.remove_webhook(id).await? {
                anyhow::bail!("no webhook {id}");
            }
            outln!("webhook {id} removed");
        }
        WebhookCmd::Deliveries { webhook, limit } => {
            let all = catalog.deliveries(webhook, limit).await?;
            if format == Output::Json {
                return json(&all);
            }
            let mut t = Table::new(&["ID", "WEBHOOK", "EVENT", "STATUS", "ATTEMPTS"]);
            for d in &all {
                let tries: Vec<String> = d
                    .attempts
                    .iter()
                    .map(|a| {
                        a.code
                            .map_or_else(|| a.error.clone().unwrap_or_default(), |c| c.to_string())
                    })
                    .collect();
                t.row(vec![
                    d.id.to_string(),
                    d.webhook.to_string(),
                    d.event.clone(),
                    d.status.clone(),
                    tries.join(" → "),
                ]);
            }
            t.print();
        }
    }
    Ok(())
}
