//! Deploy figures against in-process kubesim with per-request latency and simulated Job
//! and pod durations: one deploy against its critical path, requests per deploy, how fast
//! an image-pull failure is reported, 500 clients with bounded concurrency, and the same
//! single deploy done with kubectl as an operator would script it.
//!
//! `cargo run --release -p tenantry-engine --example bench`; set TENANTRY_BENCH_KUBECTL to
//! a kubectl binary for the comparison. Prints the figures and writes docs/benchmarks.md.

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kubesim::{Config, FaultConfig, Timings};
use secrecy::SecretString;
use tenantry_core::render::Secrets;
use tenantry_core::{ApiRootUrl, ClientId, NamespaceName, OrgName, ParamName};
use tenantry_engine::{DeployOptions, Verdict, deploy, render_plan};
use tenantry_store::{Catalog, KeySource, NewClient, NewNamespace, OpenOptions, Scope};

const LATENCY_MS: u64 = 5;

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

fn peak_rss_mib() -> f64 {
    vm_hwm(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
}

async fn setup(url: &str, dir: &std::path::Path, clients: usize, image: &str) -> Catalog {
    let opts = OpenOptions {
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        key: KeySource::Hex(SecretString::from("ab".repeat(32))),
        max_connections: 8,
    };
    let cat = Catalog::open(&opts).await.unwrap().0;
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
        ("docker-image", image),
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
    for i in 0..clients {
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

async fn sim(fail_pull: &[&str]) -> kubesim::Running {
    let mut c = Config {
        timings: timings(),
        namespaces: vec!["lms".into()],
        ..Config::default()
    };
    c.faults = FaultConfig {
        latency_ms: LATENCY_MS,
        ..FaultConfig::default()
    };
    c.scenarios.fail_image_pull = fail_pull.iter().map(|s| (*s).to_owned()).collect();
    kubesim::start(c).await.unwrap()
}

/// The product's defaults (a 500 ms look-again tick: waits hear of changes by watch,
/// not by that tick), with a deadline for the benchmark.
fn opts() -> DeployOptions {
    DeployOptions {
        timeout: Duration::from_secs(120),
        ..DeployOptions::default()
    }
}

/// The first line a child prints.
fn first_line(out: &mut std::process::ChildStdout) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(out).read_line(&mut line).unwrap();
    line.trim().to_owned()
}

/// A process's peak resident memory, from /proc.
fn peak_rss_of(pid: u32) -> f64 {
    vm_hwm(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default())
}

fn vm_hwm(status: &str) -> f64 {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `--kubesim`: serves the benchmark's simulator, prints its URL, and runs until its
/// standard input closes.
async fn kubesim_role() {
    let s = sim(&[]).await;
    println!("{}", s.url());
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    })
    .await
    .unwrap();
    s.stop();
}

/// `--fleet URL N`: deploys N clients, 25 at a time, to the cluster at URL; prints the
/// wall time, the errors and this process's peak memory as JSON.
async fn fleet_role(url: &str, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let cat = setup(url, dir.path(), n, "registry.test/lms:1").await;
    let started = Instant::now();
    let results: Vec<_> = futures_util::stream::iter(1..=n)
        .map(|i| {
            let cat = cat.clone();
            async move {
                deploy(
                    &cat,
                    ClientId::from_number(i as u64).unwrap(),
                    "lms",
                    &opts(),
                    &|_| {},
                )
                .await
            }
        })
        .buffer_unordered(25)
        .collect()
        .await;
    let wall = started.elapsed();
    let errors = results
        .iter()
        .filter(|r| !matches!(r, Ok(o) if o.status == Verdict::Succeeded))
        .count();
    println!(
        "{}",
        serde_json::json!({"wall_s": wall.as_secs_f64(), "errors": errors, "peak_mib": peak_rss_mib()})
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--kubesim") => return kubesim_role().await,
        Some("--fleet") => return fleet_role(&args[2], args[3].parse().unwrap()).await,
        _ => {}
    }
    let t = timings();
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<(String, String)> = Vec::new();

    // One client at a time, several times: wall time against the critical path.
    const SINGLE: usize = 7;
    let s = sim(&[]).await;
    let cat = setup(&s.url(), dir.path(), SINGLE, "registry.test/lms:1").await;
    let mut walls = Vec::new();
    let mut requests = Vec::new();
    let mut own = Vec::new();
    for i in 1..=SINGLE {
        let id = ClientId::from_number(i as u64).unwrap();
        // Generate the client's secrets first (an RSA key takes a random 0.1–1 s): the
        // figure is about talking to the cluster, not about key generation.
        render_plan(&cat, id, "lms", Secrets::Mask).await.unwrap();
        let started = Instant::now();
        let prepared = tenantry_engine::prepare(&cat, id, "lms", &opts())
            .await
            .unwrap();
        let prepare = started.elapsed();
        let last_step = std::sync::Mutex::new(started);
        let out = prepared
            .execute(&opts(), &|_| *last_step.lock().unwrap() = Instant::now())
            .await
            .unwrap();
        walls.push(started.elapsed());
        // The engine's own time off the cluster: rendering and starting the run, and
        // finishing it after the last step is done.
        own.push(prepare + last_step.lock().unwrap().elapsed());
        assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
        requests.push(out.requests);
    }
    walls.sort();
    own.sort();
    let wall = walls[SINGLE / 2];
    let rtt = Duration::from_millis(LATENCY_MS);
    // POST Jobs → Jobs complete → POST wave 2 → POST Deployment → pods ready → GET pods.
    let job = t.schedule + t.pull + t.job_run;
    let pod = t.schedule + t.pull + t.start + t.ready;
    let bound = rtt * 4 + job + pod;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    rows.push((
        "one deploy: wall time / critical-path lower bound".into(),
        format!(
            "median of {SINGLE} clients {:.0} ms / {:.0} ms = {:.2}× (target ≤ 1.15×); fastest {:.2}×, slowest {:.2}×. Of the excess, {:.0} ms is the engine's own (render, start and finish the run); the rest is kubesim's controllers, which act on {} ms ticks",
            ms(wall),
            ms(bound),
            ms(wall) / ms(bound),
            ms(walls[0]) / ms(bound),
            ms(walls[SINGLE - 1]) / ms(bound),
            ms(own[SINGLE / 2]),
            t.tick.as_millis(),
        ),
    ));
    requests.sort_unstable();
    requests.dedup();
    rows.push((
        "API requests per successful deploy".into(),
        format!(
            "{requests:?} (target ≤ 12): 7 creates; one watch on both setup Jobs and one on their pods; one on the Deployment and one on its pods; the pods step's list. The count does not grow with how long things take"
        ),
    ));

    // The kubectl way, on the same simulator.
    if let Ok(kubectl) = std::env::var("TENANTRY_BENCH_KUBECTL") {
        let kdir = dir.path().join("kubectl");
        std::fs::create_dir_all(&kdir).unwrap();
        let kc = kdir.join("config");
        std::fs::write(&kc, format!("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {}\n  name: s\ncontexts:\n- context:\n    cluster: s\n    namespace: lms\n    user: u\n  name: s\ncurrent-context: s\nusers:\n- name: u\n  user: {{}}\n", s.url())).unwrap();
        // A second client, so that nothing exists yet.
        cat.create_client(&NewClient {
            name: OrgName::parse("kubectl").unwrap(),
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await
        .unwrap();
        let plan2 = render_plan(
            &cat,
            ClientId::from_number(SINGLE as u64 + 1).unwrap(),
            "lms",
            Secrets::Reveal,
        )
        .await
        .unwrap();
        let write = |name: &str, items: Vec<&serde_json::Value>| {
            let f = kdir.join(name);
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            std::fs::write(&f, list.to_string()).unwrap();
            f
        };
        let bodies = |kinds: &[&str]| {
            plan2
                .iter()
                .filter_map(|r| r.body.as_ref())
                .filter(|b| kinds.contains(&b["kind"].as_str().unwrap_or("")))
                .collect::<Vec<_>>()
        };
        let jobs = write("jobs.json", bodies(&["Job"]));
        let rest = write(
            "rest.json",
            bodies(&["ConfigMap", "Secret", "Service", "Ingress"]),
        );
        let dep = write("dep.json", bodies(&["Deployment"]));
        let k = |args: &[&str]| {
            let o = Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(&kc)
                .args(args)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        let started = Instant::now();
        tokio::task::block_in_place(|| {
            k(&["apply", "--validate=false", "-f", jobs.to_str().unwrap()]);
            k(&[
                "wait",
                "--for=condition=complete",
                &format!("job/clickhouse-setup-c{}", SINGLE + 1),
                &format!("job/postgres-setup-c{}", SINGLE + 1),
                "--timeout=60s",
            ]);
            k(&["apply", "--validate=false", "-f", rest.to_str().unwrap()]);
            k(&["apply", "--validate=false", "-f", dep.to_str().unwrap()]);
            k(&[
                "rollout",
                "status",
                &format!("deployment/lms-deployment-c{}", SINGLE + 1),
                "--timeout=60s",
            ]);
        });
        let kwall = started.elapsed();
        rows.push((
            "the same deploy by kubectl (apply, wait Jobs, apply, rollout status)".into(),
            format!(
                "{:.0} ms; tenantry / kubectl = {:.2}",
                kwall.as_secs_f64() * 1e3,
                wall.as_secs_f64() / kwall.as_secs_f64()
            ),
        ));
    }
    drop(cat);
    s.stop();

    // How fast an image that cannot be pulled is reported: from the moment kubesim's
    // store holds the pod with ErrImagePull (seen on its own change stream, in-process)
    // to the moment the deploy's step is reported failed.
    let s = sim(&["registry.test/missing*"]).await;
    let dir2 = tempfile::tempdir().unwrap();
    let cat = setup(&s.url(), dir2.path(), 1, "registry.test/missing:1").await;
    let c1 = ClientId::parse("C1").unwrap();
    render_plan(&cat, c1, "lms", Secrets::Mask).await.unwrap();
    let mut changes = s.changes();
    let set_at = tokio::spawn(async move {
        while let Ok(c) = changes.recv().await {
            let reason = c
                .object
                .pointer("/status/containerStatuses/0/state/waiting/reason")
                .and_then(serde_json::Value::as_str);
            if c.key.res == "pods" && reason == Some("ErrImagePull") {
                return Instant::now();
            }
        }
        panic!("kubesim never set ErrImagePull");
    });
    let failed_at = std::sync::Mutex::new(None);
    let out = deploy(&cat, c1, "lms", &opts(), &|step| {
        if step.template.as_str() == "deployment"
            && step.status == tenantry_engine::StepStatus::Failed
        {
            *failed_at.lock().unwrap() = Some(Instant::now());
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status, Verdict::Failed);
    let set_at = set_at.await.unwrap();
    let failed_at = failed_at
        .lock()
        .unwrap()
        .expect("the Deployment step failed");
    rows.push((
        "image-pull failure reported after kubesim set it".into(),
        format!(
            "{:.1} ms from the pod's ErrImagePull in kubesim's store to the failed step (target ≤ 1 s + one round trip of {LATENCY_MS} ms)",
            failed_at.duration_since(set_at).as_secs_f64() * 1e3
        ),
    ));
    drop(cat);
    s.stop();

    // 500 clients, 25 at a time, with kubesim in a process of its own so that the
    // engine's memory is measured alone (this process re-run in two roles).
    let n = 500;
    let exe = std::env::current_exe().unwrap();
    let mut sim_child = Command::new(&exe)
        .arg("--kubesim")
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = first_line(sim_child.stdout.as_mut().unwrap());
    let fleet = tokio::task::block_in_place(|| {
        Command::new(&exe)
            .args(["--fleet", &url, &n.to_string()])
            .output()
            .unwrap()
    });
    assert!(
        fleet.status.success(),
        "{}",
        String::from_utf8_lossy(&fleet.stderr)
    );
    let sim_peak = peak_rss_of(sim_child.id());
    drop(sim_child.stdin.take());
    let _ = sim_child.wait();
    let report: serde_json::Value = serde_json::from_slice(&fleet.stdout).unwrap();
    rows.push((
        format!("{n} clients, 25 at a time: wall time, errors"),
        format!(
            "{:.1} s, {} errors",
            report["wall_s"].as_f64().unwrap_or(0.0),
            report["errors"]
        ),
    ));
    rows.push((
        format!("peak resident memory of tenantry deploying {n} clients (engine and SQLite catalog; kubesim in another process)"),
        format!(
            "{:.0} MiB (target < 150 MiB); kubesim's process: {sim_peak:.0} MiB",
            report["peak_mib"].as_f64().unwrap_or(0.0)
        ),
    ));

    let mut section = format!(
        "## Deploying\n\n`cargo run --release -p tenantry-engine --example bench` (TENANTRY_BENCH_KUBECTL=.venv/bin/kubectl for the kubectl row), on the project's 2-core machine, against in-process kubesim with {LATENCY_MS} ms added to every request, Jobs running {} ms and pods ready {} ms after scheduling.\n\n| measure | figure |\n|---|---|\n",
        (t.schedule + t.pull + t.job_run).as_millis(),
        (t.schedule + t.pull + t.start + t.ready).as_millis()
    );
    for (k, v) in &rows {
        println!("{k}: {v}");
        section.push_str(&format!("| {k} | {v} |\n"));
    }
    tenantry_testkit::write_bench_section("deploy-bench", &section);
}
