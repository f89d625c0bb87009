//! Deploying against kubesim: the verdict, the reason when it fails, idempotence,
//! ownership, one run at a time.

use std::time::Duration;

use kubesim::{Config, Timings};
use serde_json::json;
use tenantry_core::EnvVarName;
use tenantry_core::env::EnvValue;
use tenantry_engine::{DeployError, DeployOptions, Verdict, deploy};
use tenantry_store::{RunKind, RunStatus, Scope, StoreError};
use tenantry_testkit::TestDb;

mod common;
use common::*;

#[tokio::test]
async fn a_deploy_builds_the_environment_and_a_second_one_changes_nothing() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let first = run(&cat).await;
    assert_eq!(first.status, Verdict::Succeeded, "{:?}", first.reason);
    assert_eq!(first.steps.len(), 8);
    // 7 creates; the two setup Jobs share a watch and their pods another; the
    // Deployment's watch and its pods'; the pods step's list. Waits watch, so the count
    // does not grow with how long things take.
    let sent: Vec<String> = cat
        .run_requests(first.run)
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert!(
        first.requests <= 12,
        "{} requests: {sent:#?}",
        first.requests
    );
    assert!(
        first
            .steps
            .iter()
            .all(|s| s.detail.starts_with("created") || s.detail.starts_with("read")),
        "{:?}",
        first.steps
    );
    let job = get(&sim, "jobs/postgres-setup-c1").unwrap();
    assert_eq!(
        job["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "tenantry"
    );
    let dep = get(&sim, "deployments/lms-deployment-c1").unwrap();
    let hash_before =
        dep["spec"]["template"]["metadata"]["annotations"]["tenantry.io/config-hash"].clone();
    assert!(hash_before.is_string());

    let second = run(&cat).await;
    assert_eq!(second.status, Verdict::Succeeded);
    // Deployed before: each object is read (not a refused create and a read), and what
    // is complete and ready needs no watch.
    let sent: Vec<String> = cat
        .run_requests(second.run)
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.status))
        .collect();
    assert_eq!(sent, vec!["GET 200"; 8], "{sent:?}");
    assert!(
        second
            .steps
            .iter()
            .filter(|s| s.template.as_str() != "pods")
            .all(|s| s.detail.starts_with("unchanged")),
        "{:?}",
        second.steps
    );
    assert_eq!(
        get(&sim, "jobs/postgres-setup-c1").unwrap()["metadata"]["uid"],
        job["metadata"]["uid"],
        "an unchanged Job was re-created"
    );

    // A changed env var reaches the ConfigMap and rolls the pods.
    cat.set_env(
        &Scope::Global,
        &EnvVarName::parse("LMS_SERVER_DEBUG").unwrap(),
        &EnvValue::parse("false").unwrap(),
    )
    .await
    .unwrap();
    let third = run(&cat).await;
    assert_eq!(third.status, Verdict::Succeeded, "{:?}", third.reason);
    assert_eq!(
        get(&sim, "configmaps/lms-config-c1").unwrap()["data"]["LMS_SERVER_DEBUG"],
        "false"
    );
    let dep = get(&sim, "deployments/lms-deployment-c1").unwrap();
    assert_ne!(
        dep["spec"]["template"]["metadata"]["annotations"]["tenantry.io/config-hash"],
        hash_before
    );
    assert_eq!(dep["metadata"]["generation"], 2);
    let runs = cat.runs(Some(c1()), 10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        ["succeeded", "succeeded", "succeeded"]
    );
    assert!(!cat.run_requests(runs[0].id).await.unwrap().is_empty());
}

#[tokio::test]
async fn waits_hear_of_every_change_by_watch_not_by_the_look_again_tick() {
    // Both setup steps wait on the same shared watches: each must hear of its Job's
    // end, though the other is waiting too.
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let o = DeployOptions {
        // A tick far past the deadline: any wait that needed one would time out.
        poll: Duration::from_secs(600),
        ..opts()
    };
    let out = deploy(&cat, c1(), "lms-dev", &o, &|_| {}).await.unwrap();
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
}

