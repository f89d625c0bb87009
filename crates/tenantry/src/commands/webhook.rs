//! `tenantry webhook …`: outgoing webhooks (delivered by `tenantry serve`).

use secrecy::SecretString;
use serde_json::json;
use tenantry_core::webhook::{Event, Format};
use tenantry_store::Catalog;

use crate::cli::{UsageError, WebhookCmd};
use crate::commands::read_stdin;
use crate::output::{Format as Output, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: WebhookCmd, format: Output) -> anyhow::Result<()> {
    match cmd {
        WebhookCmd::Add {
            url,
            events,
            format: body,
            secret_stdin,
        } => {
            let parsed = url::Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    UsageError(format!(
                        "{url:?} is not an http:// or https:// address, e.g. https://hooks.example/tenantry"
                    ))
                })?;
            let events = events
                .iter()
                .map(|e| Event::parse(e).map_err(UsageError))
                .collect::<Result<Vec<_>, _>>()?;
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
