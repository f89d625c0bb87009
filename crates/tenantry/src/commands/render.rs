//! `tenantry render`: the dry run — every request of a client's plan, in order.

use serde_json::json;
use tenantry_core::render::Secrets;
use tenantry_core::template::WaitFor;
use tenantry_core::{ClientId, NamespaceName};
use tenantry_engine::render_plan;
use tenantry_store::Catalog;

use crate::output::{Format, json, outln};

pub async fn run(
    catalog: &Catalog,
    id: ClientId,
    namespace: &NamespaceName,
    reveal: bool,
    format: Format,
) -> anyhow::Result<()> {
    let secrets = if reveal {
        Secrets::Reveal
    } else {
        Secrets::Mask
    };
    let plan = render_plan(catalog, id, namespace.as_str(), secrets).await?;
    match format {
        Format::Json => {
            let items: Vec<_> = plan
                .iter()
                .map(|r| {
                    json!({
                        "template": r.template,
                        "method": r.method,
                        "url": r.url,
                        "body": r.body,
                        "wait": r.wait,
                        "after": r.after,
                    })
                })
                .collect();
            json(&items)?;
        }
        Format::Text => {
            let from = tenantry_engine::plan::sources(catalog, id, namespace.as_str()).await?;
            for (tier, names) in [
                (format!("{id}'s own overrides"), &from.client),
                (format!("namespace {namespace}"), &from.namespace),
                ("global settings".to_owned(), &from.global),
            ] {
                if !names.is_empty() {
                    outln!("# from {tier}: {}", names.join(", "));
                }
            }
            outln!("");
            for (i, r) in plan.iter().enumerate() {
                let wait = match r.wait {
                    WaitFor::None => String::new(),
                    WaitFor::JobComplete => " — then waits for the Job to complete".into(),
                    WaitFor::RolloutReady => " — then waits for the rollout".into(),
                    WaitFor::PodsReady => " — then waits for the pods to be ready".into(),
                };
                outln!("# {}. {}{wait}", i + 1, r.template);
                outln!("{} {}", r.method, r.url);
                if let Some(body) = &r.body {
                    outln!("{}", serde_json::to_string_pretty(body)?);
                }
                outln!("");
            }
        }
    }
    Ok(())
}
