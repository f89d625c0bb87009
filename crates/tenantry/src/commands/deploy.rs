//! `tenantry deploy` and `tenantry runs`: build a client's environment, see how it went.

use std::io::IsTerminal;
use std::time::Duration;

use tenantry_core::{ClientId, NamespaceName};
use tenantry_engine::deploy::StepStatus;
use tenantry_engine::{DeployOptions, StepReport, deploy};
use tenantry_store::Catalog;

use crate::cli::RunsCmd;
use crate::output::{Format, Table, json, outln};

fn mark(s: &StepStatus) -> &'static str {
    match s {
        StepStatus::Done => "✓",
        StepStatus::Failed => "✗",
        StepStatus::Skipped => "-",
        StepStatus::Running | StepStatus::Pending => "…",
    }
}

pub async fn run(
    catalog: &Catalog,
    id: ClientId,
    ns: &NamespaceName,
    timeout: Duration,
    poll: Duration,
    format: Format,
) -> anyhow::Result<()> {
    let opts = DeployOptions {
        timeout,
        poll,
        ..DeployOptions::default()
    };
    let tty = std::io::stdout().is_terminal();
    let text = format == Format::Text;
    if text {
        outln!("deploying {id} to {ns}");
    }
    let progress = move |s: &StepReport| {
        if !text {
            return;
        }
        // On a terminal the waiting lines are shown too; in logs only the results.
        if matches!(s.status, StepStatus::Running) && !(tty && s.detail.ends_with("waiting")) {
            return;
        }
        let first = s.detail.lines().next().unwrap_or("");
        outln!(
            "  {} {:<17} {} ({:.1}s)",
            mark(&s.status),
            s.template.as_str(),
            first,
            s.elapsed_ms as f64 / 1000.0
        );
        for more in s.detail.lines().skip(1) {
            outln!("      {more}");
        }
    };
    let outcome = deploy(catalog, id, ns.as_str(), &opts, &progress).await?;
    match format {
        Format::Json => json(&outcome)?,
        Format::Text => {
            let secs = outcome.elapsed_ms as f64 / 1000.0;
            match &outcome.reason {
                None => outln!(
                    "{id} in {ns}: succeeded in {secs:.1}s (run {}, {} requests)",
                    outcome.run,
                    outcome.requests
                ),
                Some(_) => outln!(
                    "{id} in {ns}: FAILED after {secs:.1}s (run {}; `tenantry runs show {}` has every request)",
                    outcome.run,
                    outcome.run
                ),
            }
        }
    }
    match outcome.reason {
        None => Ok(()),
        Some(reason) => anyhow::bail!("the deploy of {id} to {ns} failed: {reason}"),
    }
}

pub async fn runs(catalog: &Catalog, cmd: RunsCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        RunsCmd::List { client, limit } => {
            let runs = catalog.runs(client, limit).await?;
            match format {
                Format::Json => json(&runs)?,
                Format::Text => {
                    let mut t =
                        Table::new(&["RUN", "CLIENT", "NAMESPACE", "STATUS", "STARTED", "REASON"]);
                    for r in &runs {
                        let reason = r
                            .reason
                            .as_deref()
                            .unwrap_or("")
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_owned();
                        t.row(vec![
                            r.id.to_string(),
                            r.client.to_string(),
                            r.namespace.clone(),
                            r.status.clone(),
                            r.started_at.clone(),
                            reason,
                        ]);
                    }
                    t.print();
                }
            }
        }
        RunsCmd::Show { run } => {
            let r = catalog.run(run).await?;
            let requests = catalog.run_requests(run).await?;
            match format {
                Format::Json => json(&serde_json::json!({"run": r, "requests": requests}))?,
                Format::Text => {
                    outln!(
                        "run {} — {} in {}: {} (started {}, by {})",
                        r.id,
                        r.client,
                        r.namespace,
                        r.status,
                        r.started_at,
                        r.owner
                    );
                    if let Some(reason) = &r.reason {
                        outln!("reason: {reason}");
                    }
                    for s in r.report.as_array().into_iter().flatten() {
                        outln!(
                            "  {:<10} {:<17} {}",
                            s["status"].as_str().unwrap_or(""),
                            s["template"].as_str().unwrap_or(""),
                            s["detail"]
                                .as_str()
                                .unwrap_or("")
                                .lines()
                                .next()
                                .unwrap_or("")
                        );
                    }
                    let mut t = Table::new(&["#", "METHOD", "PATH", "STATUS", "MS"]);
                    for q in &requests {
                        t.row(vec![
                            q.seq.to_string(),
                            q.method.clone(),
                            q.path.clone(),
                            q.status.to_string(),
                            q.duration_ms.to_string(),
                        ]);
                    }
                    t.print();
                }
            }
        }
    }
    Ok(())
}
