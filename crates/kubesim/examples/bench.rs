//! kubesim at scale: 10,000 client environments' worth of objects in one namespace, then
//! list-with-selector and watch-delivery latency over HTTP, and peak memory.
//!
//! `cargo run --release -p kubesim --example bench [-- --clients N]`; prints the figures
//! and writes them into docs/benchmarks.md.

use std::time::{Duration, Instant};

use kubesim::Config;
use serde_json::json;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(xs: &mut [Duration], p: f64) -> Duration {
    xs.sort();
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

fn objects(i: usize) -> Vec<serde_json::Value> {
    let id = format!("c{i}");
    let labels = json!({"app": format!("C{i}-lms"), "app.kubernetes.io/managed-by": "tenantry"});
    let pod_spec = json!({"containers": [{"name": id, "image": "registry.test/lms:1", "ports": [{"containerPort": 8080, "name": "8080tcp"}]}]});
    let job = |kind: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("{kind}-setup-{id}"), "labels": labels},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "postgres:latest", "command": ["/bin/bash", "-c"], "args": ["true"]}]}}}})
    };
    vec![
        job("clickhouse"),
        job("postgres"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("lms-config-{id}"), "labels": labels}, "data": {"LMS_CLIENT_ID": format!("C{i}")}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("rsa-secret-{id}"), "labels": labels}, "data": {"rsa_key": "a2V5"}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("lms-service-{id}"), "labels": labels}, "spec": {"ports": [{"port": 8080}], "selector": {"app": format!("C{i}-lms")}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": format!("client-lms-ingress-{id}"), "labels": labels},
            "spec": {"rules": [{"host": "lms.test", "http": {"paths": [{"path": format!("/C{i}/(.*)"), "pathType": "Prefix", "backend": {"service": {"name": format!("lms-service-{id}"), "port": {"number": 8080}}}}]}}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("lms-deployment-{id}"), "labels": labels},
            "spec": {"selector": {"matchLabels": {"app": format!("C{i}-lms")}}, "template": {"metadata": {"labels": {"app": format!("C{i}-lms")}}, "spec": pod_spec}}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("lms-deployment-{id}-abcde"), "labels": {"app": format!("C{i}-lms")}}, "spec": pod_spec}),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let clients: usize = std::env::args()
        .skip_while(|a| a != "--clients")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let sim = kubesim::start(Config {
        controllers: false,
        namespaces: vec!["lms".into()],
        ..Config::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    for i in 0..clients {
        for obj in objects(i) {
            sim.create("lms", obj).expect("create");
        }
    }
    let load = started.elapsed();
    let count = sim.object_count();
    let http = reqwest::Client::new();
    let base = sim.url();

    let mut list_times = Vec::new();
    for k in 0..200 {
        let i = (k * 7919) % clients;
        let t = Instant::now();
        let body = http
            .get(format!(
                "{base}/api/v1/namespaces/lms/pods?labelSelector=app%3DC{i}-lms"
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        list_times.push(t.elapsed());
        assert!(body.contains(&format!("lms-deployment-c{i}-abcde")));
    }
    let mut full_list = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let body = http
            .get(format!("{base}/apis/apps/v1/namespaces/lms/deployments"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        full_list.push(t.elapsed());
        assert!(body.len() > 1000);
    }

    let mut watch_times = Vec::new();
    let mut resp = http.get(format!("{base}/api/v1/namespaces/lms/configmaps?watch=true&resourceVersion={}&labelSelector=bench%3Dwatch", sim.resource_version())).send().await.unwrap();
    for k in 0..200 {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("watch-{k}"), "labels": {"bench": "watch"}}});
        let t = Instant::now();
        sim.create("lms", obj).unwrap();
        let chunk = resp.chunk().await.unwrap().unwrap();
        watch_times.push(t.elapsed());
        assert!(String::from_utf8_lossy(&chunk).contains(&format!("watch-{k}")));
    }
    let peak = peak_rss_mib();
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    let rows = [
        (
            "objects held",
            format!("{count} ({clients} client environments × 8)"),
        ),
        (
            "load time (in-process create, validation included)",
            format!("{:.2} s", load.as_secs_f64()),
        ),
        (
            "list pods with labelSelector app=C<N>-lms over HTTP, p50 / p99 (200 requests)",
            format!(
                "{} / {}",
                ms(percentile(&mut list_times, 0.5)),
                ms(percentile(&mut list_times, 0.99))
            ),
        ),
        (
            &*format!("list all {clients} Deployments over HTTP, p50 (5 requests)"),
            ms(percentile(&mut full_list, 0.5)),
        ),
        (
            "watch delivery, create → event received, p50 / p99 (200 events)",
            format!(
                "{} / {}",
                ms(percentile(&mut watch_times, 0.5)),
                ms(percentile(&mut watch_times, 0.99))
            ),
        ),
        (
            "peak resident memory of the process",
            format!("{peak:.0} MiB"),
        ),
    ];
    let mut section = String::from(
        "<!-- kubesim-bench:start -->\n## kubesim at scale\n\n`cargo run --release -p kubesim --example bench`, on the project's 2-core machine.\n\n| measure | figure |\n|---|---|\n",
    );
    for (k, v) in &rows {
        println!("{k}: {v}");
        section.push_str(&format!("| {k} | {v} |\n"));
    }
    section.push_str("<!-- kubesim-bench:end -->\n");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\nFigures printed by the project's benchmarks; each section is rewritten by the command it names.\n\n".into());
    let updated = match (
        current.find("<!-- kubesim-bench:start -->"),
        current.find("<!-- kubesim-bench:end -->"),
    ) {
        (Some(a), Some(b)) => format!(
            "{}{section}{}",
            &current[..a],
            &current[b + "<!-- kubesim-bench:end -->\n".len()..]
        ),
        _ => format!("{current}{section}"),
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, updated).unwrap();
    println!("wrote {}", path.display());
}
