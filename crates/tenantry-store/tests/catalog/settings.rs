//! Namespaces, parameters and env vars: URLs and sealed tokens, the documented
//! parameters and their defaults, global and per-namespace values.

use super::*;

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
