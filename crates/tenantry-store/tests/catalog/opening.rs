//! Opening the catalog: the master key checked, sealed values bound to their row,
//! no secret in the files, files private to their owner, no wait behind a writer.

use super::*;

#[tokio::test]
async fn a_wrong_master_key_is_one_clear_error() {
    for db in TestDb::all("wrong key").await {
        open(&db).await.close().await;
        let mut o = opts(&db);
        o.key = KeySource::Hex(SecretString::from("ab".repeat(32)));
        let err = Catalog::open(&o).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Key(KeyError::WrongKey(_))),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("does not match this catalog"),
            "{err}"
        );
        // A missing key file is not silently replaced by a new key.
        o.key = KeySource::File(db.dir().join("missing.key"));
        let err = Catalog::open(&o).await.unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!db.dir().join("missing.key").exists());
    }
}

/// Opening a catalog that is up to date writes nothing, so it does not wait for another
/// process's write (SQLite has one write lock): a read-only command runs beside a long
/// write instead of waiting out the busy timeout (30 s) behind it.
#[tokio::test]
async fn opening_an_up_to_date_catalog_waits_for_no_writer() {
    let db = TestDb::sqlite();
    open(&db).await.close().await;
    sqlx::any::install_default_drivers();
    let mut writer = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    for sql in [
        "BEGIN IMMEDIATE",
        "UPDATE meta SET value = value WHERE key = 'seeded'",
    ] {
        sqlx::Executor::execute(&mut writer, sql).await.unwrap();
    }
    let opened = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        Catalog::open(&opts(&db)),
    )
    .await
    .expect("opening waited for the other writer");
    let cat = opened.unwrap().0;
    assert_eq!(cat.count_users().await.unwrap(), 0);
    sqlx::Executor::execute(&mut writer, "ROLLBACK")
        .await
        .unwrap();
    cat.close().await;
}

/// A catalog a newer tenantry migrated is refused, not opened with the older schema in mind.
#[tokio::test]
async fn a_catalog_migrated_by_a_newer_version_is_refused() {
    for db in TestDb::all("newer catalog").await {
        open(&db).await.close().await;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', TRUE, $1, 0)")
            .bind(vec![0u8; 48])
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let err = Catalog::open(&opts(&db)).await.unwrap_err();
        assert!(matches!(err, StoreError::Migrate(_)), "{err:?}");
    }
}

#[tokio::test]
async fn a_sealed_value_copied_to_another_row_does_not_open() {
    for db in TestDb::all("moved ciphertext").await {
        let cat = open(&db).await;
        cat.add_namespace(&ns("lms-dev")).await.unwrap();
        cat.add_namespace(&ns("lms-prod")).await.unwrap();
        cat.close().await;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
        sqlx::query("UPDATE namespaces SET token = (SELECT token FROM namespaces WHERE name = 'lms-dev') WHERE name = 'lms-prod'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let cat = open(&db).await;
        assert!(cat.namespace("lms-dev").await.is_ok());
        let err = cat.namespace("lms-prod").await.unwrap_err();
        assert!(err.to_string().contains("altered or moved"), "{err}");
    }
}

#[tokio::test]
async fn no_secret_is_readable_in_the_sqlite_files() {
    let db = TestDb::sqlite();
    assert_eq!(db.kind, Kind::Sqlite);
    let cat = open(&db).await;
    let mut n = ns("lms-dev");
    n.token = SecretString::from("CANARY-token-5521");
    cat.add_namespace(&n).await.unwrap();
    let dev = Scope::Namespace(NamespaceName::parse("lms-dev").unwrap());
    let pw = ParamName::parse("clickhouse-admin-password").unwrap();
    cat.set_param(
        &pw,
        &dev,
        &SecretString::from("CANARY-ch-admin-9917"),
        false,
    )
    .await
    .unwrap();
    cat.close().await;
    let files = db.sqlite_files();
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for canary in ["CANARY-token-5521", "CANARY-ch-admin-9917"] {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} in {}",
                f.display()
            );
        }
    }
}

/// The SQLite catalog holds sealed secrets, password hashes and the audit log: it is
/// created readable by its owner only, and so are its journal files.
#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_catalog_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::sqlite();
    let cat = open(&db).await;
    cat.count_users().await.unwrap();
    let files = db.sqlite_files();
    assert!(files.iter().any(|f| f.ends_with("catalog.db")));
    for f in files.iter().filter(|f| f.exists()) {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
}
