//! Templates, dry runs and generated secrets from the command line.

mod common;

use common::{Cli, stderr};
use serde_json::Value;
use tenantry_testkit::TestDb;

/// A catalog with lms-dev set up and client C1.
fn ready(cli: &Cli) {
    cli.ok(&[
        "namespace",
        "add",
        "lms-dev",
        "--api-root-url",
        "https://rancher.test/k8s/clusters/c-m4hlh/",
        "--token",
        "t",
    ]);
    for (k, v) in [
        ("clickhouse-host", "ch.test"),
        ("clickhouse-admin-user", "admin"),
        ("postgres-host", "pg.test"),
        ("public-dns", "lms.test"),
        ("docker-image", "registry.test/lms:dev"),
        ("nfs-server", "192.0.2.10"),
    ] {
        cli.ok(&["param", "set", k, v, "-n", "lms-dev"]);
    }
    for k in [
        "clickhouse-admin-password",
        "postgres-admin-password",
        "sms4b-token",
    ] {
        cli.ok(&["param", "set", k, &format!("SECRET-{k}"), "-n", "lms-dev"]);
    }
    cli.ok(&["client", "create", "--name", "ООО «Ромашка»"]);
}

#[tokio::test]
async fn the_dry_run_prints_every_request_in_order_with_secrets_masked() {
    for db in TestDb::all("cli render").await {
        let cli = Cli::new(&db);
        ready(&cli);
        let plan = cli.json(&["render", "C1", "--namespace", "lms-dev"]);
        let plan = plan.as_array().unwrap();
        let order: Vec<&str> = plan
            .iter()
            .map(|r| r["template"].as_str().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "clickhouse-setup",
                "postgres-setup",
                "configmap",
                "secret",
                "service",
                "ingress",
                "deployment",
                "pods"
            ]
        );
        assert_eq!(plan[0]["method"], "POST");
        assert_eq!(
            plan[0]["url"],
            "https://rancher.test/k8s/clusters/c-m4hlh/apis/batch/v1/namespaces/lms-dev/jobs"
        );
        assert_eq!(plan[7]["body"], Value::Null);
        let masked = serde_json::to_string(&plan).unwrap();
        assert!(
            !masked.contains("SECRET-"),
            "a secret shows in the masked dry run"
        );
        assert!(masked.contains("••••••"));
        let revealed = cli.ok(&[
            "render",
            "C1",
            "--namespace",
            "lms-dev",
            "--reveal",
            "--output",
            "json",
        ]);
        assert!(revealed.contains("SECRET-postgres-admin-password"));
        let text = cli.ok(&["render", "C1", "-n", "lms-dev"]);
        assert!(
            text.contains("# 1. clickhouse-setup — then waits for the Job to complete"),
            "{text}"
        );
        assert!(text.contains("GET https://rancher.test/k8s/clusters/c-m4hlh/api/v1/namespaces/lms-dev/pods?labelSelector=app=C1-lms"));
        // The generated secrets now exist, masked in listings.
        let secrets = cli.json(&["secret", "list", "C1", "-n", "lms-dev"]);
        assert_eq!(secrets.as_array().unwrap().len(), 4);
        assert!(
            secrets
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["value"] == "••••••")
        );
        cli.ok(&[
            "secret",
            "rotate",
            "C1",
            "keys-secret-seed",
            "-n",
            "lms-dev",
        ]);
        let out = cli.run(&["secret", "rotate", "C1", "docker-image", "-n", "lms-dev"]);
        assert!(
            stderr(&out).contains("not a generated parameter"),
            "{}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn a_plan_with_missing_values_is_refused_naming_each_one() {
    let db = TestDb::sqlite();
    let cli = Cli::new(&db);
    cli.ok(&[
        "namespace",
        "add",
        "lms-dev",
        "--api-root-url",
        "https://127.0.0.1:6443",
        "--token",
        "t",
    ]);
    cli.ok(&["client", "create", "--name", "Acme"]);
    let out = cli.run(&["render", "C1", "-n", "lms-dev"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("nothing was sent"), "{err}");
    for m in [
        "clickhouse-host",
        "postgres-admin-password",
        "public-dns",
        "docker-image",
        "nfs-server",
        "sms4b-token",
    ] {
        assert!(
            err.contains(&format!("{{{{{m}}}}} has no value")),
            "{m} not named: {err}"
        );
    }
    assert!(
        err.contains("tenantry param set NAME VALUE --namespace lms-dev"),
        "{err}"
    );
    assert_eq!(
        cli.json(&["secret", "list", "C1", "-n", "lms-dev"]),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn invalid_template_json_is_refused_with_line_and_column_and_nothing_is_saved() {
    let db = TestDb::sqlite();
    let cli = Cli::new(&db);
    // The document's ConfigMap, with its missing comma after LMS_KEYS_PRIVATE_KEY_PATH.
    let broken = r#"{
  "name": "configmap",
  "method": "POST",
  "path": "api/v1/namespaces/{{namespace-id}}/configmaps",
  "body": {
    "apiVersion": "v1",
    "data": {
      "LMS_KEYS_TOKEN_TTL_HOURS": "{{keys-token-ttl-hours}}",
      "LMS_KEYS_PRIVATE_KEY_PATH": "{{keys-rsa-path}}"

      "LMS_LOGS_DIRECTORY": "logs"
    },
    "kind": "ConfigMap",
    "metadata": {"name": "lms-config-{{client-id | lower}}", "namespace": "{{namespace-id}}"}
  }
}
"#;
    let good = db.dir().join("good.json");
    let bad = db.dir().join("configmap.json");
    std::fs::write(&bad, broken).unwrap();
    std::fs::write(
        &good,
        r#"{"name": "extra", "method": "GET", "path": "api/v1/namespaces/{{namespace-id}}/configmaps"}"#,
    )
    .unwrap();
    let out = cli.run(&[
        "template",
        "import",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("configmap.json: line 11, column 7: expected `,` or `}`"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let names: Vec<String> = cli
        .json(&["template", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["template"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !names.contains(&"extra".to_owned()),
        "a file was imported though another failed"
    );
    assert_eq!(
        cli.json(&["template", "show", "configmap"])["name"],
        "configmap"
    );
    assert_eq!(
        cli.json(&["template", "history", "configmap"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let out = cli.run(&[
        "template",
        "edit",
        "configmap",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("line 11, column 7"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn templates_round_trip_through_files_with_history_and_restore() {
    for db in TestDb::all("cli template files").await {
        let cli = Cli::new(&db);
        let dir = db.dir().join("templates");
        let written = cli.json(&["template", "export", "--dir", dir.to_str().unwrap()]);
        // The eight requests of a deploy and the two teardown Jobs of a decommission.
        assert_eq!(written.as_array().unwrap().len(), 10);
        let teardown: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("postgres-teardown.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(teardown["stage"], "decommission");
        let service: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("service.json")).unwrap())
                .unwrap();
        assert!(service.get("stage").is_none(), "{service}");
        let file = dir.join("service.json");
        let mut t: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        t["description"] = Value::String("Service, edited in git".into());
        std::fs::write(&file, serde_json::to_string_pretty(&t).unwrap()).unwrap();
        cli.ok(&[
            "template",
            "import",
            file.to_str().unwrap(),
            "--note",
            "from git",
        ]);
        cli.ok(&["template", "import", file.to_str().unwrap()]);
        let h = cli.json(&["template", "history", "service"]);
        let versions: Vec<(i64, &str)> = h
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["version"].as_i64().unwrap(), v["note"].as_str().unwrap()))
            .collect();
        assert_eq!(versions, [(2, "from git"), (1, "default")]);
        let shown = cli.ok(&["template", "show", "service", "--version", "1"]);
        assert!(!shown.contains("edited in git"));
        assert!(
            cli.ok(&["template", "restore", "service", "1"])
                .contains("saved service as version 3")
        );
        assert_ne!(
            cli.json(&["template", "show", "service"])["description"],
            "Service, edited in git"
        );

        // Unknown macros and broken dependencies are caught before saving.
        t["body"]["metadata"]["name"] = Value::String("svc-{{no-such-param}}".into());
        std::fs::write(&file, serde_json::to_string(&t).unwrap()).unwrap();
        let err = stderr(&cli.run(&["template", "validate", "--file", file.to_str().unwrap()]));
        assert!(
            err.contains("template service: unknown macro {{no-such-param}} at /metadata/name; no parameter has this name")
                && err.contains("tenantry param define no-such-param"),
            "{err}"
        );
        // A typo close to a known name is named with it; saving refuses unless forced.
        t["body"]["metadata"]["name"] = Value::String("svc-{{client-idd}}".into());
        std::fs::write(&file, serde_json::to_string(&t).unwrap()).unwrap();
        let f = file.to_str().unwrap();
        let out = cli.run(&["template", "edit", "service", "--file", f]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("did you mean {{client-id}}?"),
            "{}",
            stderr(&out)
        );
        let before = cli.json(&["template", "show", "service"]);
        assert_ne!(before["body"]["metadata"]["name"], "svc-{{client-idd}}");
        let forced = cli.run(&["template", "edit", "service", "--file", f, "--force"]);
        assert!(forced.status.success(), "{}", stderr(&forced));
        assert!(
            stderr(&forced).contains("saved anyway"),
            "{}",
            stderr(&forced)
        );
        assert_eq!(
            cli.json(&["template", "show", "service"])["body"]["metadata"]["name"],
            "svc-{{client-idd}}"
        );
        let out = cli.run(&["template", "disable", "configmap"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(cli.ok(&["template", "list"]).contains("off"));
        cli.ok(&["template", "reset-defaults"]);
        assert!(!cli.ok(&["template", "list"]).contains(" off "));
        assert!(cli.ok(&["template", "validate"]).contains("ok  deployment"));
    }
}
