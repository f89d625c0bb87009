//! The fleet at scale: 10,000 client environments (8 objects and a pod each) in kubesim,
//! each with its revision in an SQLite catalog; then the live cache's initial sync time
//! and resident memory, the time from a change made in the cluster (an image set by
//! hand) to `/api/v1/fleet` and the fleet page showing the drift, and the fleet page's
//! server time with 10,000 rows paged.
//!
//! `cargo run --release -p tenantry-web --example fleet_bench [-- --clients N]`; prints
//! the figures and writes the `fleet-bench` section of docs/benchmarks.md.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};
use tenantry_core::template::{TemplateName, WaitFor};
use tenantry_core::{ApiRootUrl, ClientId, NamespaceName, OrgName, Role, UserName};
use tenantry_engine::step::RevisionEntry;
use tenantry_store::{
    Catalog, EnvState, KeySource, NewClient, NewNamespace, OpenOptions, RunEnd, RunKind, Settled,
};
use tenantry_web::auth::{hash_password, sha256_hex, unix_now};
use tenantry_web::{AppState, Config};

fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(xs: &mut [Duration], p: f64) -> Duration {
    xs.sort();
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

/// Client `i`'s objects as tenantry renders them: (collection, body).
fn objects(i: usize) -> Vec<(&'static str, Value)> {
    let id = format!("c{i}");
    let labels = json!({"app": format!("C{i}-lms"), "app.kubernetes.io/managed-by": "tenantry", "tenantry.io/client": format!("C{i}")});
    let pod_spec = json!({"containers": [{"name": id, "image": "registry.test/lms:1", "ports": [{"containerPort": 8080, "name": "8080tcp"}]}]});
    let job = |kind: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("{kind}-setup-{id}"), "namespace": "lms-dev", "labels": labels},
        "spec": {"template": {"metadata": {"labels": {"job-name": format!("{kind}-setup-{id}")}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "postgres:latest", "command": ["/bin/bash", "-c"], "args": ["true"]}]}}}})
    };
    vec![
        ("apis/batch/v1/namespaces/lms-dev/jobs", job("clickhouse")),
        ("apis/batch/v1/namespaces/lms-dev/jobs", job("postgres")),
        (
            "api/v1/namespaces/lms-dev/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("lms-config-{id}"), "namespace": "lms-dev", "labels": labels}, "data": {"LMS_CLIENT_ID": format!("C{i}")}}),
        ),
        (
            "api/v1/namespaces/lms-dev/secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("rsa-secret-{id}"), "namespace": "lms-dev", "labels": labels}, "data": {"rsa_key": "a2V5"}}),
        ),
        (
            "api/v1/namespaces/lms-dev/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("lms-service-{id}"), "namespace": "lms-dev", "labels": labels}, "spec": {"ports": [{"port": 8080}], "selector": {"app": format!("C{i}-lms")}}}),
        ),
        (
            "apis/networking.k8s.io/v1/namespaces/lms-dev/ingresses",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": format!("client-lms-ingress-{id}"), "namespace": "lms-dev", "labels": labels},
            "spec": {"rules": [{"host": "lms.test", "http": {"paths": [{"path": format!("/C{i}/(.*)"), "pathType": "Prefix", "backend": {"service": {"name": format!("lms-service-{id}"), "port": {"number": 8080}}}}]}}]}}),
        ),
        (
            "apis/apps/v1/namespaces/lms-dev/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("lms-deployment-{id}"), "namespace": "lms-dev", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": format!("C{i}-lms")}}, "template": {"metadata": {"labels": {"app": format!("C{i}-lms")}}, "spec": pod_spec}}}),
        ),
        (
            "api/v1/namespaces/lms-dev/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("lms-deployment-{id}-abcde"), "namespace": "lms-dev", "labels": {"app": format!("C{i}-lms")}}, "spec": pod_spec}),
        ),
    ]
}

