//! Rendering a client's plan from the catalog: order, values, secrets, names, and the
//! bodies judged by the official schemas and the scripts run by real bash and psql.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tenantry_core::render::Secrets;
use tenantry_core::template::Template;
use tenantry_core::{ApiRootUrl, ClientId, NamespaceName, OrgName, ParamName};
use tenantry_engine::{PlanError, PlannedRequest, render_plan};
use tenantry_store::generate::RsaFormat;
use tenantry_store::{Catalog, KeySource, NewClient, NewNamespace, OpenOptions, Scope};
use tenantry_testkit::{ScramPostgres, TEST_MASTER_KEY, TestDb};

async fn open(db: &TestDb) -> Catalog {
    let opts = OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 4,
    };
    Catalog::open(&opts).await.unwrap().0
}

async fn add_namespace(cat: &Catalog, name: &str) {
    cat.add_namespace(&NewNamespace {
        name: NamespaceName::parse(name).unwrap(),
        k8s_namespace: None,
        api_root_url: ApiRootUrl::parse("https://rancher.test/k8s/clusters/c-m4hlh/").unwrap(),
        token: SecretString::from("token"),
        ca_bundle: None,
    })
    .await
    .unwrap();
}

async fn set(cat: &Catalog, ns: &str, name: &str, value: &str) {
    let scope = Scope::Namespace(NamespaceName::parse(ns).unwrap());
    cat.set_param(
        &ParamName::parse(name).unwrap(),
        &scope,
        &SecretString::from(value.to_owned()),
        false,
    )
    .await
    .unwrap();
}

/// A catalog with lms-dev fully set up and one client, C1.
async fn ready(db: &TestDb) -> Catalog {
    let cat = open(db).await;
    add_namespace(&cat, "lms-dev").await;
    for (k, v) in [
        ("clickhouse-host", "ch.test"),
        ("clickhouse-admin-user", "admin"),
        ("clickhouse-admin-password", "ch-admin-pw"),
        ("postgres-host", "pg.test"),
        ("postgres-admin-password", "pg-admin-pw"),
        ("sms4b-token", "sms-token"),
        ("public-dns", "lms.test"),
        ("docker-image", "registry.test/lms/backend:dev"),
        ("nfs-server", "192.0.2.10"),
    ] {
        set(&cat, "lms-dev", k, v).await;
    }
    cat.create_client(&NewClient {
        name: OrgName::parse("ООО «Ромашка»").unwrap(),
        phones: vec![],
        emails: vec![],
        contacts: vec![],
    })
    .await
    .unwrap();
    cat
}

fn c1() -> ClientId {
    ClientId::parse("C1").unwrap()
}

fn body<'a>(plan: &'a [PlannedRequest], template: &str) -> &'a Value {
    plan.iter()
        .find(|r| r.template.as_str() == template)
        .unwrap()
        .body
        .as_ref()
        .unwrap()
}

fn env_of<'a>(job: &'a Value, name: &str) -> &'a str {
    job.pointer("/spec/template/spec/containers/0/env")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .unwrap()
}