#[tokio::test]
async fn a_missing_image_fails_at_once_naming_the_pod_and_the_cause() {
    let sim =
        cluster(|c| c.scenarios.fail_image_pull = vec!["registry.test/missing*".into()]).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    set_image(&cat, "registry.test/missing:9").await;
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Failed);
    let reason = out.reason.unwrap();
    assert!(
        reason.starts_with("Pod lms-dev/lms-deployment-c1-"),
        "{reason}"
    );
    assert!(
        reason.contains("ErrImagePull") || reason.contains("ImagePullBackOff"),
        "{reason}"
    );
    assert!(
        reason.contains("registry.test/missing:9") && reason.contains("not found"),
        "{reason}"
    );
    let step = out
        .steps
        .iter()
        .find(|s| s.template.as_str() == "deployment")
        .unwrap();
    assert_eq!(serde_json::to_value(step.status).unwrap(), "failed");
    let pods = out
        .steps
        .iter()
        .find(|s| s.template.as_str() == "pods")
        .unwrap();
    assert_eq!(serde_json::to_value(pods.status).unwrap(), "skipped");
}

/// Deploys C1 with the key's Secret misnamed in the Deployment template (an operator's
/// slip); returns the failure's reason.
async fn deploy_with_a_misnamed_secret(rules: tenantry_core::health::PodRules) -> String {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let name = tenantry_core::template::TemplateName::parse("deployment").unwrap();
    let mut t = cat.template(&name).await.unwrap().template;
    let body = t.body.as_mut().unwrap();
    body["spec"]["template"]["spec"]["volumes"][1]["secret"]["secretName"] =
        json!("rsa-secret-typo");
    cat.save_template(&t, "test", "typo").await.unwrap();
    let o = DeployOptions { rules, ..opts() };
    let out = deploy(&cat, c1(), "lms-dev", &o, &|_| {}).await.unwrap();
    assert_eq!(out.status, Verdict::Failed);
    out.reason.unwrap()
}

