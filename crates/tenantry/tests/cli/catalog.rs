//! Clients, contacts, namespaces, parameters and env vars through the CLI, as scripts
//! and operators use it, and bad input refused with how to fix it.

use super::*;

#[tokio::test]
async fn scripts_create_clients_and_contacts_through_the_documented_contract() {
    for db in TestDb::all("cli contract").await {
        let cli = Cli::new(&db);
        assert_eq!(
            cli.ok(&["client", "create", "--name", "ООО «Ромашка»"])
                .trim(),
            "C1"
        );
        let created = cli.json(&["client", "create", "--name", "Acme \"Learning\""]);
        assert_eq!(created["id"], "C2");
        cli.ok(&[
            "client",
            "contact",
            "add",
            "C1",
            "--name",
            "Иванова Мария",
            "--role",
            "директор",
            "--phone",
            "+7 916 555-12-34",
            "--phone",
            "8 (495) 123-45-67",
            "--email",
            "M.Ivanova@Romashka.RU",
        ]);
        cli.ok(&[
            "client",
            "contact",
            "add",
            "C1",
            "--name",
            "Пётр",
            "--email",
            "petr@romashka.ru",
        ]);
        let shown = cli.json(&["client", "show", "C1"]);
        assert_eq!(shown["id"], "C1");
        assert_eq!(shown["name"], "ООО «Ромашка»");
        let contacts = shown["contacts"].as_array().unwrap();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0]["name"], "Иванова Мария");
        assert_eq!(
            contacts[0]["phones"],
            serde_json::json!(["+79165551234", "+74951234567"])
        );
        assert_eq!(
            contacts[0]["emails"],
            serde_json::json!(["M.Ivanova@romashka.ru"])
        );
        let text = cli.ok(&["client", "show", "C1"]);
        assert!(
            text.contains("Иванова Мария, директор") && text.contains("phone  +7 916 555-12-34"),
            "{text}"
        );

        // Archive hides, keeps the id taken, and the list can still show it.
        cli.ok(&["client", "archive", "C2"]);
        let listed = cli.json(&["client", "list"]);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(
            cli.json(&["client", "list", "--all"])
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(cli.ok(&["client", "create", "--name", "Next"]).trim(), "C3");
        assert_eq!(
            cli.json(&["client", "list", "--search", "916555"])[0]["id"],
            "C1"
        );
    }
}

