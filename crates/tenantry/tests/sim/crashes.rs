//! Crashes mid-operation: a deploy, a server or an operation killed midway, resumed
//! or taken over with one set of objects and the same secrets; the one-run rule.

use super::*;

#[test]
fn a_deploy_killed_midway_resumes_with_one_set_of_objects_and_the_same_secrets() {
    // Default timings: the setup Jobs take about two seconds, time enough to kill the deploy.
    let (mut sim, port) = start_sim(&[]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    let mut first = cli
        .command(&["deploy", "C1", "--namespace", "default", "--poll", "100ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let jobs = http_get(port, "/apis/batch/v1/namespaces/default/jobs", "t0k");
        if jobs["items"].as_array().is_some_and(|j| j.len() == 2) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the first deploy never created its Jobs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap(); // SIGKILL: no cleanup runs.
    first.wait().unwrap();
    let secrets_before = cli.ok(&[
        "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json",
    ]);

    let out = cli.run(&[
        "deploy",
        "C1",
        "--namespace",
        "default",
        "--poll",
        "100ms",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let jobs = http_get(port, "/apis/batch/v1/namespaces/default/jobs", "t0k");
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2);
    let deps = http_get(port, "/apis/apps/v1/namespaces/default/deployments", "t0k");
    assert_eq!(deps["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        cli.ok(&[
            "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json"
        ]),
        secrets_before
    );
    let runs = cli.json(&["runs", "list", "--client", "C1"]);
    let statuses: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "interrupted"]);
    sim.kill().unwrap();
    sim.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deploys_of_one_client_at_once_on_postgresql_run_one_and_refuse_the_other() {
    let Some(db) = tenantry_testkit::TestDb::postgres("two deploys at once").await else {
        return;
    };
    let (mut sim, port) = start_sim(&[]);
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    let spawn = || {
        cli.command(&["deploy", "C1", "--namespace", "default", "--poll", "100ms"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = tokio::task::block_in_place(|| {
        (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
    });
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "{codes:?}\n{}\n{}",
        common::stderr(&a),
        common::stderr(&b)
    );
    let refused = if a.status.success() { &b } else { &a };
    let err = common::stderr(refused);
    assert!(err.contains("is already running (run "), "{err}");
    sim.kill().unwrap();
    sim.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_deploy_resumes_the_run_when_it_starts_again() {
    let (mut sim, port) = start_sim(&[]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    let token = cli.api_token("ops", "operator");
    let (server, url) = start_serve(&cli, &[]);
    deploy_then_kill(server, &url, &token, port).await;
    let secrets_before = cli.ok(&[
        "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json",
    ]);

    let (mut again, url) = start_serve(&cli, &[]);
    let runs = settled_runs(&url, &token).await;
    let statuses: Vec<&str> = runs.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["succeeded", "interrupted"], "{runs:?}");
    assert!(runs[1].1.contains("is gone"), "{runs:?}");
    one_environment(&cli, port, &secrets_before);
    again.kill().unwrap();
    again.wait().unwrap();
    sim.kill().unwrap();
    sim.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_server_on_the_same_catalog_takes_over_the_deploy_of_a_killed_one() {
    let Some(db) = tenantry_testkit::TestDb::postgres("peer takeover").await else {
        return;
    };
    let (mut sim, port) = start_sim(&[]);
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    let token = cli.api_token("ops", "operator");
    let sweep = ["--sweep-interval", "500ms"];
    let (first, url) = start_serve(&cli, &sweep);
    let (mut peer, peer_url) = start_serve(&cli, &sweep);
    deploy_then_kill(first, &url, &token, port).await;
    let secrets_before = cli.ok(&[
        "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json",
    ]);
    // Nobody restarts the killed server: its peer finds the run abandoned and resumes it.
    let runs = settled_runs(&peer_url, &token).await;
    let statuses: Vec<&str> = runs.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["succeeded", "interrupted"], "{runs:?}");
    one_environment(&cli, port, &secrets_before);
    peer.kill().unwrap();
    peer.wait().unwrap();
    sim.kill().unwrap();
    sim.wait().unwrap();
}

#[test]
fn suspend_resume_rollback_and_decommission_killed_midway_finish_when_run_again() {
    // The new image's pods take 3 s more to become ready: time to kill a resume.
    let (mut sim, port) = start_sim(&["--slow-ready", "*lms:2=3000"]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    cli.ok(&["deploy", "C1", "-n", "default"]);
    cli.ok(&[
        "param",
        "set",
        "docker-image",
        "registry.test/lms:2",
        "-n",
        "default",
    ]);
    cli.ok(&["deploy", "C1", "-n", "default"]);
    let get = |path: &str| http_get(port, path, "t0k");
    let dep = || get("/apis/apps/v1/namespaces/default/deployments/lms-deployment-c1");
    let lms_pods = || -> Vec<String> {
        get("/api/v1/namespaces/default/pods")["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str())
            .filter(|n| n.starts_with("lms-deployment-c1"))
            .map(str::to_owned)
            .collect()
    };
    let pods = || lms_pods().len();
    // A finalizer someone else owns keeps a deleted pod terminating: the operation
    // waits for it, and can be killed while it does.
    let hold = |pod: &str, on: bool| {
        let finalizers = if on {
            json!(["example.com/hold"])
        } else {
            json!(null)
        };
        http_merge_patch(
            port,
            &format!("/api/v1/namespaces/default/pods/{pod}"),
            "t0k",
            &json!({"metadata": {"finalizers": finalizers}}),
        );
    };
    let again = |args: &[&str]| {
        let out = cli.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            common::stderr(&out)
        );
    };

    // Settled: the rollout complete (every replica updated and available, none besides)
    // and so for a second, so only pods that stay are held below.
    let settled = || {
        let d = dep();
        let st = &d["status"];
        st["observedGeneration"] == d["metadata"]["generation"]
            && st["replicas"] == 1
            && st["updatedReplicas"] == 1
            && st["availableReplicas"] == 1
            && pods() == 1
    };
    let settle = || {
        let start = Instant::now();
        let mut calm = 0;
        while calm < 10 {
            calm = if settled() { calm + 1 } else { 0 };
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "not settled: {:?} and {}",
                lms_pods(),
                dep()["status"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // Suspend: killed once scaled to zero, while its pod is held terminating; run again,
    // it finishes, and the replicas to bring back are still the ones before it.
    settle();
    let suspend = ["suspend", "C1", "-n", "default"];
    let held = lms_pods();
    held.iter().for_each(|p| hold(p, true));
    kill_midway(&cli, &suspend, || dep()["spec"]["replicas"] == 0);
    held.iter().for_each(|p| hold(p, false));
    again(&suspend);
    assert_eq!(dep()["spec"]["replicas"].as_i64(), Some(0));

    // Resume: killed once scaled back, before its pod is ready; the replicas to bring
    // back were kept by the suspend, not read from the half-done cluster.
    let resume = ["resume", "C1", "-n", "default"];
    kill_midway(&cli, &resume, || dep()["spec"]["replicas"] == 1);
    again(&resume);
    assert_eq!(
        dep()["status"]["readyReplicas"].as_i64(),
        Some(1),
        "{}",
        dep()
    );

    // Rollback to revision 1: killed once the Deployment asks for the old image.
    let rollback = ["rollback", "C1", "-n", "default", "--to", "1"];
    let image = |d: serde_json::Value| {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    kill_midway(&cli, &rollback, || image(dep()) == "registry.test/lms:1");
    again(&rollback);
    assert_eq!(image(dep()), "registry.test/lms:1");
    assert!(
        dep()["status"]["updatedReplicas"].as_i64() >= Some(1),
        "{}",
        dep()
    );

    // Decommission: killed once the Ingress is gone, while the pod is held. The
    // rollback's old pods may still be going away: hold only the one that stays.
    settle();
    let decommission = ["decommission", "C1", "-n", "default", "--yes"];
    let ingresses = || {
        get("/apis/networking.k8s.io/v1/namespaces/default/ingresses")["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let held = lms_pods();
    held.iter().for_each(|p| hold(p, true));
    kill_midway(&cli, &decommission, || ingresses() == 0);
    held.iter().for_each(|p| hold(p, false));
    again(&decommission);
    assert_eq!(dep()["code"], 404, "{}", dep());
    assert_eq!(pods(), 0);

    // Each killed run is recorded as interrupted, each second one as succeeded.
    let runs = cli.json(&["runs", "list", "--client", "C1"]);
    let seen: Vec<(String, String)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for kind in ["suspend", "resume", "rollback", "decommission"] {
        let of: Vec<&str> = seen
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, s)| s.as_str())
            .collect();
        assert_eq!(of, ["succeeded", "interrupted"], "{kind}: {seen:?}");
    }
    sim.kill().unwrap();
    sim.wait().unwrap();
}
