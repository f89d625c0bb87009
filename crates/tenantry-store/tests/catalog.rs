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

#[path = "catalog/clients.rs"]
mod clients;
#[path = "catalog/opening.rs"]
mod opening;
#[path = "catalog/settings.rs"]
mod settings;

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