#[tokio::test]
async fn a_volume_whose_secret_does_not_exist_is_named_without_waiting_out_the_grace() {
    let reason = deploy_with_a_misnamed_secret(tenantry_core::health::PodRules {
        events_peek: Duration::from_millis(300),
        // Past the deploy's deadline: only reading the Events early can find the cause.
        creating_grace: Duration::from_secs(600),
        ..tenantry_core::health::PodRules::default()
    })
    .await;
    assert!(
        reason.starts_with("Pod lms-dev/lms-deployment-c1-") && reason.contains(": FailedMount: "),
        "{reason}"
    );
    assert!(
        reason.contains("secret \"rsa-secret-typo\" not found"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_rollout_past_its_progress_deadline_names_the_stuck_pod_and_its_events() {
    // Events are never read early here: the Deployment's progress deadline ends it.
    let reason = deploy_with_a_misnamed_secret(tenantry_core::health::PodRules {
        events_peek: Duration::from_secs(600),
        creating_grace: Duration::from_secs(600),
        ..tenantry_core::health::PodRules::default()
    })
    .await;
    assert!(
        reason.starts_with("Deployment lms-dev/lms-deployment-c1: ProgressDeadlineExceeded: "),
        "{reason}"
    );
    assert!(
        reason.contains("; Pod lms-dev/lms-deployment-c1-")
            && reason.contains("waiting (ContainerCreating)"),
        "{reason}"
    );
    assert!(
        reason.contains("events:\n  FailedMount: MountVolume.SetUp failed for volume \"key\" : secret \"rsa-secret-typo\" not found"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_crashing_image_is_reported_with_its_exit_code_and_log_tail() {
    let sim = cluster(|c| c.scenarios.crash_image = vec!["*crash*".into()]).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    set_image(&cat, "registry.test/crash:1").await;
    let reason = run(&cat).await.reason.unwrap();
    assert!(
        reason.contains("CrashLoopBackOff") && reason.contains("last exit code 1"),
        "{reason}"
    );
    assert!(
        reason.contains("last log lines:\npanic: kubesim: image registry.test/crash:1 crashes"),
        "{reason}"
    );
}

#[tokio::test]
async fn fixing_a_crashing_image_and_deploying_again_succeeds_while_the_old_pod_still_crashes() {
    let sim = cluster(|c| c.scenarios.crash_image = vec!["*crash*".into()]).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    set_image(&cat, "registry.test/crash:1").await;
    let first = run(&cat).await;
    assert!(
        first
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("CrashLoopBackOff"),
        "{:?}",
        first.reason
    );
    // The fix rolls out a new ReplicaSet; the old one's pod keeps crashing until the new
    // pod is ready, and is not the new rollout's failure.
    set_image(&cat, "registry.test/lms:2").await;
    let second = run(&cat).await;
    assert_eq!(second.status, Verdict::Succeeded, "{:?}", second.reason);
    let step = |name: &str| {
        second
            .steps
            .iter()
            .find(|s| s.template.as_str() == name)
            .unwrap()
            .detail
            .clone()
    };
    assert!(
        step("deployment")
            .starts_with("updated (spec.template.spec.containers[0].image), rolled out"),
        "{:?}",
        second.steps
    );
    assert!(
        step("pods").ends_with("1 pod(s) running and ready"),
        "{:?}",
        second.steps
    );
    // And the other way: a change to a crashing image fails on the new ReplicaSet's pod
    // while the old, healthy one still runs.
    let good_pods: Vec<String> = sim
        .objects("pods", "lms-dev")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .filter(|p| p.starts_with("lms-deployment-c1-"))
        .collect();
    assert_eq!(good_pods.len(), 1, "{good_pods:?}");
    set_image(&cat, "registry.test/crash:2").await;
    let third = run(&cat).await;
    let reason = third.reason.unwrap_or_default();
    assert!(
        reason.contains("CrashLoopBackOff") && reason.contains("registry.test/crash:2"),
        "{reason}"
    );
    assert!(
        !good_pods
            .iter()
            .any(|p| reason.starts_with(&format!("Pod lms-dev/{p}:"))),
        "{reason} names an old pod"
    );
}

#[tokio::test]
async fn a_deployment_selecting_by_expressions_is_judged_by_its_status_not_by_other_pods() {
    let sim = cluster(|c| c.scenarios.crash_image = vec!["*crash*".into()]).await;
    // Someone else's crashing pod in the same namespace.
    let theirs = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "theirs", "labels": {"app": "other"}},
        "spec": {"containers": [{"name": "c", "image": "registry.test/crash:1"}]}});
    sim.create("lms-dev", theirs).unwrap();
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let name = tenantry_core::template::TemplateName::parse("deployment").unwrap();
    let mut t = cat.template(&name).await.unwrap().template;
    t.body.as_mut().unwrap()["spec"]["selector"] = json!({"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["{{client-id}}-lms"]}]});
    cat.save_template(&t, "test", "expressions").await.unwrap();
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
}

#[tokio::test]
async fn a_failing_setup_job_fails_the_deploy_with_the_jobs_log() {
    let sim = cluster(|c| c.scenarios.fail_job_command = vec!["*psql*".into()]).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let out = run(&cat).await;
    let reason = out.reason.unwrap();
    assert!(
        reason.starts_with("Job lms-dev/postgres-setup-c1: BackoffLimitExceeded"),
        "{reason}"
    );
    assert!(reason.contains("ERROR: setup failed"), "{reason}");
    assert!(
        get(&sim, "deployments/lms-deployment-c1").is_none(),
        "the Deployment was created although its Jobs failed"
    );
    // Once the database is fixed, deploying again re-creates the failed Job (its
    // predecessor's failed pods are not its own) and succeeds.
    let failed_uid = get(&sim, "jobs/postgres-setup-c1").unwrap()["metadata"]["uid"].clone();
    sim.set_scenarios(kubesim::Scenarios::default());
    let again = run(&cat).await;
    assert_eq!(again.status, Verdict::Succeeded, "{:?}", again.reason);
    let job = again
        .steps
        .iter()
        .find(|s| s.template.as_str() == "postgres-setup")
        .unwrap();
    assert!(
        job.detail
            .starts_with("re-created (the previous one had failed), Job complete"),
        "{}",
        job.detail
    );
    assert_ne!(
        get(&sim, "jobs/postgres-setup-c1").unwrap()["metadata"]["uid"],
        failed_uid
    );
}

#[tokio::test]
async fn an_object_tenantry_does_not_own_is_left_alone_and_named() {
    let sim = cluster(|_| {}).await;
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lms-config-c1", "labels": {"owner": "alice"}}, "data": {"K": "theirs"}});
    sim.create("lms-dev", foreign).unwrap();
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let reason = run(&cat).await.reason.unwrap();
    assert!(
        reason.starts_with(
            "ConfigMap lms-dev/lms-config-c1 already exists and is not tenantry's for C1"
        ),
        "{reason}"
    );
    assert_eq!(
        get(&sim, "configmaps/lms-config-c1").unwrap()["data"]["K"],
        "theirs"
    );
}

#[tokio::test]
async fn a_wrong_token_says_so_and_what_to_do() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, "not-the-token").await;
    let reason = run(&cat).await.reason.unwrap();
    assert!(
        reason.contains("401 Unauthorized") && reason.contains("tenantry namespace edit"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_kubernetes_namespace_missing_from_the_cluster_is_named_with_what_to_do() {
    let sim = cluster(|c| c.namespaces = vec!["default".into()]).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let out = run(&cat).await;
    let reason = out.reason.unwrap();
    assert!(
        reason.starts_with("Job lms-dev/")
            && reason.contains("404 NotFound: namespaces \"lms-dev\" not found"),
        "{reason}"
    );
    assert!(reason.contains("--k8s-namespace"), "{reason}");
    assert!(
        out.steps
            .iter()
            .all(|s| s.template.as_str().ends_with("-setup")
                || serde_json::to_value(s.status).unwrap() == "skipped")
    );
}

#[tokio::test]
async fn the_deadline_names_what_was_still_pending() {
    let sim = cluster(|c| c.timings.job_run = Duration::from_secs(60)).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let o = DeployOptions {
        timeout: Duration::from_millis(600),
        ..opts()
    };
    let out = deploy(&cat, c1(), "lms-dev", &o, &|_| {}).await.unwrap();
    let reason = out.reason.unwrap();
    assert!(reason.starts_with("timed out after"), "{reason}");
    assert!(
        reason.contains("clickhouse-setup") && reason.contains("postgres-setup"),
        "{reason}"
    );
}

#[tokio::test]
async fn only_one_run_per_client_and_namespace_across_processes() {
    for db in TestDb::all("one active run").await {
        let sim = cluster(|_| {}).await;
        let cat = catalog(&db, &sim, TOKEN).await;
        let other = cat
            .start_run(c1(), "lms-dev", RunKind::Deploy, "another-host:4242")
            .await
            .unwrap();
        match deploy(&cat, c1(), "lms-dev", &opts(), &|_| {}).await {
            Err(DeployError::Store(StoreError::RunActive { run, owner, .. })) => {
                assert_eq!((run, owner.as_str()), (other.id, "another-host:4242"));
            }
            other => panic!("{:?}", other.map(|o| o.status)),
        }
        let msg = cat
            .start_run(c1(), "lms-dev", RunKind::Deploy, "x:1")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(&format!("already running (run {}", other.id)),
            "{msg}"
        );
        // A run whose process on this host is gone is taken over.
        cat.interrupt_run(other.id, "test").await.unwrap();
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        let dead = cat
            .start_run(
                c1(),
                "lms-dev",
                RunKind::Deploy,
                &format!("{host}:999999999"),
            )
            .await
            .unwrap();
        let out = deploy(&cat, c1(), "lms-dev", &opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
        assert_eq!(
            cat.run(dead.id).await.unwrap().status,
            RunStatus::Interrupted
        );

        // On another host, a run whose owner has gone silent past `stale_after` is
        // taken over; until then it is not.
        let silent = cat
            .start_run(c1(), "lms-dev", RunKind::Deploy, "another-host:4242")
            .await
            .unwrap();
        assert!(matches!(
            deploy(&cat, c1(), "lms-dev", &opts(), &|_| {}).await,
            Err(DeployError::Store(StoreError::RunActive { .. }))
        ));
        db.execute(&format!(
            "UPDATE runs SET heartbeat_at = '2026-01-01T00:00:00Z' WHERE id = {}",
            silent.id
        ))
        .await;
        let out = deploy(&cat, c1(), "lms-dev", &opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
        let taken = cat.run(silent.id).await.unwrap();
        assert_eq!(taken.status, RunStatus::Interrupted);
        let why = taken.reason.unwrap_or_default();
        assert!(
            why.starts_with("its process (another-host:4242) was last heard from")
                && why.ends_with("; resumed by a new run"),
            "{why}"
        );
    }
}

#[tokio::test]
async fn a_run_another_process_took_over_stops_and_stays_interrupted() {
    let sim = cluster(|c| c.timings.job_run = Duration::from_secs(60)).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let o = DeployOptions {
        heartbeat: Duration::from_millis(50),
        ..opts()
    };
    let prepared = tenantry_engine::prepare(&cat, c1(), "lms-dev", &o)
        .await
        .unwrap();
    let run = prepared.run_id();
    let running = tokio::spawn({
        let o = o.clone();
        async move { prepared.execute(&o, &|_| {}).await.unwrap() }
    });
    // What a process that found this run abandoned does.
    cat.interrupt_run(run, "taken over in a test")
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the run did not stop")
        .unwrap();
    assert_eq!(out.status, Verdict::Failed);
    assert!(
        out.reason
            .as_deref()
            .unwrap_or("")
            .starts_with("stopped: another process took this run over"),
        "{:?}",
        out.reason
    );
    let stored = cat.run(run).await.unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.reason.as_deref()),
        ("interrupted", Some("taken over in a test"))
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_and_the_deploy_still_succeeds() {
    let sim = cluster(|c| {
        c.faults = kubesim::FaultConfig {
            seed: 6,
            error_rate: 0.15,
            throttle_rate: 0.1,
            retry_after_seconds: 1,
            ..kubesim::FaultConfig::default()
        };
    })
    .await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    // Every attempt is on the record: the failures say when they were tried again.
    let records = cat.run_requests(out.run).await.unwrap();
    let failed: Vec<_> = records
        .iter()
        .filter(|r| r.status == 429 || r.status >= 500)
        .collect();
    assert!(!failed.is_empty(), "{records:#?}");
    assert!(
        failed
            .iter()
            .all(|r| r.excerpt.contains("; tried again after")),
        "{failed:#?}"
    );
    assert_eq!(out.requests, i64::try_from(records.len()).unwrap());
}

#[tokio::test]
async fn a_cluster_certificate_from_an_unknown_ca_is_a_tls_error_that_says_what_to_check() {
    let dir = tempfile_dir();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        token: Some(TOKEN.into()),
        namespaces: vec!["lms-dev".into()],
        timings: Timings::fast(),
        ..Config::default()
    };
    let sim = kubesim::spawn_tls(config, listener, &dir, &[]).unwrap();
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let reason = run(&cat).await.reason.unwrap();
    assert!(
        reason.contains("TLS") && reason.contains("--ca-file"),
        "{reason}"
    );
    // With the simulator's CA the same deploy goes through.
    let ca = tenantry_core::CaBundle::parse(&std::fs::read_to_string(dir.join("ca.crt")).unwrap())
        .unwrap();
    cat.update_namespace(
        "lms-dev",
        &tenantry_store::NamespaceUpdate {
            ca_bundle: Some(Some(ca)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    std::fs::remove_dir_all(&dir).ok();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tenantry-tls-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