/// The resource's plural of an API collection path (`…/deployments` → `deployments`).
fn plural_of(collection: &str) -> &str {
    collection.rsplit('/').next().unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let clients: usize = std::env::args()
        .skip_while(|a| a != "--clients")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let sim = kubesim::start(kubesim::Config {
        controllers: false,
        namespaces: vec!["lms-dev".into()],
        ..kubesim::Config::default()
    })
    .await
    .unwrap();
    let db = tenantry_testkit::TestDb::sqlite();
    let catalog = Catalog::open(&OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(tenantry_testkit::TEST_MASTER_KEY)),
        max_connections: 4,
    })
    .await
    .unwrap()
    .0;
    catalog
        .add_namespace(&NewNamespace {
            name: NamespaceName::parse("lms-dev").unwrap(),
            k8s_namespace: None,
            api_root_url: ApiRootUrl::parse(&sim.url()).unwrap(),
            token: SecretString::from("unused"),
            ca_bundle: None,
        })
        .await
        .unwrap();
    let seeded = Instant::now();
    for i in 1..=clients {
        let c = catalog
            .create_client(&NewClient {
                name: OrgName::parse(&format!("Organisation {i}")).unwrap(),
                phones: vec![],
                emails: vec![],
                contacts: vec![],
            })
            .await
            .unwrap();
        let mut manifests = Vec::new();
        for (collection, body) in objects(i) {
            let plural = plural_of(collection);
            let name = body["metadata"]["name"].as_str().unwrap().to_owned();
            sim.create("lms-dev", body.clone()).expect("create");
            // With the controllers off, the status a running environment has.
            let status = match body["kind"].as_str() {
                Some("Deployment") => Some(
                    json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
                ),
                Some("Job") => Some(
                    json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
                ),
                Some("Pod") => Some(
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": format!("c{i}"), "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
                ),
                _ => None,
            };
            if let Some(st) = status {
                sim.edit(plural, "lms-dev", &name, |c| c["status"] = st.clone())
                    .unwrap();
            }
            if body["kind"] != "Pod" {
                manifests.push(
                    serde_json::to_value(RevisionEntry {
                        template: TemplateName::parse("bench").unwrap(),
                        path: collection.to_owned(),
                        wait: WaitFor::None,
                        after: vec![],
                        body,
                    })
                    .unwrap(),
                );
            }
        }
        let run = catalog
            .start_run(c.id, "lms-dev", RunKind::Deploy, "bench")
            .await
            .unwrap();
        catalog
            .finish_run(
                run.id,
                &RunEnd {
                    succeeded: true,
                    reason: None,
                    report: &json!([]),
                    objects: &[],
                    pods: &json!([]),
                    settled: Some(Settled {
                        client: c.id,
                        namespace: "lms-dev",
                        state: EnvState::Deployed,
                        replicas: 1,
                        revision: Some(("registry.test/lms:1", &manifests)),
                    }),
                },
            )
            .await
            .unwrap();
    }
    let seed_s = seeded.elapsed().as_secs_f64();
    let objects_held = sim.object_count();

    let user = catalog
        .create_user(
            &UserName::parse("bench").unwrap(),
            Role::Viewer,
            &hash_password("benchmark-password").unwrap(),
            unix_now(),
        )
        .await
        .unwrap();
    let sid = "b".repeat(64);
    catalog
        .create_session(&sha256_hex(&sid), user.id, "csrf", unix_now(), "bench")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(catalog.clone(), Config::default()).unwrap();

    // The cache: from start to every environment judged.
    let (rss_before, _) = rss_mib();
    let started = Instant::now();
    let fleet = state.fleet().clone();
    loop {
        // Synced: every list read, every revision loaded, every environment judged.
        let synced = fleet.status().iter().all(|n| n.synced);
        let rows = fleet.rows();
        if synced && rows.len() == clients && rows.iter().all(|r| r.revision.is_some()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "no sync");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sync = started.elapsed();
    let (rss_after, _) = rss_mib();
    let held: usize = fleet.status().iter().map(|n| n.bytes).sum();
    let healthy = fleet
        .rows()
        .iter()
        .filter(|r| r.health == tenantry_core::health::EnvHealth::Healthy)
        .count();

    tokio::spawn(tenantry_web::serve(listener, state, std::future::pending()));
    let http = reqwest::Client::new();
    let cookie = format!("tenantry_session={sid}");
    let get = |path: String| {
        let (http, cookie, url) = (http.clone(), cookie.clone(), url.clone());
        async move {
            let r = http
                .get(format!("{url}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.text().await.unwrap()
        }
    };
    // The fleet page, 10,000 rows paged.
    let mut page_times = Vec::new();
    for k in 0..20 {
        let t = Instant::now();
        let body = get(format!("/fleet?page={}", 1 + k * 5)).await;
        page_times.push(t.elapsed());
        assert!(body.contains("id=\"fleet\""));
    }
    let mut drifted_page = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        get("/fleet?drifted=true".to_owned()).await;
        drifted_page.push(t.elapsed());
    }

    // A change in the cluster, as `kubectl set image` makes it, to the API and the
    // page showing the drift.
    let mut to_api = Vec::new();
    let mut to_page = Vec::new();
    for k in 0..50usize {
        let i = 1 + (k * 7919) % clients;
        let t = Instant::now();
        sim.edit(
            "deployments",
            "lms-dev",
            &format!("lms-deployment-c{i}"),
            |c| {
                c["spec"]["template"]["spec"]["containers"][0]["image"] =
                    json!(format!("registry.test/lms:hand-{k}"));
            },
        )
        .unwrap();
        let client = ClientId::from_number(i as u64).unwrap();
        loop {
            let v: Value =
                serde_json::from_str(&get(format!("/api/v1/fleet?drifted=true&q=C{i}")).await)
                    .unwrap();
            if v["rows"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["client"] == client.to_string()))
            {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "drift of C{i} not seen"
            );
        }
        to_api.push(t.elapsed());
        let body = get(format!("/fleet?drifted=true&q=C{i}")).await;
        assert!(body.contains(&format!("data-client=\"C{i}\"")));
        to_page.push(t.elapsed());
    }
    let (_, peak) = rss_mib();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let rows = [
        (
            "fleet".to_owned(),
            format!(
                "{clients} client environments, {objects_held} objects in kubesim (8 and a pod each), one revision each (seeded in {seed_s:.0} s)"
            ),
        ),
        (
            "cache initial sync: start → every list read, every revision loaded, every environment judged".to_owned(),
            format!("{:.2} s ({healthy} healthy)", sync.as_secs_f64()),
        ),
        (
            "what the cache holds: objects, pods and revisions as compact JSON".to_owned(),
            format!("{:.0} MiB", held as f64 / 1024.0 / 1024.0),
        ),
        (
            "resident memory added by starting the cache (RSS after sync − before: includes in-process kubesim answering the lists and the lists' transient parsing, which the allocator keeps)".to_owned(),
            format!("{:.0} MiB (target < 200 MiB)", rss_after - rss_before),
        ),
        (
            "change in the cluster → /api/v1/fleet shows the drift, p50 / p99 (50 changes)"
                .to_owned(),
            format!(
                "{} / {} (target p99 < 1 s)",
                ms(percentile(&mut to_api, 0.5)),
                ms(percentile(&mut to_api, 0.99))
            ),
        ),
        (
            "… → the fleet page shows it, p50 / p99".to_owned(),
            format!(
                "{} / {}",
                ms(percentile(&mut to_page, 0.5)),
                ms(percentile(&mut to_page, 0.99))
            ),
        ),
        (
            format!("fleet page, {clients} rows paged by 100, over loopback, p50 / p99 (20 pages)"),
            format!(
                "{} / {} (target < 50 ms server time)",
                ms(percentile(&mut page_times, 0.5)),
                ms(percentile(&mut page_times, 0.99))
            ),
        ),
        (
            "fleet page filtered to drifted, p50".to_owned(),
            ms(percentile(&mut drifted_page, 0.5)),
        ),
        (
            "peak resident memory of the process (kubesim, catalog, server and cache)".to_owned(),
            format!("{peak:.0} MiB"),
        ),
    ];
    let mut body = String::from(
        "## The fleet view at scale\n\n`cargo run --release -p tenantry-web --example fleet_bench`: kubesim (controllers off) and the server in one process, an SQLite catalog, on the project's 2-core machine. Times over loopback HTTP include the client's side.\n\n| measure | figure |\n|---|---|\n",
    );
    for (k, v) in &rows {
        println!("{k}: {v}");
        body.push_str(&format!("| {k} | {v} |\n"));
    }
    tenantry_testkit::write_bench_section("fleet-bench", &body);
}
