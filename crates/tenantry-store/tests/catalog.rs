//! The catalog's behaviour, on SQLite and on PostgreSQL alike.

use std::collections::BTreeSet;

use secrecy::{ExposeSecret, SecretString};
use tenantry_core::env::EnvValue;
use tenantry_core::{
    ApiRootUrl, ClientId, ContactName, Email, EnvVarName, NamespaceName, OrgName, ParamKind,
    ParamName, Phone,
};
use tenantry_store::{
    Catalog, ClientFilter, ClientUpdate, ContactUpdate, EnvSource, KeyError, KeySource,
    NamespaceUpdate, NewClient, NewContact, NewNamespace, OpenOptions, Scope, StoreError,
    StoredValue,
};
use tenantry_testkit::{Kind, TEST_MASTER_KEY, TestDb};

fn opts(db: &TestDb) -> OpenOptions {
    OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 4,
    }
}

async fn open(db: &TestDb) -> Catalog {
    Catalog::open(&opts(db)).await.expect("open catalog").0
}

fn new_client(name: &str) -> NewClient {
    NewClient {
        name: OrgName::parse(name).unwrap(),
        phones: vec![],
        emails: vec![],
        contacts: vec![],
    }
}

fn contact(name: &str, phones: &[&str], emails: &[&str]) -> NewContact {
    NewContact {
        name: ContactName::parse(name).unwrap(),
        role: Some("Директор".into()),
        note: None,
        phones: phones.iter().map(|p| Phone::parse(p).unwrap()).collect(),
        emails: emails.iter().map(|e| Email::parse(e).unwrap()).collect(),
    }
}

fn ns(name: &str) -> NewNamespace {
    NewNamespace {
        name: NamespaceName::parse(name).unwrap(),
        k8s_namespace: None,
        api_root_url: ApiRootUrl::parse("https://127.0.0.1:6443/k8s/clusters/c-local/").unwrap(),
        token: SecretString::from("token-for-tests"),
        ca_bundle: None,
    }
}

#[tokio::test]
async fn client_ids_count_up_from_c1_and_are_never_reused() {
    for db in TestDb::all("client ids").await {
        let cat = open(&db).await;
        let a = cat
            .create_client(&new_client("ООО «Ромашка»"))
            .await
            .unwrap();
        let b = cat.create_client(&new_client("Acme")).await.unwrap();
        assert_eq!(
            (a.id.to_string(), b.id.to_string()),
            ("C1".into(), "C2".into()),
            "{:?}",
            db.kind
        );
        cat.archive_client(b.id).await.unwrap();
        let c = cat.create_client(&new_client("Third")).await.unwrap();
        assert_eq!(c.id.to_string(), "C3", "{:?}", db.kind);
        // Reopening the catalog does not restart the counter.
        cat.close().await;
        let cat = open(&db).await;
        assert_eq!(
            cat.create_client(&new_client("Fourth"))
                .await
                .unwrap()
                .id
                .to_string(),
            "C4"
        );
    }
}

