//! The `tenantry` command as scripts and operators use it, on SQLite and PostgreSQL.

mod common;

use std::process::{Command, Stdio};

use common::{BIN, Cli, Demo, stderr};
use serde_json::Value;
use tenantry_testkit::{Kind, TEST_MASTER_KEY, TestDb};

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
            include_str!("../../tenantry-core/tests/fixtures/test-ca.pem"),
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
async fn secrets_never_reach_the_database_in_clear_nor_any_output_or_log() {
    for db in TestDb::all("cli canary").await {
        let cli = Cli::new(&db);
        let canaries = ["CANARY-token-31d7", "CANARY-pgpw-8c2e", "CANARY-sms-77aa"];
        cli.ok(&[
            "namespace",
            "add",
            "lms-dev",
            "--api-root-url",
            "https://127.0.0.1:6443",
            "--token",
            canaries[0],
        ]);
        let out = cli.run_stdin(
            &[
                "param",
                "set",
                "postgres-admin-password",
                "--stdin",
                "-n",
                "lms-dev",
            ],
            canaries[1],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        cli.ok(&["param", "set", "sms4b-token", canaries[2]]);
        cli.ok(&["namespace", "show", "lms-dev"]);
        cli.ok(&["namespace", "list", "-o", "json"]);
        cli.ok(&["param", "list", "-n", "lms-dev"]);
        cli.ok(&["client", "create", "--name", "Acme"]);
        let logs = cli.all_output();
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "trace logging was not captured"
        );
        let dump = db.dump().await;
        for c in canaries {
            assert!(
                !logs.contains(c),
                "{c} in the output or logs ({:?})",
                db.kind
            );
            assert!(!dump.contains(c), "{c} in the table dump ({:?})", db.kind);
        }
        if db.kind == Kind::Sqlite {
            for f in db.sqlite_files() {
                let bytes = std::fs::read(&f).unwrap();
                for c in canaries {
                    assert!(
                        !bytes.windows(c.len()).any(|w| w == c.as_bytes()),
                        "{c} in {}",
                        f.display()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_wrong_or_malformed_master_key_is_one_clear_error() {
    for db in TestDb::all("cli wrong key").await {
        let mut cli = Cli::new(&db);
        cli.ok(&["param", "set", "sms4b-token", "x", "--secret"]);
        cli.key = "ab".repeat(32);
        let out = cli.run(&["client", "list"]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains("master key does not match this catalog"),
            "{err}"
        );
        assert!(err.contains("TENANTRY_MASTER_KEY"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        cli.key = "1234".into();
        let err = stderr(&cli.run(&["client", "list"]));
        assert!(err.contains("64 hex digits"), "{err}");
    }
}

#[test]
fn an_unreachable_database_fails_at_once_naming_the_cause_without_its_password() {
    let out = Command::new(BIN)
        .args([
            "--database-url",
            "postgres://ops:pw-CANARY-42@127.0.0.1:1/catalog",
            "client",
            "list",
        ])
        .env("TENANTRY_MASTER_KEY", TEST_MASTER_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("connection refused"), "{err}");
    assert!(
        err.contains("postgres://ops:***@127.0.0.1:1/catalog"),
        "{err}"
    );
    assert!(!err.contains("pw-CANARY-42"), "{err}");
}

#[test]
fn a_key_file_is_created_private_on_first_use_and_required_after() {
    let db = TestDb::sqlite();
    let key = db.dir().join("keys/master.key");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("TENANTRY_DATABASE_URL", &db.url)
            .env_remove("TENANTRY_MASTER_KEY")
            .env("TENANTRY_MASTER_KEY_FILE", &key)
            .output()
            .unwrap()
    };
    let out = run(&["client", "create", "--name", "Acme"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("created the master key file"),
        "{}",
        stderr(&out)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(run(&["client", "list"]).status.success());
    std::fs::remove_file(&key).unwrap();
    let out = run(&["client", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(
        !key.exists(),
        "a new key must not silently replace a lost one"
    );
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

#[tokio::test]
async fn the_demo_serves_the_ui_and_deploys_a_client_to_its_own_kubesim() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = demo_login(&http, &demo.url, &demo.password).await;
    let (cookie, csrf) = session.expect("the printed password logs in");
    let api = |m: reqwest::Method, p: &str| {
        http.request(m, format!("{}/api/v1{p}", demo.url))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
    };
    let clients: serde_json::Value = api(reqwest::Method::GET, "/clients")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clients["total"], 2, "two sample clients: {clients}");
    let run: serde_json::Value = api(reqwest::Method::POST, "/clients/C1/deploy")
        .json(&serde_json::json!({"namespace": "demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = run["id"].as_i64().unwrap();
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        last = api(reqwest::Method::GET, &format!("/runs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if last["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "succeeded", "{last}");
    // C42 was built by hand in the demo cluster: adoption finds it, all of it.
    let found: serde_json::Value = api(reqwest::Method::POST, "/namespaces/demo/adopt")
        .json(&serde_json::json!({"dry_run": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c42 = found["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["client"] == "C42")
        .unwrap_or_else(|| panic!("{found}"));
    assert_eq!(c42["status"], "would-adopt", "{found}");
    assert_eq!(c42["values"].as_array().unwrap().len(), 4, "{found}");
    let old_password = demo.password.clone();
    drop(demo);

    // Again on the same directory: the catalog is kept, a new password is printed.
    let again = Demo::start(dir.path());
    assert_ne!(again.password, old_password);
    assert!(demo_login(&http, &again.url, &old_password).await.is_none());
    let (cookie, _) = demo_login(&http, &again.url, &again.password)
        .await
        .unwrap();
    let clients: serde_json::Value = http
        .get(format!("{}/api/v1/clients", again.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clients["total"], 2, "seeded once: {clients}");
}

/// Logs in through the form; the session cookie and CSRF token, or None.
async fn demo_login(http: &reqwest::Client, url: &str, password: &str) -> Option<(String, String)> {
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tenantry_pre="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .unwrap();
    let html = page.text().await.unwrap();
    let field = |html: &str| {
        let i = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
        html[i..i + html[i..].find('"').unwrap()].to_owned()
    };
    let resp = http
        .post(format!("{url}/login"))
        .header("cookie", format!("tenantry_pre={pre}"))
        .form(&[
            ("_csrf", field(&html).as_str()),
            ("name", "admin"),
            ("password", password),
            ("next", "/clients"),
        ])
        .send()
        .await
        .unwrap();
    if resp.status() != 303 {
        return None;
    }
    let sid = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tenantry_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())?;
    let cookie = format!("tenantry_session={sid}");
    let html = http
        .get(format!("{url}/clients"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Some((cookie, field(&html)))
}