#[tokio::test]
async fn the_default_plan_has_the_eight_requests_in_order_with_the_rancher_prefix_kept() {
    for db in TestDb::all("plan order").await {
        let cat = ready(&db).await;
        let plan = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
            .await
            .unwrap();
        let lines: Vec<String> = plan
            .iter()
            .map(|r| format!("{} {} {}", r.template, r.method, r.url))
            .collect();
        let root = "https://rancher.test/k8s/clusters/c-m4hlh";
        assert_eq!(
            lines,
            [
                format!("clickhouse-setup POST {root}/apis/batch/v1/namespaces/lms-dev/jobs"),
                format!("postgres-setup POST {root}/apis/batch/v1/namespaces/lms-dev/jobs"),
                format!("configmap POST {root}/api/v1/namespaces/lms-dev/configmaps"),
                format!("secret POST {root}/api/v1/namespaces/lms-dev/secrets"),
                format!("service POST {root}/api/v1/namespaces/lms-dev/services"),
                format!(
                    "ingress POST {root}/apis/networking.k8s.io/v1/namespaces/lms-dev/ingresses"
                ),
                format!("deployment POST {root}/apis/apps/v1/namespaces/lms-dev/deployments"),
                format!("pods GET {root}/api/v1/namespaces/lms-dev/pods?labelSelector=app=C1-lms"),
            ]
        );
        let cm = body(&plan, "configmap");
        assert_eq!(cm["metadata"]["name"], "lms-config-c1");
        let data = cm["data"].as_object().unwrap();
        assert_eq!(data.len(), 26);
        assert_eq!(data["LMS_CLIENT_ID"], "C1");
        assert_eq!(data["LMS_SERVER_PORT"], ":8080");
        assert_eq!(data["LMS_KEYS_TOKEN_TTL_HOURS"], "8");
        let pg_pw = env_of(body(&plan, "postgres-setup"), "PG_PASSWORD");
        assert_eq!(
            data["LMS_STORAGE_POSTGRES_DSN"],
            format!("postgres://c1:{pg_pw}@pg.test:5432/c1?sslmode=disable")
        );
        assert_eq!(env_of(body(&plan, "postgres-setup"), "USER_NAME"), "c1");
        let seed = data["LMS_KEYS_SECRET_SEED"].as_str().unwrap();
        assert_eq!(seed.len(), 128);
        assert!(
            seed.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        for pw in [
            pg_pw,
            env_of(body(&plan, "clickhouse-setup"), "CH_PASSWORD"),
        ] {
            assert!(
                pw.len() >= 24 && pw.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{pw}"
            );
        }
        let rsa = body(&plan, "secret")["data"]["rsa_key"].as_str().unwrap();
        let pem = base64::engine::general_purpose::STANDARD
            .decode(rsa)
            .unwrap();
        assert!(pem.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
        let deploy = body(&plan, "deployment");
        assert_eq!(
            deploy
                .pointer("/spec/template/spec/containers/0/name")
                .unwrap(),
            "c1"
        );
        assert_eq!(
            deploy.pointer("/spec/selector/matchLabels/app").unwrap(),
            "C1-lms"
        );
        assert!(
            deploy
                .pointer("/spec/template/spec/affinity/nodeAffinity")
                .is_some()
        );
        for r in &plan {
            if let Some(b) = &r.body {
                assert!(
                    tenantry_core::manifest::name_problems(b).is_empty(),
                    "{}",
                    r.template
                );
            }
        }
    }
}

#[tokio::test]
async fn generated_secrets_are_made_once_and_stay_until_rotated() {
    for db in TestDb::all("plan secrets").await {
        let cat = ready(&db).await;
        add_namespace(&cat, "lms-prod").await;
        let first = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
            .await
            .unwrap();
        let second = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
            .await
            .unwrap();
        assert_eq!(body(&first, "secret"), body(&second, "secret"));
        assert_eq!(body(&first, "configmap"), body(&second, "configmap"));
        let dev = NamespaceName::parse("lms-dev").unwrap();
        let stored = cat.client_secrets(c1(), &dev).await.unwrap();
        let names: Vec<_> = stored.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "clickhouse-user-password",
                "keys-secret-seed",
                "postgres-user-password",
                "rsa-content"
            ]
        );

        let seed = ParamName::parse("keys-secret-seed").unwrap();
        let g = tenantry_core::Generator::Hex { bytes: 64 };
        cat.rotate_client_secret(c1(), &dev, &seed, g, RsaFormat::Pkcs1)
            .await
            .unwrap();
        let third = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
            .await
            .unwrap();
        let data = |p: &[PlannedRequest], k: &str| body(p, "configmap")["data"][k].clone();
        assert_ne!(
            data(&first, "LMS_KEYS_SECRET_SEED"),
            data(&third, "LMS_KEYS_SECRET_SEED")
        );
        assert_eq!(
            data(&first, "LMS_STORAGE_POSTGRES_DSN"),
            data(&third, "LMS_STORAGE_POSTGRES_DSN")
        );

        // Another namespace's environment of the same client gets keys of its own.
        for (k, v) in [
            ("clickhouse-host", "x"),
            ("clickhouse-admin-user", "x"),
            ("clickhouse-admin-password", "x"),
            ("postgres-host", "x"),
            ("postgres-admin-password", "x"),
            ("sms4b-token", "x"),
            ("public-dns", "x.test"),
            ("docker-image", "x"),
            ("nfs-server", "x"),
        ] {
            set(&cat, "lms-prod", k, v).await;
        }
        let prod = render_plan(&cat, c1(), "lms-prod", Secrets::Reveal)
            .await
            .unwrap();
        assert_ne!(body(&prod, "secret"), body(&third, "secret"));
        let dump = db.dump().await;
        let rsa = body(&third, "secret")["data"]["rsa_key"].as_str().unwrap();
        assert!(
            !dump.contains(&rsa[..40]),
            "the RSA key is readable in the {:?} dump",
            db.kind
        );
    }
}