#[tokio::test]
async fn clients_keep_contacts_with_their_phones_and_emails() {
    for db in TestDb::all("contacts").await {
        let cat = open(&db).await;
        let mut new = new_client("  АО \"Вектор\" 🚀 ");
        new.phones = vec![Phone::parse("8 (495) 123-45-67").unwrap()];
        new.emails = vec![Email::parse("Office@Vector.RU").unwrap()];
        new.contacts = vec![
            contact(
                "Иванова Мария",
                &["+7 916 555-12-34", "+7 (495) 765-43-21"],
                &["m.ivanova@vector.ru"],
            ),
            contact(
                "Пётр Сидоров",
                &[],
                &["petr@vector.ru", "p.sidorov@mail.example.com"],
            ),
        ];
        let created = cat.create_client(&new).await.unwrap();
        let got = cat.client(created.id).await.unwrap();
        assert_eq!(got.name.as_str(), "АО \"Вектор\" 🚀");
        assert_eq!(got.phones[0].as_str(), "+74951234567");
        assert_eq!(got.emails[0].as_str(), "Office@vector.ru");
        assert_eq!(got.contacts.len(), 2);
        assert_eq!(got.contacts[0].name.as_str(), "Иванова Мария");
        assert_eq!(got.contacts[0].role.as_deref(), Some("Директор"));
        let phones: Vec<_> = got.contacts[0].phones.iter().map(Phone::as_str).collect();
        assert_eq!(phones, ["+79165551234", "+74957654321"]);
        assert_eq!(got.contacts[1].emails.len(), 2);

        // A contact is added, edited and removed.
        let k = cat
            .add_contact(got.id, &contact("Olga", &["+44 20 7946 0958"], &[]))
            .await
            .unwrap();
        let upd = ContactUpdate {
            role: Some(None),
            note: Some(Some("звонить после 10:00".into())),
            add_phones: vec![
                Phone::parse("+44 20 7946 0958").unwrap(),
                Phone::parse("+7 916 000-11-22").unwrap(),
            ],
            remove_phones: vec![Phone::parse("+442079460958").unwrap()],
            add_emails: vec![Email::parse("olga@example.com").unwrap()],
            ..Default::default()
        };
        let k = cat.update_contact(got.id, k.id, &upd).await.unwrap();
        assert_eq!(k.role, None);
        assert_eq!(k.note.as_deref(), Some("звонить после 10:00"));
        // The removal applies before the additions, so the re-added number stays.
        let phones: Vec<_> = k.phones.iter().map(Phone::as_str).collect();
        assert_eq!(phones, ["+442079460958", "+79160001122"], "{:?}", db.kind);
        let first = got.contacts[0].id;
        cat.remove_contact(got.id, first).await.unwrap();
        let after = cat.client(got.id).await.unwrap();
        assert_eq!(after.contacts.len(), 2);
        assert!(after.contacts.iter().all(|c| c.id != first));
        let err = cat.remove_contact(got.id, first).await.unwrap_err();
        assert!(err.to_string().contains("has no contact"), "{err}");
    }
}

