//! `tenantry deploy` and `tenantry runs`: build a client's environment, see how it went.

use std::io::IsTerminal;
use std::time::Duration;

use tenantry_core::{ClientId, NamespaceName};
use tenantry_engine::{DeployOptions, StepReport, StepStatus};
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

pub use tenantry_engine::Operation;

fn doing(op: Operation) -> &'static str {
    match op {
        Operation::Deploy => "deploying",
        Operation::Suspend => "suspending",
        Operation::Resume => "resuming",
        Operation::Rollback(_) => "rolling back",
        Operation::Decommission(_) => "decommissioning",
    }
}

/// A decommission deletes a client's environment: without `--yes` it asks for the
/// client id on a terminal, and without a terminal it refuses.
pub fn confirm_decommission(id: ClientId, ns: &NamespaceName, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(crate::cli::UsageError(format!(
            "decommission deletes {id}'s environment in {ns}: with no terminal to confirm on, give --yes"
        ))
        .into());
    }
    eprint!("This deletes {id}'s environment in {ns}. Type {id} to confirm: ");
    let mut typed = String::new();
    std::io::stdin().read_line(&mut typed)?;
    if typed.trim() == id.to_string() {
        Ok(())
    } else {
        Err(crate::cli::UsageError("not confirmed: nothing was deleted".into()).into())
    }
}

pub async fn run(
    catalog: &Catalog,
    id: ClientId,
    ns: &NamespaceName,
    op: Operation,
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
        outln!("{} {id} in {ns}", doing(op));
    }
    let live = Live::new(text && tty);
    let progress = |s: &StepReport| {
        if !text {
            return;
        }
        if live.show(s) {
            return;
        }
        // Without a terminal: one line per finished step.
        if matches!(s.status, StepStatus::Running | StepStatus::Pending) {
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
    let prepared = tenantry_engine::prepare_operation(catalog, id, ns.as_str(), op, &opts).await?;
    let outcome = prepared.execute(&opts, &progress).await?;
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
    if let Some(why) = &outcome.unrecorded {
        eprintln!(
            "warning: {why}. The verdict above is the cluster's; `tenantry runs show {}` may still say running until a later operation takes the run over",
            outcome.run
        );
    }
    match outcome.reason {
        None => Ok(()),
        Some(reason) => anyhow::bail!("the {} of {id} in {ns} failed: {reason}", op.noun()),
    }
}

/// Spinners with elapsed times, one per step, on a terminal (indicatif).
struct Live {
    multi: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl Live {
    fn new(enabled: bool) -> Self {
        Self {
            multi: enabled.then(indicatif::MultiProgress::new),
            bars: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Shows a step's change; false when there is no terminal to show it on.
    fn show(&self, s: &StepReport) -> bool {
        let Some(multi) = &self.multi else {
            return false;
        };
        let mut bars = self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bar = bars.entry(s.template.to_string()).or_insert_with(|| {
            let b = multi.add(indicatif::ProgressBar::new_spinner());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "  {spinner} {prefix:<17} {elapsed:>3} {msg}",
            ) {
                b.set_style(style);
            }
            b.set_prefix(s.template.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        // One line per step: a wrapped line would break the redraw.
        let width = usize::from(console_width()).saturating_sub(32).max(20);
        let first: String = s
            .detail
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(width)
            .collect();
        match s.status {
            StepStatus::Pending | StepStatus::Running => bar.set_message(first),
            StepStatus::Done | StepStatus::Failed | StepStatus::Skipped => {
                if let Ok(style) = indicatif::ProgressStyle::with_template("  {prefix:<19} {msg}") {
                    bar.set_style(style);
                }
                bar.set_prefix(format!("{} {}", mark(&s.status), s.template));
                bar.finish_with_message(format!("{first} ({:.1}s)", s.elapsed_ms as f64 / 1000.0));
                for more in s.detail.lines().skip(1) {
                    let _ = multi.println(format!("      {more}"));
                }
            }
        }
        true
    }
}

/// The terminal's width as the shell reports it, 100 otherwise.
fn console_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

pub async fn runs(catalog: &Catalog, cmd: RunsCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        RunsCmd::List { client, limit } => {
            let runs = catalog.runs(client, limit).await?;
            match format {
                Format::Json => json(&runs)?,
                Format::Text => {
                    let mut t = Table::new(&[
                        "RUN",
                        "KIND",
                        "CLIENT",
                        "NAMESPACE",
                        "STATUS",
                        "STARTED",
                        "REASON",
                    ]);
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
                            r.kind.to_string(),
                            r.client.to_string(),
                            r.namespace.clone(),
                            r.status.to_string(),
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
            let objects = catalog.run_objects(run).await?;
            match format {
                Format::Json => {
                    json(&serde_json::json!({"run": r, "requests": requests, "objects": objects}))?
                }
                Format::Text => {
                    outln!(
                        "run {} — {} of {} in {}: {} (started {}, by {})",
                        r.id,
                        r.kind,
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
                    if !objects.is_empty() {
                        let mut t = Table::new(&["OBJECT", "ACTION", "UID", "VERSION"]);
                        for o in &objects {
                            t.row(vec![
                                format!("{} {}/{}", o.kind, o.namespace, o.name),
                                o.action.clone(),
                                o.uid.clone(),
                                o.resource_version.clone(),
                            ]);
                        }
                        t.print();
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

/// `tenantry history ID -n NS`: the environment's revisions, oldest first.
pub async fn history(
    catalog: &Catalog,
    id: ClientId,
    ns: &NamespaceName,
    diff: bool,
    format: Format,
) -> anyhow::Result<()> {
    catalog.client(id).await?;
    let revisions = tenantry_engine::history::history(catalog, id, ns.as_str()).await?;
    match format {
        Format::Json => json(&revisions)?,
        Format::Text if revisions.is_empty() => {
            outln!("{id} has no revisions in {ns}: no deploy of it there has succeeded yet");
        }
        Format::Text => {
            let mut t = Table::new(&["REVISION", "RUN", "CREATED", "IMAGE", "CHANGES"]);
            for r in &revisions {
                let changes = match (r.number, r.changes.len()) {
                    (1, _) => "first deploy".to_owned(),
                    (_, 0) => "nothing".to_owned(),
                    _ => r.changes.join("; "),
                };
                t.row(vec![
                    r.number.to_string(),
                    r.run.to_string(),
                    r.created_at.clone(),
                    r.image.clone(),
                    changes,
                ]);
            }
            t.print();
            for r in revisions.iter().filter(|r| diff && !r.diffs.is_empty()) {
                outln!(
                    "\nrevision {} (run {}), against revision {}:",
                    r.number,
                    r.run,
                    r.number - 1
                );
                for d in &r.diffs {
                    let (old, new) = (
                        d.before.as_deref().unwrap_or(""),
                        d.after.as_deref().unwrap_or(""),
                    );
                    let text = similar::TextDiff::from_lines(old, new)
                        .unified_diff()
                        .context_radius(3)
                        .header(
                            &format!("{} (revision {})", d.object, r.number - 1),
                            &format!("{} (revision {})", d.object, r.number),
                        )
                        .to_string();
                    outln!("{}", text.trim_end());
                }
            }
        }
    }
    Ok(())
}
