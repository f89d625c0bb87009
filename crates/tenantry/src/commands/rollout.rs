//! `tenantry rollout …`: one change to many clients of a namespace (see
//! `tenantry_engine::rollout`).

use std::io::IsTerminal;
use std::time::Duration;

use tenantry_core::health::EnvHealth;
use tenantry_core::rollout::{ClientState, Request, Status};
use tenantry_engine::DeployOptions;
use tenantry_engine::rollout::{
    Canary, DriveOptions, Preview, RolloutOptions, Selection, drive, preview, start, undo,
};
use tenantry_store::{Catalog, RolloutRecord};

use crate::cli::{RolloutCmd, UsageError};
use crate::output::{Format, Table, json, outln};

fn health(s: &str) -> anyhow::Result<EnvHealth> {
    const ALL: [EnvHealth; 6] = [
        EnvHealth::Healthy,
        EnvHealth::Suspended,
        EnvHealth::Progressing,
        EnvHealth::Missing,
        EnvHealth::Degraded,
        EnvHealth::Unknown,
    ];
    ALL.into_iter()
        .find(|h| h.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            UsageError(format!(
                "{s:?} is not a health: use healthy, suspended, progressing, missing, degraded or unknown"
            ))
            .into()
        })
}

/// Who drives from this process, as the clients it starts name it.
fn owner() -> String {
    format!("{}:cli", tenantry_engine::lease_owner())
}

pub fn drive_options() -> DriveOptions {
    DriveOptions {
        deploy: DeployOptions::default(),
        poll: Duration::from_secs(1),
        owner: owner(),
    }
}

fn show_preview(p: &Preview) {
    let changing = p.plan.canary.len() + p.plan.rest.len();
    outln!(
        "rollout of {}: {changing} client(s) change, {} up to date (skipped)",
        p.namespace,
        p.clients.iter().filter(|c| c.up_to_date).count()
    );
    if !p.plan.canary.is_empty() {
        let c: Vec<String> = p.plan.canary.iter().map(ToString::to_string).collect();
        outln!(
            "canary first: {} (then {}s of soak); then at most {} at once; halts after {} failure(s)",
            c.join(", "),
            p.plan.soak_secs,
            p.plan.batch,
            p.plan.max_failures + 1
        );
    } else {
        outln!(
            "at most {} at once; halts after {} failure(s)",
            p.plan.batch,
            p.plan.max_failures + 1
        );
    }
    for c in p.clients.iter().filter(|c| !c.up_to_date) {
        outln!("{}:", c.client);
        for o in &c.changes {
            if o.diff.is_empty() {
                outln!("  {} {}: {}", o.kind, o.name, o.sync.as_str());
            }
            for d in &o.diff {
                let live = d
                    .live
                    .as_ref()
                    .map_or("(absent)".to_owned(), ToString::to_string);
                outln!(
                    "  {} {}: {}: {live} → {}",
                    o.kind,
                    o.name,
                    d.path,
                    d.desired
                );
            }
        }
        if c.changes.is_empty() {
            outln!("  its last deploy did not end healthy: deployed again");
        }
    }
}

fn show(r: &RolloutRecord, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return json(r);
    }
    outln!(
        "rollout {} of {}: {}{}",
        r.id,
        r.namespace,
        r.status.as_str(),
        r.reason
            .as_ref()
            .map_or(String::new(), |w| format!(" — {w}"))
    );
    let mut t = Table::new(&["CLIENT", "CANARY", "STATUS", "RUN", "REASON"]);
    for c in &r.clients {
        let status = match c.state {
            ClientState::Pending => "pending",
            ClientState::UpToDate => "up to date",
            ClientState::Running => "running",
            ClientState::Succeeded { .. } => "succeeded",
            ClientState::Failed => "failed",
        };
        t.row(vec![
            c.client.to_string(),
            if c.canary {
                "yes".into()
            } else {
                String::new()
            },
            status.into(),
            c.run.map_or("—".into(), |r| r.to_string()),
            c.reason.clone().unwrap_or_default(),
        ]);
    }
    t.print();
    Ok(())
}

