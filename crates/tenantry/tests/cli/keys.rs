//! Secrets and keys: nothing in clear in the database or any output, the master key
//! file, a wrong key or an unreachable database as one clear error.

use super::*;

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
