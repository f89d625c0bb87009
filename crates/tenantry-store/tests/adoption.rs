//! What an adoption writes to the catalog, on SQLite and on PostgreSQL alike: a client
//! under the id the cluster uses (the counter moved past it), its values read from the
//! cluster (never over other ones), revision 0 before the deploys' 1, 2, …

use secrecy::{ExposeSecret, SecretString};
use tenantry_core::{ClientId, NamespaceName, OrgName, ParamName};
use tenantry_store::{NewClient, RunKind, StoreError};
use tenantry_testkit::TestDb;

mod common;
use common::catalog;

fn id(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}

#[tokio::test]
async fn an_adopted_client_keeps_its_id_values_and_comes_first_in_its_history() {
    for db in TestDb::all("adoption").await {
        let cat = catalog(&db, &[]).await;
        let ns = NamespaceName::parse("lms-dev").unwrap();
        let org = OrgName::parse("ООО Ромашка").unwrap();
        let c42 = cat.adopt_client(id("C42"), &org).await.unwrap();
        assert_eq!((c42.id, c42.name.as_str()), (id("C42"), "ООО Ромашка"));
        // Again (a second namespace, or a resumed adoption): kept as it is.
        let again = cat
            .adopt_client(id("C42"), &OrgName::parse("Other").unwrap())
            .await
            .unwrap();
        assert_eq!(again.name.as_str(), "ООО Ромашка");
        // An adopted lower number leaves the counter where it is.
        cat.adopt_client(id("C7"), &org).await.unwrap();
        let next = cat
            .create_client(&NewClient {
                name: OrgName::parse("New").unwrap(),
                phones: vec![],
                emails: vec![],
                contacts: vec![],
            })
            .await
            .unwrap();
        assert_eq!(next.id, id("C43"), "{:?}", db.kind);

        let pw = ParamName::parse("postgres-user-password").unwrap();
        let values = [(pw.clone(), SecretString::from("Live42"))];
        cat.adopt_client_secrets(id("C42"), &ns, &values)
            .await
            .unwrap();
        cat.adopt_client_secrets(id("C42"), &ns, &values)
            .await
            .unwrap();
        let stored = cat.client_secrets(id("C42"), &ns).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].value.expose_secret(), "Live42");
        let other = [(pw, SecretString::from("Other"))];
        match cat.adopt_client_secrets(id("C42"), &ns, &other).await {
            Err(StoreError::SecretsDiffer { names, .. }) => {
                assert_eq!(names, ["postgres-user-password"]);
            }
            r => panic!("{r:?}"),
        }
        let stored = cat.client_secrets(id("C42"), &ns).await.unwrap();
        assert_eq!(stored[0].value.expose_secret(), "Live42", "overwritten");

        assert!(!cat.has_revisions(id("C42"), "lms-dev").await.unwrap());
        let run = cat
            .start_run(id("C42"), "lms-dev", RunKind::Adopt, "test")
            .await
            .unwrap();
        let m = [serde_json::json!({"body": {"kind": "ConfigMap"}})];
        assert_eq!(
            cat.add_adopted_revision(id("C42"), "lms-dev", run.id, "img:0", &m)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            cat.add_revision(id("C42"), "lms-dev", run.id, "img:1", &m)
                .await
                .unwrap(),
            1
        );
        let numbers: Vec<i64> = cat
            .revisions(id("C42"), "lms-dev")
            .await
            .unwrap()
            .iter()
            .map(|r| r.number)
            .collect();
        assert_eq!(numbers, [0, 1]);
        assert!(cat.has_revisions(id("C42"), "lms-dev").await.unwrap());
        assert_eq!(cat.run(run.id).await.unwrap().kind, RunKind::Adopt);
    }
}
