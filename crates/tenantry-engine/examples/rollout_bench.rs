//! Rollout figures against kubesim (in a process of its own, 5 ms added to every
//! request): N clients (500 by default) get a new image in one rollout, a canary first,
//! then batches of 25 — wall time against the ideal (the canary, then N/25 batches,
//! each one deploy's time), requests per client, the driver's peak memory; then the
//! same with the driver killed (-9) halfway and a second driver taking over: time to
//! resume, and clients deployed twice (must be 0).
//!
//! `cargo run --release -p tenantry-engine --example rollout_bench [N]`. Prints the
//! figures and writes docs/benchmarks.md.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kubesim::{Config, FaultConfig, Timings};
use secrecy::SecretString;
use tenantry_core::rollout::{ClientState, Status};
use tenantry_core::{ApiRootUrl, ClientId, NamespaceName, OrgName, ParamName};
use tenantry_engine::rollout::{
    Canary, DriveOptions, RolloutOptions, Selection, drive, preview, start,
};
use tenantry_engine::{DeployOptions, deploy};
use tenantry_store::{Catalog, KeySource, NewClient, NewNamespace, OpenOptions, Scope};

const BATCH: usize = 25;

fn timings() -> Timings {
    Timings {
        tick: Duration::from_millis(10),
        schedule: Duration::from_millis(20),
        pull: Duration::from_millis(100),
        start: Duration::from_millis(30),
        ready: Duration::from_millis(70),
        job_run: Duration::from_millis(300),
        crash_after: Duration::from_millis(100),
        backoff: Duration::from_millis(200),
        deadline_second: Duration::from_millis(100),
        cron_minute: Duration::from_secs(60),
    }
}

async fn open(db: &str) -> Catalog {
    let opts = OpenOptions {
        database_url: db.to_owned(),
        key: KeySource::Hex(SecretString::from("ab".repeat(32))),
        max_connections: 8,
    };
    Catalog::open(&opts).await.unwrap().0
}

async fn set_image(cat: &Catalog, image: &str) {
    cat.set_param(
        &ParamName::parse("docker-image").unwrap(),
        &Scope::Namespace(NamespaceName::parse("lms").unwrap()),
        &SecretString::from(image.to_owned()),
        false,
    )
    .await
    .unwrap();
}