#[tokio::test]
async fn clients_and_contacts_are_edited_in_place() {
    let db = TestDb::sqlite();
    let cli = Cli::new(&db);
    cli.ok(&[
        "client",
        "create",
        "--name",
        "Old name",
        "--phone",
        "+7 495 123-45-67",
    ]);
    cli.ok(&[
        "client",
        "contact",
        "add",
        "C1",
        "--name",
        "Мария",
        "--role",
        "CTO",
        "--phone",
        "+7 916 555-12-34",
    ]);
    let c = cli.json(&[
        "client",
        "edit",
        "C1",
        "--name",
        " New name ",
        "--remove-phone",
        "8 495 123 45 67",
        "--add-email",
        "office@new.example",
    ]);
    assert_eq!(c["name"], "New name");
    assert_eq!(c["phones"], serde_json::json!([]));
    assert_eq!(c["emails"], serde_json::json!(["office@new.example"]));
    let k = cli.json(&[
        "client",
        "contact",
        "edit",
        "C1",
        "1",
        "--clear-role",
        "--note",
        "после 10:00",
        "--remove-phone",
        "+79165551234",
        "--add-phone",
        "+7 916 000-11-22",
    ]);
    assert_eq!(k["role"], Value::Null);
    assert_eq!(k["note"], "после 10:00");
    assert_eq!(k["phones"], serde_json::json!(["+79160001122"]));
    cli.ok(&["client", "contact", "remove", "C1", "1"]);
    assert_eq!(
        cli.json(&["client", "show", "C1"])["contacts"],
        serde_json::json!([])
    );
    cli.ok(&["client", "archive", "C1"]);
    let out = cli.run(&["client", "edit", "C1", "--name", "x"]);
    assert!(
        stderr(&out).contains("archived; restore it first"),
        "{}",
        stderr(&out)
    );
    cli.ok(&["client", "restore", "C1"]);
    cli.ok(&["client", "edit", "C1", "--name", "x"]);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_that_says_how_to_fix_it() {
    let db = TestDb::sqlite();
    let cli = Cli::new(&db);
    cli.ok(&["client", "create", "--name", "Acme"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "client", "contact", "add", "C1", "--name", "X", "--phone", "12",
            ],
            "too few digits",
        ),
        (
            &[
                "client",
                "contact",
                "add",
                "C1",
                "--name",
                "X",
                "--phone",
                "+7 call me",
            ],
            "contains letters",
        ),
        (
            &[
                "client",
                "contact",
                "add",
                "C1",
                "--name",
                "X",
                "--email",
                "ivan@localhost",
            ],
            "like example.ru",
        ),
        (
            &[
                "client",
                "contact",
                "add",
                "C1",
                "--name",
                "X",
                "--email",
                "ivan.example.ru",
            ],
            "has no '@'",
        ),
        (&["client", "show", "42"], "e.g. C42"),
        (
            &[
                "namespace",
                "add",
                "LMS_DEV",
                "--api-root-url",
                "https://x.example/",
                "--token",
                "t",
            ],
            "lower-case",
        ),
        (&["param", "set", "Bad_Name", "x"], "lower-case letters"),
        (&["env", "set", "1BAD", "x"], "not starting with a digit"),
    ];
    for (args, want) in cases {
        let out = cli.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    let runtime: &[(&[&str], &str)] = &[
        (
            &["client", "create", "--name", "   "],
            "organisation name is empty",
        ),
        (&["client", "show", "C9"], "no client C9"),
        (
            &["client", "contact", "remove", "C1", "7"],
            "has no contact #7",
        ),
        (
            &[
                "namespace",
                "add",
                "dev",
                "--api-root-url",
                "rancher.example",
                "--token",
                "t",
            ],
            "is not a URL",
        ),
        (
            &[
                "namespace",
                "add",
                "dev",
                "--api-root-url",
                "https://r.example/",
            ],
            "token is missing",
        ),
        (
            &["param", "set", "keys-secret-seed", "x"],
            "generated once per client",
        ),
        (
            &[
                "param",
                "set",
                "docker-image",
                "x",
                "--namespace",
                "lms-prod",
            ],
            "no namespace \"lms-prod\"",
        ),
        (&["env", "set", "LMS_X", "{{client-id"], "not closed"),
    ];
    for (args, want) in runtime {
        let out = cli.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = cli.run(&["client", "show", "C9", "--output", "json"]);
    let err: Value = serde_json::from_str(stderr(&out).lines().last().unwrap()).unwrap();
    assert_eq!(err["error"], "no client C9");
}

#[tokio::test]
async fn namespaces_are_data_with_rancher_urls_a_ca_and_a_masked_token() {
    for db in TestDb::all("cli namespaces").await {
        let cli = Cli::new(&db);
        // A CA file that is PEM but holds no readable certificate is refused when it is
        // set, not at the next deploy.
        let junk = db.dir().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let out = cli.run(&[
            "namespace",
            "add",
            "lms-dev",
            "--api-root-url",
            "https://rancher.example/k8s/clusters/c-m4hlh/",
            "--token",
            "t",
            "--ca-file",
            junk.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("cannot be read"), "{}", stderr(&out));
        let ca = db.dir().join("ca.pem");
        std::fs::write(
            &ca,
            include_str!("../../../tenantry-core/tests/fixtures/test-ca.pem"),
        )
        .unwrap();
        cli.ok(&[
            "namespace",
            "add",
            "lms-dev",
            "--api-root-url",
            "https://rancher.example/k8s/clusters/c-m4hlh/",
            "--token",
            "kubeconfig-user-abc:CANARYtokenQ7",
            "--ca-file",
            ca.to_str().unwrap(),
        ]);
        let out = cli.run_stdin(
            &[
                "namespace",
                "add",
                "lms-prod",
                "--api-root-url",
                "https://rancher.example/k8s/clusters/c-prod",
                "--token-stdin",
                "--k8s-namespace",
                "lms",
            ],
            "CANARYprodtoken\n",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let dev = cli.json(&["namespace", "show", "lms-dev"]);
        assert_eq!(
            dev["api_root_url"],
            "https://rancher.example/k8s/clusters/c-m4hlh"
        );
        assert_eq!(dev["token"], "••••••");
        assert!(
            dev["ca_bundle"]
                .as_str()
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        let revealed = cli.json(&["namespace", "show", "lms-prod", "--reveal"]);
        assert_eq!(revealed["token"], "CANARYprodtoken");
        assert_eq!(revealed["k8s_namespace"], "lms");
        let listed = cli.ok(&["namespace", "list"]);
        assert!(
            listed.contains("lms-dev") && listed.contains("lms-prod") && !listed.contains("CANARY"),
            "{listed}"
        );
        cli.ok(&[
            "namespace",
            "edit",
            "lms-dev",
            "--no-ca",
            "--api-root-url",
            "https://rancher.example/k8s/clusters/c-m4hlh",
        ]);
        assert_eq!(
            cli.json(&["namespace", "show", "lms-dev"])["ca_bundle"],
            Value::Null
        );
        let out = cli.run(&[
            "namespace",
            "add",
            "lms-dev",
            "--api-root-url",
            "https://x.example",
            "--token",
            "t",
        ]);
        assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn parameters_and_env_vars_are_kept_per_namespace() {
    for db in TestDb::all("cli params").await {
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
        cli.ok(&[
            "param",
            "set",
            "docker-image",
            "registry.test/lms:dev",
            "--namespace",
            "lms-dev",
        ]);
        cli.ok(&[
            "param",
            "set",
            "clickhouse-admin-password",
            "CANARYchpw",
            "--namespace",
            "lms-dev",
        ]);
        cli.ok(&["param", "set", "sms4b-token", "CANARYsms", "--secret"]);
        let list = cli.json(&["param", "list", "--namespace", "lms-dev"]);
        let find = |n: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == n)
                .unwrap()
                .clone()
        };
        assert_eq!(find("docker-image")["value"], "registry.test/lms:dev");
        assert_eq!(find("docker-image")["source"], "lms-dev");
        assert_eq!(find("clickhouse-admin-password")["value"], "••••••");
        assert_eq!(find("sms4b-token")["source"], "global");
        assert_eq!(find("keys-token-ttl-hours")["value"], "8");
        assert_eq!(find("keys-secret-seed")["generator"], "hex:64");
        let revealed = cli.json(&["param", "list", "--namespace", "lms-dev", "--reveal"]);
        assert!(revealed.to_string().contains("CANARYchpw"));
        cli.ok(&["param", "unset", "docker-image", "--namespace", "lms-dev"]);
        let list = cli.json(&["param", "list", "--namespace", "lms-dev"]);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "docker-image" && p["value"].is_null())
        );

        cli.ok(&[
            "env",
            "set",
            "LMS_SERVER_DEBUG",
            "false",
            "--namespace",
            "lms-dev",
        ]);
        cli.ok(&[
            "env",
            "set",
            "LMS_FEATURE_X",
            "{{client-id | lower}}",
            "--namespace",
            "lms-dev",
        ]);
        let env = cli.json(&["env", "list", "--namespace", "lms-dev"]);
        let env = env.as_array().unwrap();
        assert_eq!(env.len(), 27);
        assert_eq!(env[1]["value"], "false");
        assert_eq!(env[26]["name"], "LMS_FEATURE_X");
        assert_eq!(
            cli.json(&["env", "list"]).as_array().unwrap()[1]["value"],
            "true"
        );
    }
}

#[tokio::test]
async fn clients_created_by_many_processes_at_once_get_unique_consecutive_ids() {
    for db in TestDb::all("cli concurrent ids").await {
        let cli = Cli::new(&db);
        cli.ok(&["client", "list"]);
        let children: Vec<_> = (0..8)
            .map(|p| {
                let script = (0..5)
                    .map(|i| format!("\"$BIN\" client create --name 'p{p} c{i}' || exit 1"))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(script)
                    .env("BIN", BIN)
                    .env("TENANTRY_DATABASE_URL", &db.url)
                    .env("TENANTRY_MASTER_KEY", TEST_MASTER_KEY)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                c.spawn().unwrap()
            })
            .collect();
        let mut ids = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{:?}: {}", db.kind, stderr(&out));
            ids.extend(
                String::from_utf8(out.stdout)
                    .unwrap()
                    .lines()
                    .map(|l| l.trim().to_owned()),
            );
        }
        let mut numbers: Vec<u64> = ids
            .iter()
            .map(|id| id.trim_start_matches('C').parse().unwrap())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=40).collect::<Vec<_>>(), "{:?}", db.kind);
    }
}
