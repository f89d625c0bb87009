//! The deploy driven through faults: hand edits, dropped TLS connections, a cluster that
//! keeps refusing, a catalog that goes away as the deploy ends, an API server that
//! restarts empty, a plain-HTTP server behind an https URL. Each test fails on the
//! engine before engine v2.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenantry_core::{ApiRootUrl, CaBundle};
use tenantry_engine::{DeployError, StepReport, Verdict, deploy};
use tenantry_kube::{Cluster, ObjectRef, Op, PatchKind};
use tenantry_store::{NamespaceUpdate, RunStatus};
use tenantry_testkit::TestDb;

mod common;
use common::*;

fn deployment_ref() -> ObjectRef {
    ObjectRef::new(
        "apis/apps/v1/namespaces/lms-dev/deployments",
        "lms-deployment-c1",
    )
}

fn image_of(dep: &Value) -> String {
    dep.pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn detail(steps: &[StepReport], name: &str) -> String {
    steps
        .iter()
        .find(|s| s.template.as_str() == name)
        .map(|s| s.detail.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_redeploy_undoes_a_hand_edit_and_writes_nothing_when_nothing_differs() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let first = run(&cat).await;
    assert_eq!(first.status, Verdict::Succeeded, "{:?}", first.reason);

    // What `kubectl set image` does: a strategic merge patch of the container's image.
    let kube = Cluster::connect(
        &ApiRootUrl::parse(&sim.url()).unwrap(),
        &secrecy::SecretString::from(TOKEN),
        None,
    )
    .unwrap();
    let dep = deployment_ref();
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "c1", "image": "registry.example/lms/backend:hand-edited"}]}}}});
    let edited = kube
        .call(Op::Patch {
            object: &dep,
            kind: PatchKind::Strategic,
            body: &patch,
        })
        .await
        .unwrap();
    assert_eq!(
        image_of(&edited),
        "registry.example/lms/backend:hand-edited"
    );

    let second = run(&cat).await;
    assert_eq!(second.status, Verdict::Succeeded, "{:?}", second.reason);
    assert!(
        detail(&second.steps, "deployment")
            .starts_with("updated (spec.template.spec.containers[0].image)"),
        "{:?}",
        second.steps
    );
    let live = kube.call(Op::Get(&dep)).await.unwrap();
    assert_eq!(
        image_of(&live),
        "registry.test/lms:1",
        "the hand edit stayed"
    );

    // As rendered again: the next deploy reads each object and writes nothing.
    let third = run(&cat).await;
    let sent: Vec<String> = cat
        .run_requests(third.run)
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.status))
        .collect();
    assert_eq!(sent, vec!["GET 200"; 8], "{sent:?}");

    // Each successful deploy is a revision; the second says what it changed back.
    let history = tenantry_engine::history::history(&cat, c1(), "lms-dev")
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|r| r.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(history[1].changes.is_empty(), "{:?}", history[1].changes);
    assert_eq!(history[2].image, "registry.test/lms:1");
    // The run's inventory: every object it read, with its uid.
    let objects = cat.run_objects(third.run).await.unwrap();
    assert_eq!(objects.len(), 7, "{objects:?}");
    assert!(
        objects
            .iter()
            .all(|o| o.action == "unchanged" && !o.uid.is_empty())
    );
}

#[tokio::test]
async fn connections_dropped_over_https_are_retried_not_blamed_on_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = kubesim::Config {
        token: Some(TOKEN.into()),
        path_prefix: "/k8s/clusters/c-test".into(),
        timings: kubesim::Timings::fast(),
        namespaces: vec!["lms-dev".into()],
        faults: kubesim::FaultConfig {
            seed: 5,
            drop_rate: 0.15,
            ..kubesim::FaultConfig::default()
        },
        ..kubesim::Config::default()
    };
    let sim = kubesim::spawn_tls(config, listener, dir.path(), &[]).unwrap();
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let ca = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
    cat.update_namespace(
        "lms-dev",
        &NamespaceUpdate {
            ca_bundle: Some(Some(CaBundle::parse(&ca).unwrap())),
            ..NamespaceUpdate::default()
        },
    )
    .await
    .unwrap();
    let mut dropped = 0;
    for _ in 0..4 {
        let out = run(&cat).await;
        assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
        dropped += cat
            .run_requests(out.run)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.status == 0)
            .count();
    }
    let runs = cat.runs(Some(c1()), 1).await.unwrap();
    let sent = cat.run_requests(runs[0].id).await.unwrap();
    assert!(
        dropped > 0,
        "no connection was dropped: the test proves nothing {sent:#?}"
    );
}