async fn setup(url: &str, db: &str, n: usize) -> Catalog {
    let cat = open(db).await;
    cat.add_namespace(&NewNamespace {
        name: NamespaceName::parse("lms").unwrap(),
        k8s_namespace: None,
        api_root_url: ApiRootUrl::parse(url).unwrap(),
        token: SecretString::from("unused".to_owned()),
        ca_bundle: None,
    })
    .await
    .unwrap();
    let ns = Scope::Namespace(NamespaceName::parse("lms").unwrap());
    for (k, v) in [
        ("clickhouse-host", "ch"),
        ("clickhouse-admin-user", "a"),
        ("clickhouse-admin-password", "p"),
        ("postgres-host", "pg"),
        ("postgres-admin-password", "p"),
        ("sms4b-token", "s"),
        ("public-dns", "lms.test"),
        ("docker-image", "registry.test/lms:1"),
        ("nfs-server", "192.0.2.1"),
    ] {
        cat.set_param(
            &ParamName::parse(k).unwrap(),
            &ns,
            &SecretString::from(v.to_owned()),
            false,
        )
        .await
        .unwrap();
    }
    for i in 0..n {
        cat.create_client(&NewClient {
            name: OrgName::parse(&format!("Client {i}")).unwrap(),
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await
        .unwrap();
    }
    cat
}

fn deploy_opts() -> DeployOptions {
    DeployOptions {
        timeout: Duration::from_secs(120),
        stale_after: Duration::from_secs(2),
        heartbeat: Duration::from_millis(500),
        ..DeployOptions::default()
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `--kubesim`: serves the simulator, prints its URL, runs until stdin closes.
async fn kubesim_role() {
    let s = kubesim::start(Config {
        timings: timings(),
        namespaces: vec!["lms".into()],
        faults: FaultConfig {
            latency_ms: 5,
            ..FaultConfig::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    println!("{}", s.url());
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    })
    .await
    .unwrap();
    s.stop();
}

/// `--drive DB ID`: drives rollout ID until it is over; prints wall time, requests
/// and peak memory as JSON.
async fn drive_role(db: &str, id: i64) {
    let cat = open(db).await;
    let started = Instant::now();
    let opts = DriveOptions {
        deploy: deploy_opts(),
        poll: Duration::from_millis(100),
        owner: tenantry_engine::lease_owner(),
    };
    // Another holder's claim lasts until its lease runs out: ask again until it is ours.
    let status = loop {
        let s = drive(&cat, id, &opts).await.unwrap();
        if s.is_final() {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let requests: u64 = tenantry_kube::counts::request_counts()
        .iter()
        .map(|(_, _, n)| n)
        .sum();
    println!(
        "{}",
        serde_json::json!({"status": status.as_str(), "wall_s": started.elapsed().as_secs_f64(),
            "requests": requests, "peak_mib": peak_rss_mib()})
    );
}

fn driver(db: &str, id: i64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--drive", db, &id.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(child: std::process::Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the driver failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A rollout of `image` to every client, and how long its preview took (seconds).
async fn new_rollout(cat: &Catalog, image: &str) -> (i64, f64) {
    set_image(cat, image).await;
    let opts = RolloutOptions {
        selection: Selection::All,
        canary: Canary::First(1),
        batch: BATCH,
        max_failures: 0,
        soak: Duration::ZERO,
    };
    let began = Instant::now();
    let p = preview(cat, "lms", &opts).await.unwrap();
    let took = began.elapsed().as_secs_f64();
    (start(cat, &p, "bench").await.unwrap(), took)
}

async fn succeeded(cat: &Catalog, id: i64) -> usize {
    cat.rollout(id)
        .await
        .unwrap()
        .clients
        .iter()
        .filter(|c| matches!(c.state, ClientState::Succeeded { .. }))
        .count()
}

fn secs_between(a: &str, b: &str) -> f64 {
    let p = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    (p(b) - p(a)).as_seconds_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--kubesim") => return kubesim_role().await,
        Some("--drive") => return drive_role(&args[2], args[3].parse().unwrap()).await,
        _ => {}
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut sim = Command::new(std::env::current_exe().unwrap())
        .arg("--kubesim")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let url = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(sim.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        line.trim().to_owned()
    };
    let cat = setup(&url, &db, n).await;
    eprintln!("deploying {n} clients first…");
    let first: Vec<_> = futures_util::stream::iter(1..=n)
        .map(|i| {
            let cat = cat.clone();
            async move {
                deploy(
                    &cat,
                    ClientId::from_number(i as u64).unwrap(),
                    "lms",
                    &deploy_opts(),
                    &|_| {},
                )
                .await
            }
        })
        .buffer_unordered(BATCH)
        .collect()
        .await;
    assert!(first.iter().all(|r| r.is_ok()), "the first deploys failed");

    eprintln!("rollout 1: a new image, canary then batches of {BATCH}…");
    let (one, preview_s) = new_rollout(&cat, "registry.test/lms:2").await;
    let got = report(driver(&db, one));
    let r = cat.rollout(one).await.unwrap();
    let why: Vec<String> = r
        .clients
        .iter()
        .filter(|c| c.state == ClientState::Failed)
        .map(|c| format!("{}: {}", c.client, c.reason.clone().unwrap_or_default()))
        .collect();
    assert_eq!(r.status, Status::Succeeded, "{got}: {why:?}");
    let canary_run = cat.run(r.clients[0].run.unwrap()).await.unwrap();
    let one_deploy = secs_between(
        &canary_run.started_at,
        canary_run.finished_at.as_deref().unwrap(),
    );
    // How long a deploy takes with BATCH of them at once on this machine: the pace
    // the driver cannot beat.
    let mut durations = Vec::new();
    for c in r.clients.iter().skip(1) {
        let run = cat.run(c.run.unwrap()).await.unwrap();
        durations.push(secs_between(
            &run.started_at,
            run.finished_at.as_deref().unwrap(),
        ));
    }
    durations.sort_by(f64::total_cmp);
    let median = durations.get(durations.len() / 2).copied().unwrap_or(0.0);
    let batches = 1 + (n - 1).div_ceil(BATCH);
    let paced = one_deploy + (batches - 1) as f64 * median;
    let ideal = batches as f64 * one_deploy;
    let wall = got["wall_s"].as_f64().unwrap();
    let per_client = got["requests"].as_f64().unwrap() / n as f64;

    eprintln!("rollout 2: the driver killed halfway, another takes over…");
    let (two, _) = new_rollout(&cat, "registry.test/lms:3").await;
    let began = Instant::now();
    let mut first_driver = driver(&db, two);
    while succeeded(&cat, two).await < n / 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first_driver.kill().unwrap(); // SIGKILL
    let _ = first_driver.wait();
    let killed = Instant::now();
    let at_kill = succeeded(&cat, two).await;
    let second = driver(&db, two);
    while succeeded(&cat, two).await <= at_kill {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resumed = killed.elapsed().as_secs_f64();
    let got2 = report(second);
    let r2 = cat.rollout(two).await.unwrap();
    let total2 = began.elapsed().as_secs_f64();
    let mut twice = 0;
    for c in &r2.clients {
        let runs = cat.runs(Some(c.client), 20).await.unwrap();
        let ok = runs
            .iter()
            .filter(|x| x.kind.as_str() == "deploy" && x.status.as_str() == "succeeded")
            .filter(|x| x.started_at >= r2.created_at)
            .count();
        if ok > 1 {
            twice += 1;
        }
    }
    drop(sim.stdin.take());
    let _ = sim.wait();

    let section = format!(
        "## Rolling out to the fleet\n\n`cargo run --release -p tenantry-engine --example rollout_bench {n}`, on the project's 2-core machine: kubesim in a process of its own with 5 ms added to every request (Jobs 420 ms, pods ready 220 ms after scheduling), the SQLite catalog shared by the driver processes.\n\n\
| measure | figure |\n|---|---|\n\
| {n} clients, one new image: canary then batches of {BATCH} — wall time against the ideal ({batches} batches × one deploy's {one_deploy:.2} s) | {wall:.1} s / {ideal:.1} s = {:.2}× ({}) |\n\
| the same against the pace of {BATCH} deploys at once (median {median:.2} s each): the driver's own overhead | {wall:.1} s / {paced:.1} s = {:.2}× |\n\
| the preview of those {n} clients (the cluster read once, each client rendered and diffed) | {preview_s:.1} s |\n\
| API requests per client sent by the driving process (the preview, done before, not counted) | {per_client:.1} |\n\
| peak resident memory of the driving process | {:.0} MiB |\n\
| the same with the driver killed (-9) after {at_kill} clients: time until a second driver carries on | {resumed:.1} s (from its start to the next client done: the killed driver's 25 deploys are taken over at once — its process is gone on this host — and run again from their plan) |\n\
| clients deployed twice by that rollout | {twice} (must be 0); rollout {}: {total2:.1} s in all, the second driver {:.1} s |\n",
        wall / ideal,
        r.status.as_str(),
        wall / paced,
        got["peak_mib"].as_f64().unwrap_or(0.0),
        r2.status.as_str(),
        got2["wall_s"].as_f64().unwrap_or(0.0),
    );
    println!("{section}");
    tenantry_testkit::write_bench_section("rollout-bench", &section);
}