pub async fn run(catalog: &Catalog, cmd: RolloutCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        RolloutCmd::Start {
            namespace,
            clients,
            all,
            health: wanted,
            canary,
            canary_clients,
            batch,
            max_failures,
            soak,
            yes,
            wait,
        } => {
            let selection = match (all, wanted, clients.is_empty()) {
                (true, _, _) => Selection::All,
                (_, Some(h), _) => Selection::Health(health(&h)?),
                (_, None, false) => Selection::Clients(clients),
                (false, None, true) => {
                    return Err(UsageError(
                        "say which clients: --all, --clients C1,C2 or --health degraded".into(),
                    )
                    .into());
                }
            };
            let canary = match (canary, canary_clients.is_empty()) {
                (Some(n), _) => Canary::First(n),
                (None, false) => Canary::Clients(canary_clients),
                (None, true) => Canary::None,
            };
            let opts = RolloutOptions {
                selection,
                canary,
                batch,
                max_failures,
                soak,
            };
            let p = preview(catalog, namespace.as_str(), &opts).await?;
            if format == Format::Text {
                show_preview(&p);
            }
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(UsageError(
                        "a rollout deploys to many clients: with no terminal to confirm on, give --yes".into(),
                    )
                    .into());
                }
                eprint!("Start this rollout? Type yes to confirm: ");
                let mut typed = String::new();
                std::io::stdin().read_line(&mut typed)?;
                if typed.trim() != "yes" {
                    return Err(UsageError("not confirmed: nothing was started".into()).into());
                }
            }
            let id = start(catalog, &p, "cli").await?;
            match format {
                Format::Json if !wait => json(&serde_json::json!({ "id": id, "preview": p }))?,
                Format::Text => outln!("rollout {id} started"),
                Format::Json => {}
            }
            if wait {
                let status = drive(catalog, id, &drive_options()).await?;
                show(&catalog.rollout(id).await?, format)?;
                if status != Status::Succeeded {
                    anyhow::bail!("rollout {id} ended {}", status.as_str());
                }
            }
        }
        RolloutCmd::Show { id } => show(&catalog.rollout(id).await?, format)?,
        RolloutCmd::List => {
            let all = catalog.rollouts().await?;
            if format == Format::Json {
                return json(&all);
            }
            let mut t = Table::new(&["ID", "NAMESPACE", "STATUS", "CLIENTS", "CREATED"]);
            for r in &all {
                t.row(vec![
                    r.id.to_string(),
                    r.namespace.clone(),
                    r.status.as_str().into(),
                    r.clients.len().to_string(),
                    r.created_at.clone(),
                ]);
            }
            t.print();
        }
        RolloutCmd::Pause { id } => ask(catalog, id, Request::Pause, format).await?,
        RolloutCmd::Resume { id } => ask(catalog, id, Request::Go, format).await?,
        RolloutCmd::Abort { id } => ask(catalog, id, Request::Abort, format).await?,
        RolloutCmd::Drive { id } => {
            drive(catalog, id, &drive_options()).await?;
            show(&catalog.rollout(id).await?, format)?;
        }
        RolloutCmd::Undo { id, yes } => {
            if !yes && !std::io::stdin().is_terminal() {
                return Err(UsageError(
                    "undo deploys earlier revisions to many clients: with no terminal to confirm on, give --yes".into(),
                )
                .into());
            }
            let done = undo(catalog, id, &DeployOptions::default()).await?;
            let mut failed = 0;
            for (c, r) in &done {
                match r {
                    Ok(o) => outln!("{c}: rolled back ({}, run {})", o.status.as_str(), o.run),
                    Err(e) => {
                        failed += 1;
                        outln!("{c}: not rolled back: {e}");
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} client(s) could not be rolled back");
            }
        }
    }
    Ok(())
}

async fn ask(catalog: &Catalog, id: i64, r: Request, format: Format) -> anyhow::Result<()> {
    catalog.request_rollout(id, r).await?;
    show(&catalog.rollout(id).await?, format)
}