#[tokio::test]
async fn a_cluster_that_keeps_throttling_gets_a_verdict_naming_its_answer_in_seconds() {
    let sim = cluster(|c| {
        c.faults = kubesim::FaultConfig {
            seed: 3,
            throttle_rate: 1.0,
            retry_after_seconds: 1,
            ..kubesim::FaultConfig::default()
        };
    })
    .await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let started = Instant::now();
    let mut o = opts();
    o.timeout = Duration::from_secs(600);
    let out = deploy(&cat, c1(), "lms-dev", &o, &|_| {}).await.unwrap();
    assert_eq!(out.status, Verdict::Failed);
    let reason = out.reason.unwrap_or_default();
    assert!(reason.contains("429 TooManyRequests"), "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the verdict took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_deploy_that_ends_while_the_catalog_is_away_stores_its_verdict_once_it_is_back() {
    let Some(db) = TestDb::postgres("catalog outage").await else {
        return;
    };
    let admin = std::env::var("TENANTRY_TEST_POSTGRES_URL").unwrap();
    let dbname = db.url.rsplit('/').next().unwrap().to_owned();
    let sim = cluster(|_| {}).await;
    let cat = catalog(&db, &sim, TOKEN).await;
    let psql = |sql: String| {
        let out = std::process::Command::new("psql")
            .args([
                admin.as_str(),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let cut = AtomicBool::new(false);
    let (outage_tx, outage_rx) = std::sync::mpsc::channel::<()>();
    // As the last step starts: connections refused and the open ones ended, for 5 s.
    let progress = |s: &StepReport| {
        if s.template.as_str() == "pods" && !cut.swap(true, Ordering::SeqCst) {
            psql(format!(
                "ALTER DATABASE \"{dbname}\" ALLOW_CONNECTIONS false"
            ));
            psql(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
            ));
            let _ = outage_tx.send(());
        }
    };
    let restore = {
        let admin = admin.clone();
        let dbname = dbname.clone();
        std::thread::spawn(move || {
            if outage_rx.recv().is_ok() {
                std::thread::sleep(Duration::from_secs(5));
                let _ = std::process::Command::new("psql")
                    .args([
                        admin.as_str(),
                        "-X",
                        "-q",
                        "-c",
                        &format!("ALTER DATABASE \"{dbname}\" ALLOW_CONNECTIONS true"),
                    ])
                    .status();
            }
        })
    };
    let out = deploy(&cat, c1(), "lms-dev", &opts(), &progress)
        .await
        .unwrap();
    restore.join().unwrap();
    assert!(cut.load(Ordering::SeqCst), "the outage never happened");
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    assert_eq!(out.unrecorded, None);
    let stored = cat.run(out.run).await.unwrap();
    assert_eq!(stored.status, RunStatus::Succeeded, "{:?}", stored.reason);
    assert_eq!(out.revision, Some(1));
}

#[tokio::test]
async fn an_api_server_that_restarts_empty_mid_deploy_fails_it_promptly_naming_what_vanished() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = || kubesim::Config {
        token: Some(TOKEN.into()),
        path_prefix: "/k8s/clusters/c-test".into(),
        timings: kubesim::Timings {
            job_run: Duration::from_secs(30),
            ..kubesim::Timings::fast()
        },
        namespaces: vec!["lms-dev".into()],
        ..kubesim::Config::default()
    };
    let sim = kubesim::spawn(config(), listener).unwrap();
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let running = tokio::spawn({
        let cat = cat.clone();
        async move {
            let mut o = opts();
            o.timeout = Duration::from_secs(120);
            deploy(&cat, c1(), "lms-dev", &o, &|_| {}).await
        }
    });
    // Once the setup Jobs run and are watched, the API server dies and comes back empty.
    let job = ObjectRef::new("apis/batch/v1/namespaces/lms-dev/jobs", "postgres-setup-c1");
    let direct = Cluster::connect(
        &ApiRootUrl::parse(&sim.url()).unwrap(),
        &secrecy::SecretString::from(TOKEN),
        None,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while direct.call(Op::Get(&job)).await.is_err() {
        assert!(Instant::now() < deadline, "the Jobs were never created");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    sim.stop();
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let restarted = kubesim::spawn(config(), listener).unwrap();
    let stopped_at = Instant::now();
    let Ok(out) = tokio::time::timeout(Duration::from_secs(60), running).await else {
        let runs = cat.runs(Some(c1()), 1).await.unwrap();
        let sent = cat.run_requests(runs[0].id).await.unwrap();
        panic!("the deploy waited on: {sent:#?}");
    };
    let out = out.unwrap().unwrap();
    assert_eq!(out.status, Verdict::Failed);
    let reason = out.reason.unwrap_or_default();
    assert!(reason.contains("is no longer in the cluster"), "{reason}");
    assert!(
        stopped_at.elapsed() < Duration::from_secs(20),
        "the verdict took {:?}",
        stopped_at.elapsed()
    );
    drop(restarted);
}

#[tokio::test]
async fn a_plain_http_server_behind_an_https_url_is_named_at_once() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let https = sim.url().replacen("http://", "https://", 1);
    cat.update_namespace(
        "lms-dev",
        &NamespaceUpdate {
            api_root_url: Some(ApiRootUrl::parse(&https).unwrap()),
            // A new origin needs the token given again.
            token: Some(secrecy::SecretString::from(TOKEN)),
            ..NamespaceUpdate::default()
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    let out = deploy(&cat, c1(), "lms-dev", &opts(), &|_| {}).await;
    let text = match out {
        Ok(o) => o.reason.unwrap_or_default(),
        Err(e @ DeployError::Kube(_)) => e.to_string(),
        Err(e) => panic!("{e}"),
    };
    assert!(text.contains("does not speak TLS"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_patch_template_is_sent_as_a_patch_the_api_accepts() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    // A merge patch and a JSON patch (RFC 6902), each after the Deployment.
    for (name, body) in [
        (
            "annotate",
            r#"{"metadata": {"annotations": {"example.com/owner": "{{client-id}}"}}}"#,
        ),
        (
            "relabel",
            r#"[{"op": "add", "path": "/metadata/labels/example.com~1tier", "value": "gold"}]"#,
        ),
    ] {
        let text = format!(
            r#"{{"name": "{name}", "method": "PATCH", "path": "apis/apps/v1/namespaces/{{{{namespace-id}}}}/deployments/lms-deployment-{{{{client-id | lower}}}}", "after": ["deployment"], "body": {body}}}"#
        );
        let t = tenantry_core::template::Template::parse(&text).unwrap();
        cat.save_template(&t, "test", "").await.unwrap();
    }
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    let dep = get(&sim, "deployments/lms-deployment-c1").unwrap();
    assert_eq!(dep["metadata"]["annotations"]["example.com/owner"], "C1");
    assert_eq!(dep["metadata"]["labels"]["example.com/tier"], "gold");
}

#[tokio::test]
async fn a_preview_generates_nothing_and_a_run_keeps_the_pods_it_left() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let dev = tenantry_core::NamespaceName::parse("lms-dev").unwrap();
    let preview = tenantry_engine::render_preview(&cat, c1(), "lms-dev")
        .await
        .unwrap();
    assert_eq!(preview.len(), 8);
    assert!(
        cat.client_secrets(c1(), &dev).await.unwrap().is_empty(),
        "a preview stored secrets"
    );
    assert!(
        tenantry_engine::pod_states(&cat, c1(), "lms-dev")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(cat.client_secrets(c1(), &dev).await.unwrap().is_empty());

    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    let made = cat.client_secrets(c1(), &dev).await.unwrap();
    assert!(!made.is_empty());
    // After the deploy a preview shows the stored values (masked), still storing nothing.
    tenantry_engine::render_preview(&cat, c1(), "lms-dev")
        .await
        .unwrap();
    assert_eq!(
        cat.client_secrets(c1(), &dev).await.unwrap().len(),
        made.len()
    );
    // The run keeps the pods as it left them, whatever happens to them after.
    let stored = cat.run(out.run).await.unwrap();
    let left = tenantry_engine::pods_of_run(&stored).unwrap();
    let names: std::collections::BTreeSet<&str> = left.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), left.len(), "a pod is listed twice: {left:?}");
    assert!(
        left.iter()
            .any(|p| p.name.starts_with("lms-deployment-c1-") && p.ready == "1/1"),
        "{left:?}"
    );
    set_image(&cat, "registry.test/lms:2").await;
    let next = run(&cat).await;
    assert_eq!(next.status, Verdict::Succeeded, "{:?}", next.reason);
    let now = tenantry_engine::pods_of_run(&cat.run(next.run).await.unwrap()).unwrap();
    assert!(now.iter().all(|p| !left.contains(p)), "{now:?} {left:?}");
    let again = tenantry_engine::pods_of_run(&cat.run(out.run).await.unwrap()).unwrap();
    assert_eq!(again, left);
}

/// A container that crashed and was restarted has written nothing yet: the log that
/// explains the crash is the instance before, and that is what the engine reads.
#[tokio::test]
async fn the_log_tail_of_a_restarted_container_is_its_crash() {
    let sim = cluster(|c| {
        c.scenarios.crash_image = vec!["*crash*".into()];
        // Restarted at once, then running long enough to be read.
        c.timings.crash_after = Duration::from_millis(1500);
        c.timings.backoff = Duration::from_millis(1);
    })
    .await;
    let kube = Cluster::connect(
        &ApiRootUrl::parse(&sim.url()).unwrap(),
        &secrecy::SecretString::from(TOKEN),
        None,
    )
    .unwrap();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "registry.test/crash:1"}]}});
    kube.call(Op::Create {
        collection: "api/v1/namespaces/lms-dev/pods",
        body: &pod,
    })
    .await
    .unwrap();
    let p = ObjectRef::new("api/v1/namespaces/lms-dev/pods", "p");
    // Wait for the restart: running again, one restart behind it.
    let start = Instant::now();
    loop {
        let v = kube.call(Op::Get(&p)).await.unwrap();
        let st = &v["status"]["containerStatuses"][0];
        if st["restartCount"].as_i64() >= Some(1) && st["state"]["running"].is_object() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tail = kube.pod_log_tail(&p, 10).await.unwrap();
    assert!(
        tail.contains("panic: kubesim: image registry.test/crash:1 crashes"),
        "{tail:?}"
    );
}
