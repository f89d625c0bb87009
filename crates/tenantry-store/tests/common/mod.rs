//! What the catalog's tests of the operations after day one share: a catalog with the
//! `lms-dev` namespace, and clients.
#![allow(dead_code)]

use secrecy::SecretString;
use tenantry_core::{ApiRootUrl, NamespaceName, OrgName};
use tenantry_store::{Catalog, KeySource, NewClient, NewNamespace, OpenOptions};
use tenantry_testkit::{TEST_MASTER_KEY, TestDb};

/// Another catalog (a pool of its own, as another server has) on `db`.
pub async fn reopen(db: &TestDb) -> Catalog {
    let opts = OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 2,
    };
    Catalog::open(&opts).await.unwrap().0
}

/// A catalog with namespace `lms-dev` and clients named `clients` (C1, C2, …).
pub async fn catalog(db: &TestDb, clients: &[&str]) -> Catalog {
    let opts = OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 4,
    };
    let cat = Catalog::open(&opts).await.unwrap().0;
    cat.add_namespace(&NewNamespace {
        name: NamespaceName::parse("lms-dev").unwrap(),
        k8s_namespace: None,
        api_root_url: ApiRootUrl::parse("https://127.0.0.1:6443/").unwrap(),
        token: SecretString::from("t"),
        ca_bundle: None,
    })
    .await
    .unwrap();
    for name in clients {
        cat.create_client(&NewClient {
            name: OrgName::parse(name).unwrap(),
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await
        .unwrap();
    }
    cat
}
