//! `tenantry adopt`: hand-made environments taken under management (see
//! `tenantry_engine::adopt`). Without `--yes` a dry run is shown first and confirmed.

use std::io::IsTerminal;

use serde_json::Value;
use tenantry_core::NamespaceName;
use tenantry_engine::DeployOptions;
use tenantry_engine::adopt::{AdoptOptions, AdoptReport, AdoptStatus, EnvAdoption, adopt};
use tenantry_store::Catalog;

use crate::cli::UsageError;
use crate::output::{Format, json, outln};

pub async fn run(
    catalog: &Catalog,
    ns: &NamespaceName,
    opts: AdoptOptions,
    yes: bool,
    format: Format,
) -> anyhow::Result<()> {
    let run_opts = DeployOptions::default();
    if opts.dry_run || yes {
        let report = adopt(catalog, ns.as_str(), &opts, &run_opts).await?;
        return shown(&report, format);
    }
    let dry = AdoptOptions {
        dry_run: true,
        ..opts.clone()
    };
    let preview = adopt(catalog, ns.as_str(), &dry, &run_opts).await?;
    let n = preview.count(AdoptStatus::WouldAdopt);
    if n == 0 {
        return show(&preview, format);
    }
    if !std::io::stdin().is_terminal() || format == Format::Json {
        show(&preview, format)?;
        return Err(UsageError(format!(
            "adopting {n} environment(s) in {ns} labels their objects and stores their secrets: with no terminal to confirm on, give --yes (or --dry-run to only look)"
        ))
        .into());
    }
    show(&preview, format)?;
    eprint!("Adopt {n} environment(s) in {ns}? Type yes to confirm: ");
    let mut typed = String::new();
    std::io::stdin().read_line(&mut typed)?;
    if typed.trim() != "yes" {
        return Err(UsageError("not confirmed: nothing was adopted".into()).into());
    }
    let report = adopt(catalog, ns.as_str(), &opts, &run_opts).await?;
    shown(&report, format)
}

/// Shows the report; an environment that failed to be adopted makes the exit status 1.
fn shown(r: &AdoptReport, format: Format) -> anyhow::Result<()> {
    show(r, format)?;
    match r.count(AdoptStatus::Failed) {
        0 => Ok(()),
        n => Err(anyhow::anyhow!(
            "{n} environment(s) could not be adopted; the report above says why"
        )),
    }
}

fn status_word(e: &EnvAdoption) -> String {
    match e.status {
        AdoptStatus::Adopted => format!(
            "adopted (run {}, revision {})",
            e.run.unwrap_or_default(),
            e.revision.unwrap_or_default()
        ),
        AdoptStatus::WouldAdopt => "would be adopted".into(),
        AdoptStatus::AlreadyManaged => "already managed".into(),
        AdoptStatus::Incomplete => "incomplete".into(),
        AdoptStatus::Skipped => "skipped".into(),
        AdoptStatus::Failed => "failed".into(),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

fn show(r: &AdoptReport, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return json(r);
    }
    if r.environments.is_empty() {
        outln!("no hand-made environment found in {}", r.namespace);
    }
    for e in &r.environments {
        outln!(
            "{} ({} in the cluster) — {}: {}",
            e.client,
            e.written,
            e.organisation,
            status_word(e)
        );
        if let Some(why) = &e.reason {
            outln!("  {why}");
        }
        if e.status == AdoptStatus::AlreadyManaged {
            continue;
        }
        let objects: Vec<String> = e.objects.iter().map(ToString::to_string).collect();
        outln!("  objects: {}", objects.join(", "));
        for v in &e.values {
            outln!("  {} read from {}", v.name, v.from);
        }
        for n in &e.not_found {
            outln!("  {n} not found in its objects: generated at the first deploy");
        }
        for c in &e.conflicts {
            outln!("  warning: {c}");
        }
        if e.changes.is_empty() {
            outln!("  a first deploy would change nothing");
        } else {
            outln!("  a first deploy would change:");
            for c in &e.changes {
                if c.change == "create" {
                    outln!("    {} {}: create (missing)", c.kind, c.name);
                }
                for f in &c.fields {
                    let live = f.live.as_ref().map_or("(none)".to_owned(), short);
                    outln!(
                        "    {} {}: {}: {} → {}",
                        c.kind,
                        c.name,
                        f.path,
                        live,
                        short(&f.desired)
                    );
                }
            }
            if e.restarts_pods {
                outln!("  (its pods would restart)");
            }
        }
    }
    if !r.unmatched.is_empty() {
        let names: Vec<String> = r.unmatched.iter().map(ToString::to_string).collect();
        outln!("matched no environment: {}", names.join(", "));
    }
    let verb = if r.dry_run { "would adopt" } else { "adopted" };
    let n = if r.dry_run {
        r.count(AdoptStatus::WouldAdopt)
    } else {
        r.count(AdoptStatus::Adopted)
    };
    outln!(
        "{verb} {n}; already managed {}; incomplete {}; skipped {}; failed {}",
        r.count(AdoptStatus::AlreadyManaged),
        r.count(AdoptStatus::Incomplete),
        r.count(AdoptStatus::Skipped),
        r.count(AdoptStatus::Failed)
    );
    Ok(())
}