#[tokio::test]
async fn a_plan_with_missing_values_names_all_of_them_and_generates_nothing() {
    for db in TestDb::all("plan missing").await {
        let cat = open(&db).await;
        add_namespace(&cat, "lms-dev").await;
        let id = cat
            .create_client(&NewClient {
                name: OrgName::parse("Acme").unwrap(),
                phones: vec![],
                emails: vec![],
                contacts: vec![],
            })
            .await
            .unwrap()
            .id;
        let err = render_plan(&cat, id, "lms-dev", Secrets::Mask)
            .await
            .unwrap_err();
        let PlanError::Render { problems, .. } = &err else {
            panic!("{err}")
        };
        let missing: BTreeSet<&str> = problems
            .iter()
            .filter_map(|p| p.split("{{").nth(1).and_then(|s| s.split("}}").next()))
            .collect();
        assert_eq!(
            missing.into_iter().collect::<Vec<_>>(),
            [
                "clickhouse-admin-password",
                "clickhouse-admin-user",
                "clickhouse-host",
                "docker-image",
                "nfs-server",
                "postgres-admin-password",
                "postgres-host",
                "public-dns",
                "sms4b-token"
            ]
        );
        assert!(err.to_string().contains("nothing was sent"), "{err}");
        assert!(
            problems
                .iter()
                .any(|p| p
                    .contains("ingress: {{public-dns}} has no value (used at /spec/rules/0/host)")),
            "{problems:?}"
        );
        let dev = NamespaceName::parse("lms-dev").unwrap();
        assert!(
            cat.client_secrets(id, &dev).await.unwrap().is_empty(),
            "secrets generated for a plan that failed"
        );
    }
}

#[tokio::test]
async fn masked_plans_show_no_secret_and_revealed_ones_show_them() {
    let db = TestDb::sqlite();
    let cat = ready(&db).await;
    let revealed = serde_json::to_string(
        &render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
            .await
            .unwrap(),
    )
    .unwrap();
    let masked = serde_json::to_string(
        &render_plan(&cat, c1(), "lms-dev", Secrets::Mask)
            .await
            .unwrap(),
    )
    .unwrap();
    let dev = NamespaceName::parse("lms-dev").unwrap();
    let mut secrets: Vec<String> = cat
        .client_secrets(c1(), &dev)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.value.expose_secret().to_owned())
        .collect();
    secrets.extend(["ch-admin-pw", "pg-admin-pw", "sms-token"].map(String::from));
    for s in &secrets {
        assert!(
            revealed.contains(s.as_str()),
            "revealed plan lacks a secret"
        );
        assert!(!masked.contains(s.as_str()), "masked plan shows a secret");
    }
    assert!(masked.contains("••••••"));
}

