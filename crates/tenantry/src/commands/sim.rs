//! `tenantry sim`: kubesim as a standalone server.

use anyhow::Context;
use kubesim::{Config, FaultConfig, Scenarios, Timings};

use crate::cli::SimArgs;

pub async fn run(args: &SimArgs) -> anyhow::Result<()> {
    for (name, rate) in [
        ("--error-rate", args.error_rate),
        ("--throttle-rate", args.throttle_rate),
        ("--drop-rate", args.drop_rate),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&rate),
            "{name} must be between 0 and 1, got {rate}"
        );
    }
    let prefix = args.path_prefix.trim_end_matches('/');
    anyhow::ensure!(
        prefix.is_empty() || prefix.starts_with('/'),
        "--path-prefix must start with '/', e.g. /k8s/clusters/c-local"
    );
    let config = Config {
        token: args.token.clone(),
        path_prefix: prefix.to_owned(),
        timings: if args.fast {
            Timings::fast()
        } else {
            Timings::default()
        },
        scenarios: Scenarios {
            fail_image_pull: args.fail_image_pull.clone(),
            crash_image: args.crash_image.clone(),
            fail_job_command: args.fail_job_command.clone(),
            slow_ready: args.slow_ready.iter().cloned().collect(),
        },
        faults: FaultConfig {
            seed: args.seed,
            latency_ms: args.latency_ms,
            error_rate: args.error_rate,
            throttle_rate: args.throttle_rate,
            retry_after_seconds: 1,
            drop_rate: args.drop_rate,
        },
        namespaces: ["default", "kube-system"]
            .into_iter()
            .map(str::to_owned)
            .chain(args.namespaces.iter().map(ToString::to_string))
            .collect(),
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let running = match &args.tls_dir {
        Some(dir) => kubesim::spawn_tls(config, listener, dir, &[])
            .with_context(|| format!("cannot set up TLS in {}", dir.display()))?,
        None => kubesim::spawn(config, listener)?,
    };
    if let Some(dir) = &args.tls_dir {
        eprintln!(
            "kubesim: CA certificate written to {}",
            dir.join("ca.crt").display()
        );
    }
    eprintln!(
        "kubesim: serving the Kubernetes API at {} (token {})",
        running.url(),
        if args.token.is_some() {
            "required"
        } else {
            "not required"
        }
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    running.stop();
    Ok(())
}
