//! `tenantry serve`: the web UI and JSON API.

use anyhow::Context;
use tenantry_engine::DeployOptions;
use tenantry_store::Catalog;
use tenantry_web::{AppState, Config};

use crate::cli::ServeArgs;

pub async fn run(catalog: &Catalog, args: &ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        deploy: DeployOptions {
            timeout: args.deploy_timeout,
            ..DeployOptions::default()
        },
        secure_cookies: args.secure_cookies,
        public_url: args.public_url.clone(),
        audit_retention_days: args.audit_retention,
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(catalog.clone(), config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sweeper = state.sweep_abandoned_runs(args.sweep_interval);
    let pruner = state.prune_audit_hourly();
    let url = args.public_url.as_ref().map_or_else(
        || format!("http://{addr}"),
        |u| u.url.trim_end_matches('/').to_owned(),
    );
    let served = serve(state, listener, &url).await;
    sweeper.abort();
    pruner.abort();
    served
}

/// Announces how to get in, resumes interrupted deploys, and serves until Ctrl-C.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    url: &str,
) -> anyhow::Result<()> {
    if let Some(token) = state
        .setup_token_if_needed()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        eprintln!(
            "tenantry: no users yet. Create the first admin at {url}/setup?token={token}\n          (or: tenantry user add NAME --admin --password-stdin)"
        );
    }
    let resumed = state
        .resume_orphaned_runs()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !resumed.is_empty() {
        eprintln!(
            "tenantry: resumed {} interrupted deploy(s): runs {resumed:?}",
            resumed.len()
        );
    }
    // The fleet's watches start now, so the first page finds them synced; self-heal
    // looks for drift in the namespaces that ask for it every 10 s.
    state.fleet();
    let healer = state.self_heal_every(std::time::Duration::from_secs(10));
    // Rollouts are state in the catalog: this server drives those no one else does.
    let rollouts = state.drive_rollouts_every(std::time::Duration::from_secs(2));
    // Webhook deliveries queued by any process sharing the catalog.
    let webhooks = state.deliver_webhooks_every(std::time::Duration::from_secs(1));
    eprintln!("tenantry: serving the web UI at {url} and the API at {url}/api/v1");
    let served = tenantry_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the web server failed");
    healer.abort();
    rollouts.abort();
    webhooks.abort();
    served
}
