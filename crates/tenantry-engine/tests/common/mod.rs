//! What the engine's tests share: a kubesim cluster, a catalog pointing at it, and
//! deploys of client C1 to lms-dev.
#![allow(dead_code)]

use std::time::Duration;

use kubesim::{Config, Running, Timings};
use secrecy::SecretString;
use serde_json::Value;
use tenantry_core::{ApiRootUrl, ClientId, NamespaceName, OrgName, ParamName};
use tenantry_engine::{DeployOptions, Outcome, deploy};
use tenantry_store::{Catalog, KeySource, NewClient, NewNamespace, OpenOptions, Scope};
use tenantry_testkit::{TEST_MASTER_KEY, TestDb};

pub const TOKEN: &str = "deploy-test-token";

pub async fn cluster(f: impl FnOnce(&mut Config)) -> Running {
    let mut c = Config {
        token: Some(TOKEN.into()),
        path_prefix: "/k8s/clusters/c-test".into(),
        timings: Timings::fast(),
        namespaces: vec!["lms-dev".into()],
        ..Config::default()
    };
    f(&mut c);
    kubesim::start(c).await.unwrap()
}

pub async fn catalog(db: &TestDb, sim: &Running, token: &str) -> Catalog {
    let opts = OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 4,
    };
    let cat = Catalog::open(&opts).await.unwrap().0;
    cat.add_namespace(&NewNamespace {
        name: NamespaceName::parse("lms-dev").unwrap(),
        k8s_namespace: None,
        api_root_url: ApiRootUrl::parse(&sim.url()).unwrap(),
        token: SecretString::from(token.to_owned()),
        ca_bundle: None,
    })
    .await
    .unwrap();
    let dev = Scope::Namespace(NamespaceName::parse("lms-dev").unwrap());
    for (k, v) in [
        ("clickhouse-host", "ch"),
        ("clickhouse-admin-user", "admin"),
        ("clickhouse-admin-password", "x"),
        ("postgres-host", "pg"),
        ("postgres-admin-password", "y"),
        ("sms4b-token", "z"),
        ("public-dns", "lms.test"),
        ("docker-image", "registry.test/lms:1"),
        ("nfs-server", "192.0.2.1"),
    ] {
        cat.set_param(
            &ParamName::parse(k).unwrap(),
            &dev,
            &SecretString::from(v.to_owned()),
            false,
        )
        .await
        .unwrap();
    }
    cat.create_client(&NewClient {
        name: OrgName::parse("Acme").unwrap(),
        phones: vec![],
        emails: vec![],
        contacts: vec![],
    })
    .await
    .unwrap();
    cat
}

/// Sets namespace lms-dev's `docker-image`: the image the LMS pods run.
pub async fn set_image(cat: &Catalog, image: &str) {
    let dev = Scope::Namespace(NamespaceName::parse("lms-dev").unwrap());
    cat.set_param(
        &ParamName::parse("docker-image").unwrap(),
        &dev,
        &SecretString::from(image.to_owned()),
        false,
    )
    .await
    .unwrap();
}

pub fn c1() -> ClientId {
    ClientId::parse("C1").unwrap()
}

pub fn opts() -> DeployOptions {
    DeployOptions {
        timeout: Duration::from_secs(20),
        poll: Duration::from_millis(20),
        ..DeployOptions::default()
    }
}

pub async fn run(cat: &Catalog) -> Outcome {
    deploy(cat, c1(), "lms-dev", &opts(), &|_| {})
        .await
        .unwrap()
}

pub fn get(sim: &Running, path: &str) -> Option<Value> {
    let (plural, name) = path.split_once('/').unwrap();
    sim.object(plural, "lms-dev", name)
}
