//! `tenantry sim` as scripts start it: TLS with a CA written to the given directory, a
//! Rancher-style prefix, a token, one log line per request, running until killed.

mod common;

use std::io::Read;

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, http_get, http_merge_patch, start_sim};

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

/// Starts `tenantry serve` on a free port with `extra` flags; returns it and its URL
/// (read from stderr).
fn start_serve(cli: &common::Cli, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = cli
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("serving the web UI at ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned)
        })
        .expect("the server says where it listens");
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// Starts a deploy of C1 through `server`'s API and kills the server (SIGKILL) once the
/// setup Jobs exist: mid-deploy.
async fn deploy_then_kill(mut server: std::process::Child, url: &str, token: &str, port: u16) {
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/clients/C1/deploy"))
        .bearer_auth(token)
        .json(&json!({"namespace": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let start = Instant::now();
    loop {
        let jobs = http_get(port, "/apis/batch/v1/namespaces/default/jobs", "t0k");
        if jobs["items"].as_array().is_some_and(|j| j.len() == 2) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no Jobs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap(); // SIGKILL, mid-deploy.
    server.wait().unwrap();
}

/// C1's runs as `url` lists them, once the newest is no longer running (40 s at most).
async fn settled_runs(url: &str, token: &str) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let mut runs = serde_json::Value::Null;
    for _ in 0..400 {
        runs = http
            .get(format!("{url}/api/v1/runs?client=C1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = runs["items"].as_array().map_or(0, Vec::len);
        if items > 1 && runs["items"][0]["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// One set of objects in the cluster, and the secrets the first deploy made.
fn one_environment(cli: &common::Cli, port: u16, secrets_before: &str) {
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

#[test]
fn suspend_resume_and_rollback_from_the_cli_say_what_they_did() {
    let (mut sim, port) = start_sim(&["--fast"]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    // Nothing to suspend before a deploy: exit 1 with what to do.
    let out = cli.run(&["suspend", "C1", "-n", "default"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("deploy it first"),
        "{}",
        common::stderr(&out)
    );
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
    // The history says what changed, and with --diff shows it (secrets masked).
    let text = cli.ok(&["history", "C1", "-n", "default", "--diff"]);
    assert!(
        text.contains("revision 2 (run")
            && text
                .lines()
                .any(|l| l.starts_with('-') && l.contains("\"image\": \"registry.test/lms:1\""))
            && text
                .lines()
                .any(|l| l.starts_with('+') && l.contains("\"image\": \"registry.test/lms:2\""))
            && text.contains("@@"),
        "{text}"
    );
    let secrets = cli.json(&["secret", "list", "C1", "-n", "default", "--reveal"]);
    for s in secrets.as_array().unwrap() {
        let v = s["value"].as_str().unwrap();
        assert!(
            v.len() < 4 || !text.contains(v),
            "{} shown in the diff",
            s["name"]
        );
    }

    let suspended = cli.json(&["suspend", "C1", "-n", "default"]);
    assert_eq!(
        (suspended["kind"].as_str(), suspended["status"].as_str()),
        (Some("suspend"), Some("succeeded"))
    );
    let dep = http_get(
        port,
        "/apis/apps/v1/namespaces/default/deployments/lms-deployment-c1",
        "t0k",
    );
    assert_eq!(dep["spec"]["replicas"], 0);
    let text = cli.ok(&["resume", "C1", "-n", "default"]);
    assert!(
        text.contains("resuming C1 in default") && text.contains("succeeded"),
        "{text}"
    );
    let dep = http_get(
        port,
        "/apis/apps/v1/namespaces/default/deployments/lms-deployment-c1",
        "t0k",
    );
    assert_eq!(dep["spec"]["replicas"], 1);

    let back = cli.json(&["rollback", "C1", "-n", "default"]);
    assert_eq!(
        (back["kind"].as_str(), back["revision"].as_i64()),
        (Some("rollback"), Some(3))
    );
    let dep = http_get(
        port,
        "/apis/apps/v1/namespaces/default/deployments/lms-deployment-c1",
        "t0k",
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.test/lms:1"
    );
    let out = cli.run(&["rollback", "C1", "-n", "default", "--to", "7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("no revision 7"),
        "{}",
        common::stderr(&out)
    );
    let runs = cli.ok(&["runs", "list", "--client", "C1"]);
    for kind in ["deploy", "suspend", "resume", "rollback"] {
        assert!(runs.contains(kind), "{runs}");
    }
    sim.kill().unwrap();
    sim.wait().unwrap();
}

#[test]
fn decommission_asks_for_yes_without_a_terminal_and_then_removes_the_environment() {
    let (mut sim, port) = start_sim(&["--fast"]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    cli.ok(&["deploy", "C1", "-n", "default"]);
    // No terminal (tests run without one) and no --yes: refused as bad usage.
    let out = cli.run_stdin(&["decommission", "C1", "-n", "default"], "");
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("give --yes"),
        "{}",
        common::stderr(&out)
    );
    let deps = http_get(port, "/apis/apps/v1/namespaces/default/deployments", "t0k");
    assert_eq!(
        deps["items"].as_array().unwrap().len(),
        1,
        "something was deleted"
    );

    let done = cli.json(&[
        "decommission",
        "C1",
        "-n",
        "default",
        "--yes",
        "--drop-databases",
    ]);
    assert_eq!(
        (done["kind"].as_str(), done["status"].as_str()),
        (Some("decommission"), Some("succeeded")),
        "{done}"
    );
    for path in [
        "/apis/apps/v1/namespaces/default/deployments",
        "/api/v1/namespaces/default/services",
        "/api/v1/namespaces/default/configmaps",
        "/apis/batch/v1/namespaces/default/jobs",
    ] {
        let left = http_get(port, path, "t0k");
        assert_eq!(left["items"].as_array().unwrap().len(), 0, "{path}: {left}");
    }
    // Its secrets stay: a deploy afterwards reuses them.
    let secrets = cli.ok(&[
        "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json",
    ]);
    cli.ok(&["deploy", "C1", "-n", "default"]);
    assert_eq!(
        cli.ok(&[
            "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json"
        ]),
        secrets
    );
    sim.kill().unwrap();
    sim.wait().unwrap();
}

/// Runs `tenantry ARGS` and kills it (SIGKILL, no cleanup) as soon as `midway` holds;
/// panics if that never happens within 20 s or the command ended first.
fn kill_midway(cli: &common::Cli, args: &[&str], midway: impl Fn() -> bool) {
    let mut child = cli
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !midway() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "tenantry {args:?} ended before it could be killed midway"
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "tenantry {args:?} never got midway"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
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
