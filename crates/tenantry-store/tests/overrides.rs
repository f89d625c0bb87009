//! Per-client overrides, on SQLite and on PostgreSQL alike: a parameter or env var set
//! for one client in a namespace wins over the namespace's, which wins over the global
//! one; each value says where it comes from; other clients are not affected.

use secrecy::{ExposeSecret, SecretString};
use tenantry_core::env::EnvValue;
use tenantry_core::{ClientId, EnvVarName, NamespaceName, ParamName};
use tenantry_store::{EnvSource, Scope, StoreError, StoredValue, ValueSource};
use tenantry_testkit::TestDb;

mod common;
use common::catalog;

fn value(e: Option<&StoredValue>) -> Option<String> {
    match e? {
        StoredValue::Plain(p) => Some(p.clone()),
        StoredValue::Secret(s) => Some(s.expose_secret().to_owned()),
    }
}

#[tokio::test]
async fn a_client_override_wins_over_the_namespace_and_the_global_value() {
    for db in TestDb::all("overrides").await {
        let cat = catalog(&db, &["Acme", "Beta"]).await;
        let dev = NamespaceName::parse("lms-dev").unwrap();
        let (c1, c2) = (
            ClientId::parse("C1").unwrap(),
            ClientId::parse("C2").unwrap(),
        );
        let image = ParamName::parse("docker-image").unwrap();
        let set = |scope: Scope, v: &str| {
            let (cat, image) = (cat.clone(), image.clone());
            let v = SecretString::from(v.to_owned());
            async move { cat.set_param(&image, &scope, &v, false).await.unwrap() }
        };
        set(Scope::Global, "lms:global").await;
        set(Scope::Namespace(dev.clone()), "lms:dev").await;
        set(Scope::Client(dev.clone(), c1), "lms:canary").await;
        let seen = |scope: Scope| {
            let (cat, image) = (cat.clone(), image.clone());
            async move {
                let p = cat
                    .params(&scope)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|p| p.def.name == image)
                    .unwrap();
                (value(p.effective()), p.source())
            }
        };
        assert_eq!(
            seen(Scope::Client(dev.clone(), c1)).await,
            (Some("lms:canary".into()), Some(ValueSource::Client)),
            "{:?}",
            db.kind
        );
        assert_eq!(
            seen(Scope::Client(dev.clone(), c2)).await,
            (Some("lms:dev".into()), Some(ValueSource::Namespace))
        );
        assert_eq!(
            seen(Scope::Namespace(dev.clone())).await,
            (Some("lms:dev".into()), Some(ValueSource::Namespace))
        );
        // A secret override is sealed and opened in its own place.
        let token = ParamName::parse("sms4b-token").unwrap();
        cat.set_param(
            &token,
            &Scope::Client(dev.clone(), c1),
            &SecretString::from("own"),
            false,
        )
        .await
        .unwrap();
        let p = cat
            .params(&Scope::Client(dev.clone(), c1))
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.def.name == token)
            .unwrap();
        assert!(
            matches!(p.effective(), Some(StoredValue::Secret(s)) if s.expose_secret() == "own")
        );

        assert!(
            cat.unset_param(&image, &Scope::Client(dev.clone(), c1))
                .await
                .unwrap()
        );
        assert_eq!(
            seen(Scope::Client(dev.clone(), c1)).await,
            (Some("lms:dev".into()), Some(ValueSource::Namespace))
        );
        // An override for a client the catalog does not have is refused.
        let c9 = ClientId::parse("C9").unwrap();
        assert!(matches!(
            cat.set_param(
                &image,
                &Scope::Client(dev.clone(), c9),
                &SecretString::from("x"),
                false
            )
            .await,
            Err(StoreError::ClientNotFound(_))
        ));

        // Env vars: overridden in place, extras after the namespace's list.
        let var = |n: &str| EnvVarName::parse(n).unwrap();
        let val = |v: &str| EnvValue::parse(v).unwrap();
        cat.set_env(&Scope::Global, &var("A"), &val("g"))
            .await
            .unwrap();
        cat.set_env(&Scope::Global, &var("B"), &val("g"))
            .await
            .unwrap();
        cat.set_env(&Scope::Namespace(dev.clone()), &var("B"), &val("ns"))
            .await
            .unwrap();
        cat.set_env(&Scope::Namespace(dev.clone()), &var("C"), &val("ns"))
            .await
            .unwrap();
        cat.set_env(&Scope::Client(dev.clone(), c1), &var("A"), &val("c1"))
            .await
            .unwrap();
        cat.set_env(&Scope::Client(dev.clone(), c1), &var("D"), &val("c1"))
            .await
            .unwrap();
        let list = |scope: Scope| {
            let cat = cat.clone();
            async move {
                cat.env_vars(&scope)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|e| e.name.len() == 1)
                    .map(|e| (e.name, e.value, e.source))
                    .collect::<Vec<_>>()
            }
        };
        let s = |n: &str, v: &str, src| (n.to_owned(), v.to_owned(), src);
        assert_eq!(
            list(Scope::Client(dev.clone(), c1)).await,
            [
                s("A", "c1", EnvSource::Client),
                s("B", "ns", EnvSource::Namespace),
                s("C", "ns", EnvSource::Namespace),
                s("D", "c1", EnvSource::Client)
            ]
        );
        assert_eq!(
            list(Scope::Client(dev.clone(), c2)).await,
            [
                s("A", "g", EnvSource::Global),
                s("B", "ns", EnvSource::Namespace),
                s("C", "ns", EnvSource::Namespace)
            ]
        );
    }
}
