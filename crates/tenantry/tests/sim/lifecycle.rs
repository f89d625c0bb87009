//! Suspend, resume, roll back and decommission from the CLI.

use super::*;

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
