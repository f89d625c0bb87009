//! `tenantry sim` and `tenantry deploy` as scripts run them: TLS with a CA, a Rancher
//! prefix, a request log; exit codes and reasons; TLS problems in one line.

use super::*;

#[test]
fn tenantry_sim_serves_kubectl_over_tls_and_logs_each_request() {
    let Some(kubectl) = std::env::var("TENANTRY_TEST_KUBECTL")
        .ok()
        .filter(|k| !k.is_empty())
    else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED tenantry sim with kubectl: set TENANTRY_TEST_KUBECTL"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sim = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--token",
            "sim-token",
            "--path-prefix",
            "/k8s/clusters/c-local",
        ])
        .args([
            "--tls-dir",
            dir.path().to_str().unwrap(),
            "--fail-image-pull",
            "missing/*",
            "--crash-image",
            "*crash*",
            "--fast",
            "--namespace",
            "team-a",
            "--namespace",
            "team-b",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ca = dir.path().join("ca.crt");
    let start = Instant::now();
    while !ca.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no ca.crt");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let out = Command::new(&kubectl)
        .args([
            "--server",
            &format!("https://127.0.0.1:{port}/k8s/clusters/c-local"),
            "--token",
            "sim-token",
        ])
        .args([
            "--certificate-authority",
            ca.to_str().unwrap(),
            "get",
            "namespaces",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    sim.kill().unwrap();
    let mut log = String::new();
    sim.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    sim.wait().unwrap();
    assert!(
        out.status.success(),
        "{}{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The namespaces asked for exist from the start, in place of lms-dev and lms-prod.
    let names = String::from_utf8_lossy(&out.stdout);
    for ns in ["default", "kube-system", "team-a", "team-b"] {
        assert!(names.contains(&format!("namespace/{ns}\n")), "{names}");
    }
    assert!(!names.contains("namespace/lms-dev"), "{names}");
    assert!(
        log.contains("GET /k8s/clusters/c-local/api/v1/namespaces"),
        "{log}"
    );
    assert!(
        log.lines()
            .filter(|l| l.contains("kubesim:") && l.contains(" 200 "))
            .count()
            >= 1,
        "{log}"
    );
}

#[test]
fn deploy_exits_0_when_the_environment_is_up_and_1_with_the_reason_when_not() {
    let (mut sim, port) = start_sim(&[
        "--path-prefix",
        "/k8s/clusters/c-x",
        "--fast",
        "--fail-image-pull",
        "registry.test/missing*",
    ]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}/k8s/clusters/c-x/"), "t0k");
    let out = cli.run(&[
        "deploy",
        "C1",
        "--namespace",
        "default",
        "--poll",
        "50ms",
        "--timeout",
        "60s",
        "--output",
        "json",
    ]);
    let ok: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(
        (ok["status"].as_str(), ok["client"].as_str()),
        (Some("succeeded"), Some("C1"))
    );
    assert_eq!(ok["steps"].as_array().unwrap().len(), 8);
    assert_eq!(ok["reason"], serde_json::Value::Null);

    cli.ok(&[
        "param",
        "set",
        "docker-image",
        "registry.test/missing:1",
        "-n",
        "default",
    ]);
    let out = cli.run(&[
        "deploy",
        "C1",
        "--namespace",
        "default",
        "--poll",
        "50ms",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let failed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("registry.test/missing:1"),
        "{failed}"
    );
    let text = cli.ok(&["runs", "show", &failed["run"].to_string()]);
    assert!(
        // Deployed before: the Deployment was read, then updated with the new image.
        text.contains("PUT     apis/apps/v1/namespaces/default/deployments/lms-deployment-c1 "),
        "{text}"
    );
    assert!(
        !text.contains("\"p\""),
        "a secret value shows in the run's records"
    );
    // The run's inventory: what it touched, with the uid it found.
    let shown = cli.json(&["runs", "show", &ok["run"].to_string()]);
    let objects = shown["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 7, "{shown}");
    assert!(
        objects
            .iter()
            .all(|o| o["action"] == "created" && o["uid"].as_str().is_some_and(|u| !u.is_empty())),
        "{shown}"
    );
    // The successful deploy is revision 1; the failed one made none.
    assert_eq!(ok["revision"], 1);
    let history = cli.json(&["history", "C1", "-n", "default"]);
    let revisions = history.as_array().unwrap();
    assert_eq!(revisions.len(), 1, "{history}");
    assert_eq!(revisions[0]["image"], "registry.test/lms:1");
    assert_eq!(revisions[0]["run"], ok["run"]);
    let text = cli.ok(&["history", "C1", "-n", "default"]);
    assert!(text.contains("first deploy"), "{text}");
    sim.kill().unwrap();
    sim.wait().unwrap();
}

#[test]
fn a_tls_problem_is_one_clear_line_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tls_sim, tls_port) = start_sim(&["--tls-dir", dir.path().to_str().unwrap()]);
    let (mut plain_sim, plain_port) = start_sim(&[]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("https://127.0.0.1:{tls_port}"), "t0k");
    // What an operator sees with the default log filter: no library's log lines first.
    let deploy = || {
        cli.command(&["deploy", "C1", "-n", "default", "--timeout", "30s"])
            .env_remove("TENANTRY_LOG")
            .output()
            .unwrap()
    };
    let started = Instant::now();
    let out = deploy();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("error: ")
            && lines[0].contains("TLS")
            && lines[0].contains("--ca-file"),
        "{err}"
    );
    // A plain-HTTP server behind an https:// URL is named as such, at once. (A new
    // origin needs the token given again.)
    let edited = cli.run_stdin(
        &[
            "namespace",
            "edit",
            "default",
            "--api-root-url",
            &format!("https://127.0.0.1:{plain_port}"),
            "--token-stdin",
        ],
        "t0k",
    );
    assert!(edited.status.success(), "{}", common::stderr(&edited));
    let out = deploy();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not speak TLS"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    for sim in [&mut tls_sim, &mut plain_sim] {
        sim.kill().unwrap();
        sim.wait().unwrap();
    }
}
