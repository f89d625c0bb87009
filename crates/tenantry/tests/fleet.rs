//! `tenantry status` and `tenantry diff` against `tenantry sim`: the live health and
//! drift read from the cluster, exit codes as `kubectl diff` has them, secrets masked.

mod common;

use serde_json::json;

use common::{http_merge_patch, start_sim, stderr};

#[test]
fn status_and_diff_read_the_cluster_and_diff_exits_as_kubectl_diff() {
    let (mut sim, port) = start_sim(&["--fast"]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "C1", "--namespace", "default"];
        args.extend_from_slice(extra);
        cli.run(&args)
    };
    // Not deployed: no environment, an error (2).
    let out = diff(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("C1 has no environment in default"));
    // Before a deploy, against today's rendering: everything would be created (1).
    let out = diff(&["--rendered"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Deployment lms-deployment-c1: missing (a deploy creates it)"),
        "{text}"
    );

    cli.ok(&["deploy", "C1", "-n", "default", "--poll", "50ms"]);
    let rows = cli.json(&["status"]);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(
        (&rows[0]["client"], &rows[0]["health"], &rows[0]["drifted"]),
        (&json!("C1"), &json!("Healthy"), &json!(false)),
        "{rows}"
    );
    assert_eq!(rows[0]["revision"], 1);
    assert_eq!(rows[0]["last_run"]["status"], "succeeded");
    let out = diff(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("C1 in default is as revision 1"));
    // Against today's rendering too (secrets compared as they are, not as masked).
    let out = diff(&["--rendered"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A pin for C1 alone: the dry run and the diff say where the value comes from.
    cli.ok(&[
        "param",
        "set",
        "docker-image",
        "registry.test/lms:canary",
        "-n",
        "default",
        "--client",
        "C1",
    ]);
    let plan = cli.ok(&["render", "C1", "-n", "default"]);
    assert!(
        plan.contains("# from C1's own overrides: docker-image"),
        "{plan}"
    );
    assert!(plan.contains("registry.test/lms:canary"), "{plan}");
    let out = diff(&["--rendered"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("# rendered with C1's own overrides: docker-image"),
        "{text}"
    );
    assert!(
        text.contains("+  spec.template.spec.containers[0].image: registry.test/lms:1"),
        "{text}"
    );
    let listed = cli.ok(&["param", "list", "-n", "default", "--client", "C1"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("docker-image") && l.contains("client, default")),
        "{listed}"
    );
    cli.ok(&[
        "param",
        "unset",
        "docker-image",
        "-n",
        "default",
        "--client",
        "C1",
    ]);
    assert_eq!(diff(&["--rendered"]).status.code(), Some(0));
    assert_eq!(cli.json(&["status", "--drifted"]), json!([]));

    // An env var edited by hand, and one of the client's secrets put in by hand.
    http_merge_patch(
        port,
        "/api/v1/namespaces/default/configmaps/lms-config-c1",
        "t0k",
        &json!({"data": {"LMS_SERVER_PORT": ":9090", "ADDED": "by-hand"}}),
    );
    let out = diff(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in [
        "--- C1 in default, revision 1",
        "+++ C1 in default, live",
        "ConfigMap lms-config-c1:",
        "-  data.ADDED: (absent)",
        "+  data.ADDED: by-hand",
        "-  data.LMS_SERVER_PORT: :8080",
        "+  data.LMS_SERVER_PORT: :9090",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&diff(&["--output", "json"]).stdout).unwrap();
    assert_eq!(report["drifted"], true);
    assert_eq!(report["health"], "Healthy");
    // The ConfigMap holds the client's database passwords: never shown.
    let secrets = cli.json(&["secret", "list", "C1", "-n", "default", "--reveal"]);
    for s in secrets.as_array().unwrap() {
        let v = s["value"].as_str().unwrap();
        assert!(!report.to_string().contains(v), "{v} shown in {report}");
    }
    let rows = cli.json(&["status", "--drifted", "--client", "C1"]);
    assert_eq!(rows[0]["out_of_sync"], 1, "{rows}");
    let table = cli.ok(&["status", "-n", "default"]);
    assert!(table.contains("drifted (1)"), "{table}");

    // A deploy converges it.
    cli.ok(&["deploy", "C1", "-n", "default", "--poll", "50ms"]);
    let out = diff(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Self-heal is a namespace's setting.
    cli.ok(&["namespace", "edit", "default", "--self-heal", "on"]);
    assert_eq!(
        cli.json(&["namespace", "show", "default"])["self_heal"],
        true
    );
    let out = cli.run(&["namespace", "edit", "default", "--self-heal", "maybe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected on or off"),
        "{}",
        stderr(&out)
    );
    // An unknown namespace is an error, not "no drift".
    let out = cli.run(&["diff", "C1", "--namespace", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    sim.kill().unwrap();
}
