//! `tenantry status` and `tenantry diff`: the live health and drift of client
//! environments, read from the cluster directly (no server).

use anyhow::Context;
use serde_json::Value;
use tenantry_core::fleet::SyncState;
use tenantry_core::{ClientId, NamespaceName};
use tenantry_engine::fleet::{Against, EnvReport, FleetRow, observe, observe_client, report};
use tenantry_store::Catalog;

use crate::output::{Format, Table, json, outln};

/// `diff` found differences: exit 1, everything already printed.
#[derive(Debug)]
pub struct Differs;

impl std::fmt::Display for Differs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the environment differs")
    }
}

impl std::error::Error for Differs {}

fn run_cell(r: &FleetRow) -> String {
    r.last_run.as_ref().map_or("—".to_owned(), |run| {
        format!("{} {} ({})", run.kind.as_str(), run.status.as_str(), run.id)
    })
}

fn sync_cell(r: &FleetRow) -> String {
    if r.drifted {
        format!("drifted ({})", r.out_of_sync)
    } else {
        "in sync".to_owned()
    }
}

pub async fn status(
    catalog: &Catalog,
    namespace: Option<NamespaceName>,
    client: Option<ClientId>,
    drifted: bool,
    format: Format,
) -> anyhow::Result<()> {
    let namespaces: Vec<String> = match &namespace {
        Some(ns) => vec![
            catalog
                .namespace(ns.as_str())
                .await?
                .name
                .as_str()
                .to_owned(),
        ],
        None => catalog
            .namespaces()
            .await?
            .into_iter()
            .map(|n| n.name.as_str().to_owned())
            .collect(),
    };
    let mut rows = Vec::new();
    for ns in &namespaces {
        let seen = observe(catalog, ns)
            .await
            .with_context(|| format!("cannot read the environments of {ns}"))?;
        rows.extend(
            seen.into_iter()
                .map(|o| o.row)
                .filter(|r| client.is_none_or(|c| r.client == c))
                .filter(|r| !drifted || r.drifted),
        );
    }
    match format {
        Format::Json => json(&rows)?,
        Format::Text if rows.is_empty() => outln!("no client environment matches"),
        Format::Text => {
            let mut t = Table::new(&[
                "NAMESPACE",
                "CLIENT",
                "HEALTH",
                "SYNC",
                "REVISION",
                "LAST RUN",
                "REASON",
            ]);
            for r in &rows {
                t.row(vec![
                    r.namespace.clone(),
                    r.client.to_string(),
                    r.health.to_string(),
                    sync_cell(r),
                    r.revision.map_or("—".into(), |n| n.to_string()),
                    run_cell(r),
                    r.reason.clone(),
                ]);
            }
            t.print();
        }
    }
    Ok(())
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(absent)".to_owned(),
        other => other.to_string(),
    }
}

pub async fn diff(
    catalog: &Catalog,
    id: ClientId,
    ns: &NamespaceName,
    rendered: bool,
    format: Format,
) -> anyhow::Result<()> {
    catalog.client(id).await?;
    let against = if rendered {
        Against::Rendering
    } else {
        Against::Revision
    };
    let seen = observe_client(catalog, id, ns.as_str(), against).await?;
    let Some(seen) = seen else {
        anyhow::bail!(
            "{id} has no environment in {ns}: nothing of it is in the cluster and no deploy there has succeeded"
        );
    };
    let report: EnvReport = report(catalog, seen).await?;
    let differs = report.objects.iter().any(|o| o.sync != SyncState::InSync);
    match format {
        Format::Json => json(&report)?,
        Format::Text => {
            let what = match (rendered, report.row.revision) {
                (true, _) => "rendered today".to_owned(),
                (false, Some(n)) => format!("revision {n}"),
                (false, None) => "no revision".to_owned(),
            };
            if !differs {
                outln!("{id} in {ns} is as {what}");
            } else {
                outln!("--- {id} in {ns}, {what}");
                outln!("+++ {id} in {ns}, live");
            }
            if rendered {
                let from = tenantry_engine::plan::sources(catalog, id, ns.as_str()).await?;
                if !from.client.is_empty() {
                    outln!(
                        "# rendered with {id}'s own overrides: {}",
                        from.client.join(", ")
                    );
                }
            }
            for o in report
                .objects
                .iter()
                .filter(|o| o.sync != SyncState::InSync)
            {
                match o.sync {
                    SyncState::Missing => {
                        outln!("{} {}: missing (a deploy creates it)", o.kind, o.name);
                    }
                    SyncState::Extra => outln!(
                        "{} {}: extra (labelled as {id}'s, not rendered; a deploy leaves it)",
                        o.kind,
                        o.name
                    ),
                    _ => {
                        outln!("{} {}:", o.kind, o.name);
                        for d in &o.diff {
                            outln!("-  {}: {}", d.path, shown(&d.desired));
                            outln!(
                                "+  {}: {}",
                                d.path,
                                d.live.as_ref().map_or("(absent)".into(), shown)
                            );
                        }
                    }
                }
            }
        }
    }
    if differs {
        return Err(Differs.into());
    }
    Ok(())
}
