//! `tenantry adopt` against `tenantry sim`: an environment an engineer made by hand
//! from the customer's document (its naming, an env var set of its own) is found,
//! confirmed, adopted; `tenantry render --reveal` then gives the passwords, seed and RSA
//! key the live objects hold; a second adoption changes nothing.

mod common;

use serde_json::{Value, json};

use common::{http_create, start_sim, stderr};

const PG: &str = "HandPg42pw";
const CH: &str = "HandCh42pw";
const SEED: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// base64 of a PEM key, as the document's Secret holds it.
const RSA: &str = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpoYW5kLW1hZGUKLS0tLS1FTkQgUlNBIFBSSVZBVEUgS0VZLS0tLS0K";

/// C42 as the document's requests 3–7 make it, filled in by hand.
fn by_hand(port: u16) {
    let ns = "/api/v1/namespaces/default";
    let post = |collection: &str, body: Value| http_create(port, collection, "t0k", &body);
    post(
        &format!("{ns}/configmaps"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "lms-config-c42", "namespace": "default"},
        "data": {
            "LMS_CLIENT_ID": "C42",
            "LMS_SERVER_PORT": ":8080",
            "LMS_KEYS_SECRET_SEED": SEED,
            "LMS_KEYS_PRIVATE_KEY_PATH": "/etc/lms/rsa_key",
            "LMS_STORAGE_CLICKHOUSE_DSN": format!("clickhouse://C42:{CH}@ch:9000/C42"),
            "LMS_STORAGE_POSTGRES_DSN": format!("postgres://C42:{PG}@pg:5432/C42"),
        }}),
    );
    post(
        &format!("{ns}/secrets"),
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "rsa-secret-c42", "namespace": "default"},
            "data": {"rsa_key": RSA}, "type": "Opaque"}),
    );
    post(
        &format!("{ns}/services"),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "lms-service-c42", "namespace": "default"},
            "spec": {"ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}],
                "selector": {"app": "C42-lms"}, "type": "ClusterIP"}}),
    );
    post(
        "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "client-lms-ingress-c42", "namespace": "default"},
            "spec": {"rules": [{"host": "lms.test", "http": {"paths": [{
                "backend": {"service": {"name": "lms-service-c42", "port": {"number": 8080}}},
                "path": "/C42/(.*)", "pathType": "Prefix"}]}}]}}),
    );
    post(
        "/apis/apps/v1/namespaces/default/deployments",
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "lms-deployment-c42", "namespace": "default", "labels": {"app": "C42-lms"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "C42-lms"}},
                "template": {"metadata": {"labels": {"app": "C42-lms"}},
                    "spec": {"containers": [{"name": "c42", "image": "registry.test/lms:0",
                        "envFrom": [{"configMapRef": {"name": "lms-config-c42"}}]}]}}}}),
    );
}

#[test]
fn a_hand_made_environment_is_adopted_and_renders_with_its_own_secrets() {
    let (mut sim, port) = start_sim(&["--fast"]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    by_hand(port);

    let dry = cli.json(&["adopt", "-n", "default", "--dry-run"]);
    let env = &dry["environments"][0];
    assert_eq!(
        (&env["client"], &env["written"], &env["status"]),
        (&json!("C42"), &json!("c42"), &json!("would-adopt")),
        "{dry}"
    );
    let mut read: Vec<&str> = env["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    read.sort_unstable();
    assert_eq!(
        read,
        [
            "clickhouse-user-password",
            "keys-secret-seed",
            "postgres-user-password",
            "rsa-content"
        ]
    );
    // The first deploy would change the image and the env vars; the report says so,
    // with the passwords masked.
    let changes = env["changes"].to_string();
    assert!(
        changes.contains("spec.template.spec.containers[0].image"),
        "{changes}"
    );
    assert!(!dry.to_string().contains(PG), "{dry}");
    assert_eq!(env["restarts_pods"], true);

    // Without a terminal to confirm on, nothing happens without --yes.
    let out = cli.run(&["adopt", "-n", "default"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(cli.json(&["client", "list"]).as_array().unwrap().len(), 1);

    let done = cli.json(&[
        "adopt",
        "-n",
        "default",
        "--yes",
        "--org",
        "C42=ООО «Ромашка»",
    ]);
    let env = &done["environments"][0];
    assert_eq!(
        (&env["status"], &env["revision"]),
        (&json!("adopted"), &json!(0)),
        "{done}"
    );
    let shown = cli.ok(&["client", "show", "C42"]);
    assert!(shown.contains("ООО «Ромашка»"), "{shown}");

    // Rendering now gives what the live objects hold.
    let plan = cli.ok(&["render", "C42", "-n", "default", "--reveal"]);
    for v in [PG, CH, SEED, RSA] {
        assert!(plan.contains(v), "{v} not in the rendering:\n{plan}");
    }
    let rows = cli.json(&["status"]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["client"] == "C42")
        .unwrap();
    assert_eq!(
        (&row["revision"], &row["drifted"]),
        (&json!(0), &json!(false)),
        "{rows}"
    );

    // Again: nothing to adopt.
    let again = cli.json(&["adopt", "-n", "default", "--yes"]);
    assert_eq!(
        again["environments"][0]["status"], "already-managed",
        "{again}"
    );
    // A new client gets the number after the adopted one.
    let created = cli.ok(&["client", "create", "--name", "Next"]);
    assert!(created.contains("C43"), "{created}");
    sim.kill().unwrap();
}