#[tokio::test]
async fn archived_clients_leave_the_list_and_cannot_be_changed_until_restored() {
    for db in TestDb::all("archive").await {
        let cat = open(&db).await;
        let a = cat.create_client(&new_client("Alpha")).await.unwrap();
        let b = cat.create_client(&new_client("Beta")).await.unwrap();
        let archived = cat.archive_client(a.id).await.unwrap();
        assert!(archived.archived && archived.archived_at.is_some());
        let ids = |v: Vec<tenantry_store::Client>| {
            v.into_iter().map(|c| c.id.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(cat.list_clients(&ClientFilter::default()).await.unwrap()),
            ["C2"]
        );
        let all = ClientFilter {
            include_archived: true,
            ..Default::default()
        };
        assert_eq!(ids(cat.list_clients(&all).await.unwrap()), ["C1", "C2"]);
        let upd = ClientUpdate {
            name: Some(OrgName::parse("Alpha 2").unwrap()),
            ..Default::default()
        };
        assert!(matches!(
            cat.update_client(a.id, &upd).await,
            Err(StoreError::ClientArchived(_))
        ));
        cat.restore_client(a.id).await.unwrap();
        assert_eq!(
            cat.update_client(a.id, &upd).await.unwrap().name.as_str(),
            "Alpha 2"
        );
        let missing = ClientId::parse("C99").unwrap();
        assert!(matches!(
            cat.client(missing).await,
            Err(StoreError::ClientNotFound(_))
        ));
        assert!(matches!(
            cat.archive_client(missing).await,
            Err(StoreError::ClientNotFound(_))
        ));
        let _ = b;
    }
}

#[tokio::test]
async fn the_list_searches_ids_names_contacts_phones_and_emails() {
    for db in TestDb::all("search").await {
        let cat = open(&db).await;
        let mut a = new_client("ООО Ромашка");
        a.contacts = vec![contact(
            "Иванова Мария",
            &["+7 916 555-12-34"],
            &["maria@romashka.ru"],
        )];
        cat.create_client(&a).await.unwrap();
        cat.create_client(&new_client("Acme Corp")).await.unwrap();
        let find = |q: &str| {
            let f = ClientFilter {
                search: Some(q.into()),
                ..Default::default()
            };
            let cat = cat.clone();
            async move {
                cat.list_clients(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|c| c.id.to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(find("ромашка").await, ["C1"]);
        assert_eq!(find("ACME").await, ["C2"]);
        assert_eq!(find("c2").await, ["C2"]);
        assert_eq!(find("иванова").await, ["C1"]);
        assert_eq!(find("916 555").await, ["C1"]);
        assert_eq!(find("MARIA@").await, ["C1"]);
        assert!(find("nobody").await.is_empty());
        // Wildcards are literal; a search does not match across two fields.
        assert!(find("%").await.is_empty());
        assert!(find("_").await.is_empty());
        assert!(find("ромашка иванова").await.is_empty());
        // What the search sees follows every change.
        let added = cat
            .add_contact(
                "C2".parse().unwrap(),
                &contact("Пётр Сидоров", &["+7 495 111-22-33"], &[]),
            )
            .await
            .unwrap();
        assert_eq!(find("сидоров").await, ["C2"]);
        assert_eq!(find("4951112233").await, ["C2"]);
        // A whole number as people write it at home (8 …) finds the stored +7 one.
        assert_eq!(find("8 (495) 111-22-33").await, ["C2"]);
        assert_eq!(find("8 916 555 12 34").await, ["C1"]);
        cat.remove_contact("C2".parse().unwrap(), added.id)
            .await
            .unwrap();
        assert!(find("сидоров").await.is_empty());
        cat.archive_client("C1".parse().unwrap()).await.unwrap();
        assert!(
            find("ромашка").await.is_empty(),
            "archived clients are not listed"
        );
        let (page, total) = cat
            .list_clients_page(
                &ClientFilter {
                    search: Some("ромашка".into()),
                    include_archived: true,
                    ..Default::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!((page.len(), total), (1, 1));
    }
}

#[tokio::test]
async fn concurrent_creators_on_separate_connections_get_distinct_consecutive_ids() {
    for db in TestDb::all("concurrent ids").await {
        open(&db).await.close().await;
        let mut tasks = Vec::new();
        for w in 0..4 {
            let o = opts(&db);
            tasks.push(tokio::spawn(async move {
                let cat = Catalog::open(&o).await.unwrap().0;
                let mut ids = Vec::new();
                for i in 0..15 {
                    ids.push(
                        cat.create_client(&new_client(&format!("w{w} c{i}")))
                            .await
                            .unwrap()
                            .id
                            .number(),
                    );
                }
                ids
            }));
        }
        let mut all = BTreeSet::new();
        for t in tasks {
            for id in t.await.unwrap() {
                assert!(all.insert(id), "{id} given twice on {:?}", db.kind);
            }
        }
        assert_eq!(all, (1..=60).collect::<BTreeSet<u64>>(), "{:?}", db.kind);
    }
}

#[tokio::test]
async fn namespaces_keep_the_url_prefix_and_seal_the_token() {
    for db in TestDb::all("namespaces").await {
        let cat = open(&db).await;
        let added = cat.add_namespace(&ns("lms-dev")).await.unwrap();
        assert_eq!(
            added.api_root_url.as_str(),
            "https://127.0.0.1:6443/k8s/clusters/c-local"
        );
        assert_eq!(added.k8s_namespace.as_str(), "lms-dev");
        assert_eq!(added.token.expose_secret(), "token-for-tests");
        assert!(matches!(
            cat.add_namespace(&ns("lms-dev")).await,
            Err(StoreError::NamespaceExists(_))
        ));
        let mut prod = ns("lms-prod");
        prod.k8s_namespace = Some(NamespaceName::parse("lms").unwrap());
        cat.add_namespace(&prod).await.unwrap();
        let names: Vec<_> = cat
            .namespaces()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.name.to_string())
            .collect();
        assert_eq!(names, ["lms-dev", "lms-prod"]);
        let upd = NamespaceUpdate {
            token: Some(SecretString::from("rotated")),
            api_root_url: Some(ApiRootUrl::parse("https://10.0.0.1/").unwrap()),
            ..Default::default()
        };
        let changed = cat.update_namespace("lms-dev", &upd).await.unwrap();
        assert_eq!(changed.token.expose_secret(), "rotated");
        assert_eq!(changed.api_root_url.as_str(), "https://10.0.0.1");
        assert!(matches!(
            cat.namespace("nope").await,
            Err(StoreError::NamespaceNotFound(_))
        ));
        let dump = db.dump().await;
        assert!(
            !dump.contains("rotated") && !dump.contains("token-for-tests"),
            "{:?}",
            db.kind
        );
    }
}

#[tokio::test]
async fn every_documented_parameter_exists_with_its_defaults() {
    for db in TestDb::all("parameter defaults").await {
        let cat = open(&db).await;
        let params = cat.params(&Scope::Global).await.unwrap();
        for name in [
            "api-root-url",
            "namespace-id",
            "client-id",
            "clickhouse-host",
            "clickhouse-admin-user",
            "clickhouse-admin-password",
            "clickhouse-user-password",
            "postgres-host",
            "postgres-admin-user",
            "postgres-admin-password",
            "postgres-user-password",
            "keys-secret-seed",
            "keys-token-ttl-hours",
            "keys-rsa-path",
            "sms4b-passcode-lifetime-seconds",
            "sms4b-sender",
            "sms4b-token",
            "rsa-content",
            "public-dns",
            "docker-image",
            "nfs-server",
        ] {
            assert!(
                params.iter().any(|p| p.def.name.as_str() == name),
                "{name} missing"
            );
        }
        let value = |n: &str| match params
            .iter()
            .find(|p| p.def.name.as_str() == n)
            .unwrap()
            .effective()
        {
            Some(StoredValue::Plain(v)) => Some(v.clone()),
            Some(StoredValue::Secret(_)) => Some("<secret>".into()),
            None => None,
        };
        assert_eq!(value("keys-token-ttl-hours").as_deref(), Some("8"));
        assert_eq!(value("keys-rsa-path").as_deref(), Some("/etc/lms/rsa_key"));
        assert_eq!(value("postgres-admin-user").as_deref(), Some("postgres"));
        assert_eq!(value("postgres-admin-password"), None);
        let kind = |n: &str| {
            params
                .iter()
                .find(|p| p.def.name.as_str() == n)
                .unwrap()
                .def
                .kind
        };
        assert_eq!(kind("clickhouse-admin-password"), ParamKind::Secret);
        assert!(matches!(kind("keys-secret-seed"), ParamKind::Generated(_)));
    }
}

#[tokio::test]
async fn parameter_values_are_global_or_per_namespace_and_secrets_are_sealed() {
    for db in TestDb::all("parameter values").await {
        let cat = open(&db).await;
        cat.add_namespace(&ns("lms-dev")).await.unwrap();
        let dev = Scope::Namespace(NamespaceName::parse("lms-dev").unwrap());
        let name = |n: &str| ParamName::parse(n).unwrap();
        let val = |v: &str| SecretString::from(v.to_owned());
        cat.set_param(
            &name("clickhouse-host"),
            &Scope::Global,
            &val("ch.global.test"),
            false,
        )
        .await
        .unwrap();
        cat.set_param(&name("clickhouse-host"), &dev, &val("ch.dev.test"), false)
            .await
            .unwrap();
        cat.set_param(
            &name("postgres-admin-password"),
            &dev,
            &val("CANARY-pg-admin-7731"),
            false,
        )
        .await
        .unwrap();
        let entries = cat.params(&dev).await.unwrap();
        let get = |n: &str| {
            entries
                .iter()
                .find(|e| e.def.name.as_str() == n)
                .unwrap()
                .clone()
        };
        match get("clickhouse-host").effective() {
            Some(StoredValue::Plain(v)) => assert_eq!(v, "ch.dev.test"),
            other => panic!("{other:?}"),
        }
        match get("postgres-admin-password").effective() {
            Some(StoredValue::Secret(s)) => assert_eq!(s.expose_secret(), "CANARY-pg-admin-7731"),
            other => panic!("{other:?}"),
        }
        // Global scope sees the global value only.
        let global = cat.params(&Scope::Global).await.unwrap();
        let host = global
            .iter()
            .find(|e| e.def.name.as_str() == "clickhouse-host")
            .unwrap();
        assert!(matches!(host.effective(), Some(StoredValue::Plain(v)) if v == "ch.global.test"));

        // Generated and builtin parameters cannot be set.
        let err = cat
            .set_param(&name("keys-secret-seed"), &dev, &val("x"), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("generated once per client"),
            "{err}"
        );
        let err = cat
            .set_param(&name("client-id"), &dev, &val("x"), false)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("comes from the client"), "{err}");
        // A new name is defined on the spot; --secret seals a plain one and its old values.
        cat.set_param(
            &name("extra-flag"),
            &Scope::Global,
            &val("CANARY-was-plain"),
            false,
        )
        .await
        .unwrap();
        let def = cat
            .set_param(&name("extra-flag"), &dev, &val("CANARY-now-secret"), true)
            .await
            .unwrap();
        assert_eq!(def.kind, ParamKind::Secret);
        assert!(
            cat.unset_param(&name("clickhouse-host"), &dev)
                .await
                .unwrap()
        );
        assert!(
            !cat.unset_param(&name("clickhouse-host"), &dev)
                .await
                .unwrap()
        );
        let unknown_ns = Scope::Namespace(NamespaceName::parse("lms-prod").unwrap());
        assert!(matches!(
            cat.set_param(&name("clickhouse-host"), &unknown_ns, &val("x"), false)
                .await,
            Err(StoreError::NamespaceNotFound(_))
        ));
        let dump = db.dump().await;
        for canary in [
            "CANARY-pg-admin-7731",
            "CANARY-was-plain",
            "CANARY-now-secret",
        ] {
            assert!(
                !dump.contains(canary),
                "{canary} readable in {:?} dump",
                db.kind
            );
        }
    }
}

#[tokio::test]
async fn env_vars_start_with_the_lms_set_and_namespaces_override_in_place() {
    for db in TestDb::all("env vars").await {
        let cat = open(&db).await;
        cat.add_namespace(&ns("lms-dev")).await.unwrap();
        let dev = Scope::Namespace(NamespaceName::parse("lms-dev").unwrap());
        let global = cat.env_vars(&Scope::Global).await.unwrap();
        assert_eq!(global.len(), 26);
        assert_eq!(global[0].name, "LMS_CLIENT_ID");
        assert_eq!(global[2].value, ":8080");
        assert!(global.iter().all(|e| e.name.starts_with("LMS_")));
        let name = |n: &str| EnvVarName::parse(n).unwrap();
        let val = |v: &str| EnvValue::parse(v).unwrap();
        cat.set_env(&dev, &name("LMS_SERVER_DEBUG"), &val("false"))
            .await
            .unwrap();
        cat.set_env(&dev, &name("LMS_EXTRA"), &val("{{client-id | lower}}"))
            .await
            .unwrap();
        let eff = cat.env_vars(&dev).await.unwrap();
        assert_eq!(eff.len(), 27);
        assert_eq!(
            (eff[1].name.as_str(), eff[1].value.as_str(), eff[1].source),
            ("LMS_SERVER_DEBUG", "false", EnvSource::Namespace)
        );
        assert_eq!(eff[26].name, "LMS_EXTRA");
        // The global list is unchanged; an unset global var stays unset after reopening.
        assert_eq!(cat.env_vars(&Scope::Global).await.unwrap()[1].value, "true");
        assert!(
            cat.unset_env(&Scope::Global, &name("LMS_LOGS_FILENAME"))
                .await
                .unwrap()
        );
        cat.close().await;
        let cat = open(&db).await;
        let global = cat.env_vars(&Scope::Global).await.unwrap();
        assert_eq!(global.len(), 25);
        assert!(global.iter().all(|e| e.name != "LMS_LOGS_FILENAME"));
    }
}

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