#[tokio::test]
async fn hostile_organisation_names_stay_one_json_string() {
    let db = TestDb::sqlite();
    let cat = ready(&db).await;
    let t = Template::parse(
        r#"{"name": "org-note", "method": "POST", "path": "api/v1/namespaces/{{namespace-id}}/configmaps",
            "after": ["configmap"], "order": 9,
            "body": {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "org-{{client-id | lower}}", "annotations": {"org": "{{organisation-name}}"}},
                     "data": {"ORG": "{{organisation-name}}"}}}"#,
    )
    .unwrap();
    cat.save_template(&t, "test", "").await.unwrap();
    for name in [
        "O\"Brien \\ \", \"x\": \"",
        "строка1\nстрока2\t«ёлка»",
        "🦀 Crab & Co </script>",
        "{{client-id}}",
    ] {
        let id = cat
            .create_client(&NewClient {
                name: OrgName::parse(name).unwrap(),
                phones: vec![],
                emails: vec![],
                contacts: vec![],
            })
            .await
            .unwrap()
            .id;
        let plan = render_plan(&cat, id, "lms-dev", Secrets::Mask)
            .await
            .unwrap();
        let text = serde_json::to_string(body(&plan, "org-note")).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["data"]["ORG"], OrgName::parse(name).unwrap().as_str());
        assert_eq!(back["data"].as_object().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn template_history_keeps_every_version_and_restores_any() {
    for db in TestDb::all("template history").await {
        let cat = open(&db).await;
        let name = tenantry_core::template::TemplateName::parse("service").unwrap();
        let v1 = cat.template(&name).await.unwrap();
        assert_eq!(v1.version, 1);
        let mut t = v1.template.clone();
        t.description = "changed".into();
        assert_eq!(
            cat.save_template(&t, "alice", "new text")
                .await
                .unwrap()
                .version,
            2
        );
        assert_eq!(
            cat.save_template(&t, "alice", "same again")
                .await
                .unwrap()
                .version,
            2,
            "an unchanged save is no new version"
        );
        let h = cat.template_history(&name).await.unwrap();
        assert_eq!(
            h.iter()
                .map(|v| (v.version, v.created_by.as_str()))
                .collect::<Vec<_>>(),
            [(2, "alice"), (1, "tenantry")]
        );
        let restored = cat.restore_template(&name, 1, "bob").await.unwrap();
        assert_eq!(
            (restored.version, restored.template.description.as_str()),
            (3, v1.template.description.as_str())
        );
        t.enabled = false;
        cat.save_template(&t, "alice", "off").await.unwrap();
        cat.reset_default_templates("carol").await.unwrap();
        assert!(cat.template(&name).await.unwrap().template.enabled);
    }
}

/// The path of an oracle program, from an env var `scripts/test` sets.
fn oracle(var: &str, test: &str) -> Option<PathBuf> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            tenantry_testkit::skipped(&format!("{test}: set {var} (./scripts/test installs it)"));
            None
        }
    }
}

#[tokio::test]
async fn every_rendered_body_passes_the_official_schemas_strictly() {
    let Some(validate) = oracle("TENANTRY_TEST_KUBERNETES_VALIDATE", "kubernetes-validate") else {
        return;
    };
    let db = TestDb::sqlite();
    let cat = ready(&db).await;
    let plan = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    let mut files = Vec::new();
    for r in plan.iter().filter(|r| r.body.is_some()) {
        let f = db.dir().join(format!("{}.json", r.template));
        std::fs::write(&f, serde_json::to_string(r.body.as_ref().unwrap()).unwrap()).unwrap();
        files.push(f);
    }
    assert_eq!(files.len(), 7);
    for version in ["1.33.0", "1.37.0"] {
        let out = Command::new(&validate)
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubernetes-validate {version}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn script_of(job: &Value) -> String {
    job.pointer("/spec/template/spec/containers/0/args/0")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

fn run_job(
    job: &Value,
    extra_env: &[(&str, String)],
    path_prefix: Option<&std::path::Path>,
) -> std::process::Output {
    let command: Vec<&str> = job
        .pointer("/spec/template/spec/containers/0/command")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command, ["/bin/bash", "-c"]);
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script_of(job))
        .env_clear()
        .env("HOME", "/tmp");
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env(
        "PATH",
        match path_prefix {
            Some(p) => format!("{}:{path}", p.display()),
            None => path,
        },
    );
    for e in job
        .pointer("/spec/template/spec/containers/0/env")
        .and_then(Value::as_array)
        .unwrap()
    {
        cmd.env(e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn the_postgres_job_creates_role_database_and_extensions_idempotently_and_fails_loudly() {
    let Some(pg) = ScramPostgres::start("postgres setup job") else {
        return;
    };
    let db = TestDb::sqlite();
    let cat = ready(&db).await;
    set(&cat, "lms-dev", "postgres-host", "127.0.0.1").await;
    set(&cat, "lms-dev", "postgres-admin-user", &pg.admin).await;
    set(&cat, "lms-dev", "postgres-admin-password", &pg.password).await;
    let plan = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    let job = body(&plan, "postgres-setup").clone();
    let port = [("PGPORT", pg.port.to_string())];
    for run in 1..=2 {
        let out = run_job(&job, &port, None);
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("PostgreSQL database c1 is ready"));
    }
    // The DSN the ConfigMap carries logs in as that role, to that database, with that password.
    let dsn = body(&plan, "configmap")["data"]["LMS_STORAGE_POSTGRES_DSN"]
        .as_str()
        .unwrap()
        .to_owned();
    let local = dsn.replace("@127.0.0.1:5432/", &format!("@127.0.0.1:{}/", pg.port));
    let psql = |url: &str, sql: &str| {
        Command::new("psql")
            .args(["-X", "-At", url, "-c", sql])
            .output()
            .unwrap()
    };
    let out = psql(
        &local,
        "SELECT current_user, current_database(), string_agg(extname, ',' ORDER BY extname) FROM pg_extension",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "c1|c1|pgcrypto,plpgsql,uuid-ossp"
    );

    // A second run sets the current password: rotate, run again, the new DSN works.
    let dev = NamespaceName::parse("lms-dev").unwrap();
    let pw = ParamName::parse("postgres-user-password").unwrap();
    cat.rotate_client_secret(
        c1(),
        &dev,
        &pw,
        tenantry_core::Generator::Password { length: 32 },
        RsaFormat::Pkcs1,
    )
    .await
    .unwrap();
    let plan2 = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    assert!(
        run_job(body(&plan2, "postgres-setup"), &port, None)
            .status
            .success()
    );
    let dsn2 = body(&plan2, "configmap")["data"]["LMS_STORAGE_POSTGRES_DSN"]
        .as_str()
        .unwrap()
        .replace("@127.0.0.1:5432/", &format!("@127.0.0.1:{}/", pg.port));
    assert!(psql(&dsn2, "SELECT 1").status.success());
    assert!(
        !psql(&local, "SELECT 1").status.success(),
        "the old password still works"
    );

    // A wrong admin password fails the Job.
    let mut bad = job.clone();
    for e in bad
        .pointer_mut("/spec/template/spec/containers/0/env")
        .unwrap()
        .as_array_mut()
        .unwrap()
    {
        if e["name"] == "PGPASSWORDADMIN" {
            e["value"] = Value::String("wrong".into());
        }
    }
    let out = run_job(&bad, &port, None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("password authentication failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_clickhouse_job_runs_all_five_statements_in_order_and_stops_at_the_first_failure() {
    let db = TestDb::sqlite();
    let cat = ready(&db).await;
    let plan = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    let job = body(&plan, "clickhouse-setup").clone();
    let bin = db.dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = db.dir().join("calls.log");
    // A stand-in clickhouse-client: records its arguments; fails on call number $FAIL_AT.
    let stub = bin.join("clickhouse-client");
    std::fs::write(
        &stub,
        "#!/bin/bash\nprintf '%s\\n' \"$*\" >> \"$CALLS\"\nn=$(wc -l < \"$CALLS\")\nif [ \"$n\" = \"${FAIL_AT:-0}\" ]; then echo 'Code: 516. DB::Exception: Authentication failed' >&2; exit 4; fi\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = run_job(&job, &[("CALLS", log.display().to_string())], Some(&bin));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    let queries: Vec<&str> = calls
        .lines()
        .map(|l| l.split("--query ").nth(1).unwrap())
        .collect();
    let pw = env_of(&job, "CH_PASSWORD");
    assert_eq!(
        queries,
        [
            "CREATE DATABASE IF NOT EXISTS C1;".to_owned(),
            format!("CREATE USER IF NOT EXISTS C1 IDENTIFIED BY '{pw}';"),
            "GRANT ALL ON C1.* TO C1;".to_owned(),
            "GRANT POSTGRES ON *.* TO C1 WITH GRANT OPTION;".to_owned(),
            "GRANT CREATE TEMPORARY TABLE ON *.* TO C1 WITH GRANT OPTION;".to_owned(),
        ]
    );
    assert!(
        calls
            .lines()
            .all(|l| l.starts_with("--host ch.test --user admin --password ch-admin-pw ")),
        "{calls}"
    );

    std::fs::remove_file(&log).unwrap();
    let out = run_job(
        &job,
        &[
            ("CALLS", log.display().to_string()),
            ("FAIL_AT", "2".into()),
        ],
        Some(&bin),
    );
    assert!(
        !out.status.success(),
        "a failed statement must fail the Job"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        2,
        "statements ran after the failure"
    );
}

#[tokio::test]
async fn the_postgres_teardown_job_drops_database_and_role_idempotently() {
    let Some(pg) = ScramPostgres::start("postgres teardown job") else {
        return;
    };
    let db = TestDb::sqlite();
    let cat = ready(&db).await;
    set(&cat, "lms-dev", "postgres-host", "127.0.0.1").await;
    set(&cat, "lms-dev", "postgres-admin-user", &pg.admin).await;
    set(&cat, "lms-dev", "postgres-admin-password", &pg.password).await;
    let plan = render_plan(&cat, c1(), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    let port = [("PGPORT", pg.port.to_string())];
    let setup = body(&plan, "postgres-setup").clone();
    assert!(run_job(&setup, &port, None).status.success());
    let (teardown, _) = tenantry_engine::render_teardown(&cat, c1(), "lms-dev")
        .await
        .unwrap();
    assert_eq!(
        teardown
            .iter()
            .map(|r| r.template.as_str())
            .collect::<Vec<_>>(),
        ["clickhouse-teardown", "postgres-teardown"]
    );
    // The deploy's plan has no teardown in it.
    assert!(
        plan.iter()
            .all(|r| !r.template.as_str().ends_with("teardown"))
    );
    let job = body(&teardown, "postgres-teardown").clone();
    // The client is connected while it runs: its sessions are ended, not waited for.
    let dsn = body(&plan, "configmap")["data"]["LMS_STORAGE_POSTGRES_DSN"]
        .as_str()
        .unwrap()
        .replace("@127.0.0.1:5432/", &format!("@127.0.0.1:{}/", pg.port));
    let mut session = Command::new("psql")
        .args(["-X", "-q", &dsn, "-c", "SELECT pg_sleep(30)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for run in 1..=2 {
        let out = run_job(&job, &port, None);
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("PostgreSQL database c1 is dropped"));
    }
    let _ = session.kill();
    let _ = session.wait();
    let admin = format!(
        "postgres://{}:{}@127.0.0.1:{}/postgres",
        pg.admin, pg.password, pg.port
    );
    let out = Command::new("psql")
        .args([
            "-X",
            "-At",
            &admin,
            "-c",
            "SELECT (SELECT count(*) FROM pg_database WHERE datname = 'c1') || ',' || (SELECT count(*) FROM pg_roles WHERE rolname = 'c1')",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0,0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The setup Job builds it again afterwards.
    assert!(run_job(&setup, &port, None).status.success());
}
