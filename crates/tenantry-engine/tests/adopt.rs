//! Adoption against kubesim: environments made by hand with the customer's naming (one
//! from an older template, one incomplete) are found, their passwords, seed and RSA key
//! come into the catalog so rendering gives them back, their objects are labelled
//! without restarting pods, a deploy afterwards changes only what the report showed, a
//! second adoption changes nothing, and a dry run sends no write.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tenantry_core::default_templates::{CLIENT_LABEL, MANAGED_BY};
use tenantry_core::render::Secrets;
use tenantry_core::{ApiRootUrl, ClientId, OrgName};
use tenantry_engine::adopt::{AdoptOptions, AdoptReport, AdoptStatus, adopt};
use tenantry_engine::fleet::observe;
use tenantry_engine::plan::{render_adopted, render_plan};
use tenantry_engine::{Applied, Said, Verdict, deploy};
use tenantry_kube::{Cluster, ListSpec, Op};
use tenantry_store::NewClient;
use tenantry_testkit::TestDb;

mod common;
use common::*;

fn id(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}

fn by_hand(sim: &kubesim::Running) -> Cluster {
    Cluster::connect(
        &ApiRootUrl::parse(&sim.url()).unwrap(),
        &SecretString::from(TOKEN.to_owned()),
        None,
    )
    .unwrap()
}

fn rsa_of(n: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!(
        "-----BEGIN RSA PRIVATE KEY-----\nkey-of-{n}\n-----END RSA PRIVATE KEY-----\n"
    ))
}

/// The values an engineer's environment for client number `n` was made with.
fn values_of(n: u32) -> BTreeMap<String, SecretString> {
    [
        ("postgres-user-password", format!("PgPass{n}x9")),
        ("clickhouse-user-password", format!("ChPass{n}y8")),
        ("keys-secret-seed", format!("{n:0>126}ab")),
        ("rsa-content", rsa_of(n)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), SecretString::from(v)))
    .collect()
}

/// Makes client `c`'s environment by hand: the customer's templates as the team fills
/// them in, without tenantry's labels; `edit` changes the objects first (an older
/// template), `keep` picks which are made.
async fn make_by_hand(
    sim: &kubesim::Running,
    cat: &tenantry_store::Catalog,
    c: &str,
    n: u32,
    edit: impl Fn(&mut Value),
    keep: impl Fn(&str) -> bool,
) {
    let (plan, _) = render_adopted(cat, id(c), "by hand", "lms-dev", values_of(n))
        .await
        .unwrap();
    let k = by_hand(sim);
    for r in plan {
        let Some(mut body) = r.body else { continue };
        if !keep(body["kind"].as_str().unwrap()) {
            continue;
        }
        let labels = body["metadata"]["labels"].as_object_mut().unwrap();
        labels.remove(MANAGED_BY.0);
        labels.remove(CLIENT_LABEL);
        edit(&mut body);
        k.call(Op::Create {
            collection: &r.path,
            body: &body,
        })
        .await
        .unwrap();
    }
}

fn writes(sim: &kubesim::Running) -> u64 {
    sim.requests()
        .iter()
        .filter(|(m, _)| matches!(m.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
        .map(|(_, n)| n)
        .sum()
}

/// The uids of client `c`'s pods, once its Deployment has them all ready.
async fn pods_of(sim: &kubesim::Running, c: &str) -> Vec<String> {
    let k = by_hand(sim);
    let start = Instant::now();
    loop {
        let list = k
            .call(Op::List(
                &ListSpec::new("api/v1/namespaces/lms-dev/pods")
                    .labels_text(format!("app={c}-lms")),
            ))
            .await
            .unwrap();
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let ready = |p: &Value| {
            p.pointer("/status/containerStatuses/0/ready") == Some(&json!(true))
                && p.pointer("/metadata/deletionTimestamp").is_none()
        };
        if !items.is_empty() && items.iter().all(ready) {
            let mut uids: Vec<String> = items
                .iter()
                .map(|p| p["metadata"]["uid"].as_str().unwrap().to_owned())
                .collect();
            uids.sort();
            return uids;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{c}'s pods never became ready: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn env_of<'a>(r: &'a AdoptReport, c: &str) -> &'a tenantry_engine::adopt::EnvAdoption {
    r.environments
        .iter()
        .find(|e| e.client == id(c))
        .unwrap_or_else(|| panic!("{c} not in the report: {r:#?}"))
}

fn applied(o: &tenantry_engine::Outcome, template: &str) -> Applied {
    o.steps
        .iter()
        .find(|s| s.template.as_str() == template)
        .and_then(|s| {
            s.said.iter().find_map(|x| match x {
                Said::Applied(a) => Some(a.clone()),
                _ => None,
            })
        })
        .unwrap_or_else(|| panic!("{template} applied nothing: {:?}", o.steps))
}

#[tokio::test]
async fn hand_made_environments_are_adopted_keeping_their_secrets_and_pods() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    // C42 as today's template makes it; C7 from an older one (other env vars, the
    // document's upper-case PostgreSQL role, no options in the DSN); C9 incomplete.
    make_by_hand(&sim, &cat, "C42", 42, |_| {}, |_| true).await;
    make_by_hand(
        &sim,
        &cat,
        "C7",
        7,
        |b| {
            if b["kind"] == "ConfigMap" {
                let d = b["data"].as_object_mut().unwrap();
                d.insert(
                    "LMS_STORAGE_POSTGRES_DSN".into(),
                    json!("postgres://C7:OldPg7@pg:5432/C7"),
                );
                d.remove("LMS_STORAGE_CLICKHOUSE_DEMO");
                d.insert("LMS_LEGACY_FLAG".into(), json!("1"));
            }
        },
        |kind| kind != "Job",
    )
    .await;
    make_by_hand(
        &sim,
        &cat,
        "C9",
        9,
        |_| {},
        |kind| matches!(kind, "Deployment" | "ConfigMap"),
    )
    .await;
    by_hand(&sim)
        .call(Op::Create {
            collection: "api/v1/namespaces/lms-dev/secrets",
            body: &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "type": "Opaque", "data": {"k": "dg=="}}),
        })
        .await
        .unwrap();
    let pods42 = pods_of(&sim, "C42").await;
    let pods7 = pods_of(&sim, "C7").await;

    // A dry run reports and writes nothing, to the cluster or the catalog.
    let before = writes(&sim);
    let dry = AdoptOptions {
        dry_run: true,
        ..AdoptOptions::default()
    };
    let r = adopt(&cat, "lms-dev", &dry, &opts()).await.unwrap();
    assert_eq!(writes(&sim), before, "a dry run sent a write");
    assert!(
        cat.client(id("C42")).await.is_err(),
        "a dry run stored a client"
    );
    let e42 = env_of(&r, "C42");
    assert_eq!(e42.status, AdoptStatus::WouldAdopt, "{e42:#?}");
    assert!(e42.changes.is_empty(), "{:#?}", e42.changes);
    assert!(!e42.restarts_pods);
    assert_eq!(e42.values.len(), 4, "{:#?}", e42.values);
    assert!(e42.not_found.is_empty());
    let e7 = env_of(&r, "C7");
    assert_eq!(e7.status, AdoptStatus::WouldAdopt, "{e7:#?}");
    let mut c7_paths: Vec<String> = e7
        .changes
        .iter()
        .filter(|c| c.kind == "ConfigMap")
        .flat_map(|c| c.fields.iter().map(|f| f.path.clone()))
        .collect();
    c7_paths.sort();
    assert_eq!(
        c7_paths,
        [
            "data.LMS_LEGACY_FLAG",
            "data.LMS_STORAGE_CLICKHOUSE_DEMO",
            "data.LMS_STORAGE_POSTGRES_DSN"
        ]
    );
    assert!(e7.restarts_pods, "a changed config rolls the pods");
    assert!(
        e7.changes
            .iter()
            .any(|c| c.kind == "Job" && c.change == "create")
    );
    // The password is masked in what is shown.
    let shown = serde_json::to_string(&r).unwrap();
    assert!(
        !shown.contains("OldPg7") && !shown.contains("PgPass42"),
        "{shown}"
    );
    let e9 = env_of(&r, "C9");
    assert_eq!(e9.status, AdoptStatus::Incomplete);
    let missing: Vec<String> = e9.missing.iter().map(ToString::to_string).collect();
    assert_eq!(
        missing,
        [
            "Secret rsa-secret-c9",
            "Service lms-service-c9",
            "Ingress client-lms-ingress-c9"
        ]
    );
    assert!(
        r.unmatched
            .iter()
            .any(|o| o.kind == "Secret" && o.name == "tls"),
        "{:?}",
        r.unmatched
    );

    // Adopted for real.
    let mut names = BTreeMap::new();
    names.insert(id("C42"), OrgName::parse("ООО «Ромашка»").unwrap());
    let go = AdoptOptions {
        names,
        ..AdoptOptions::default()
    };
    let r = adopt(&cat, "lms-dev", &go, &opts()).await.unwrap();
    assert_eq!(env_of(&r, "C42").status, AdoptStatus::Adopted, "{r:#?}");
    assert_eq!(env_of(&r, "C42").revision, Some(0));
    assert_eq!(env_of(&r, "C7").status, AdoptStatus::Adopted, "{r:#?}");
    assert_eq!(env_of(&r, "C9").status, AdoptStatus::Incomplete);
    assert_eq!(
        cat.client(id("C42")).await.unwrap().name.as_str(),
        "ООО «Ромашка»"
    );
    assert_eq!(
        cat.client(id("C7")).await.unwrap().name.as_str(),
        "C7 (adopted from lms-dev)"
    );
    // New ids never collide with adopted ones.
    let next = cat
        .create_client(&NewClient {
            name: OrgName::parse("New").unwrap(),
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await
        .unwrap();
    assert_eq!(next.id, id("C43"));

    // Rendering gives the values the live objects hold.
    let plan = render_plan(&cat, id("C42"), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    let body = |kind: &str| {
        plan.iter()
            .filter_map(|r| r.body.clone())
            .find(|b| b["kind"] == kind)
            .unwrap()
    };
    let v42 = values_of(42);
    let cm = body("ConfigMap");
    assert!(
        cm["data"]["LMS_STORAGE_POSTGRES_DSN"]
            .as_str()
            .unwrap()
            .contains(v42["postgres-user-password"].expose_secret())
    );
    assert!(
        cm["data"]["LMS_STORAGE_CLICKHOUSE_DSN"]
            .as_str()
            .unwrap()
            .contains(v42["clickhouse-user-password"].expose_secret())
    );
    assert_eq!(
        cm["data"]["LMS_KEYS_SECRET_SEED"],
        v42["keys-secret-seed"].expose_secret()
    );
    assert_eq!(body("Secret")["data"]["rsa_key"], rsa_of(42));
    let plan7 = render_plan(&cat, id("C7"), "lms-dev", Secrets::Reveal)
        .await
        .unwrap();
    let cm7 = plan7
        .iter()
        .filter_map(|r| r.body.clone())
        .find(|b| b["kind"] == "ConfigMap")
        .unwrap();
    assert!(
        cm7["data"]["LMS_STORAGE_POSTGRES_DSN"]
            .as_str()
            .unwrap()
            .contains(":OldPg7@"),
        "{}",
        cm7["data"]["LMS_STORAGE_POSTGRES_DSN"]
    );

    // Labelled, not restarted; the fleet sees them in sync with revision 0.
    assert_eq!(pods_of(&sim, "C42").await, pods42);
    assert_eq!(pods_of(&sim, "C7").await, pods7);
    let dep = get(&sim, "deployments/lms-deployment-c42").unwrap();
    assert_eq!(dep["metadata"]["labels"][CLIENT_LABEL], "C42");
    let rows = observe(&cat, "lms-dev").await.unwrap();
    let row = rows.iter().find(|o| o.row.client == id("C42")).unwrap();
    assert_eq!(row.row.revision, Some(0));
    assert!(!row.row.drifted, "{:#?}", row.view.objects);

    // A deploy changes nothing where the diff was empty, pods kept.
    let o = deploy(&cat, id("C42"), "lms-dev", &opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(o.status, Verdict::Succeeded, "{:?}", o.reason);
    for t in [
        "configmap",
        "secret",
        "service",
        "ingress",
        "deployment",
        "clickhouse-setup",
        "postgres-setup",
    ] {
        assert_eq!(applied(&o, t), Applied::Unchanged, "{t}");
    }
    assert_eq!(o.revision, Some(1));
    assert_eq!(
        pods_of(&sim, "C42").await,
        pods42,
        "a deploy with no change restarted the pods"
    );
    // ... and only what the diff showed where it was not.
    let o = deploy(&cat, id("C7"), "lms-dev", &opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(o.status, Verdict::Succeeded, "{:?}", o.reason);
    let Applied::Updated(mut paths) = applied(&o, "configmap") else {
        panic!("{:?}", applied(&o, "configmap"))
    };
    paths.sort();
    assert_eq!(paths, c7_paths);
    for t in ["secret", "service", "ingress"] {
        assert_eq!(applied(&o, t), Applied::Unchanged, "{t}");
    }
    assert_eq!(applied(&o, "clickhouse-setup"), Applied::Created);

    // Again: nothing new, nothing written.
    let before = writes(&sim);
    let r = adopt(&cat, "lms-dev", &go, &opts()).await.unwrap();
    assert_eq!(writes(&sim), before, "a second adoption wrote");
    assert_eq!(r.count(AdoptStatus::Adopted), 0, "{r:#?}");
    assert_eq!(env_of(&r, "C42").status, AdoptStatus::AlreadyManaged);
    assert_eq!(env_of(&r, "C7").status, AdoptStatus::AlreadyManaged);

    // The incomplete one with --partial; a deploy creates what it lacks.
    let partial = AdoptOptions {
        partial: true,
        ..AdoptOptions::default()
    };
    let r = adopt(&cat, "lms-dev", &partial, &opts()).await.unwrap();
    assert_eq!(env_of(&r, "C9").status, AdoptStatus::Adopted, "{r:#?}");
    let o = deploy(&cat, id("C9"), "lms-dev", &opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(o.status, Verdict::Succeeded, "{:?}", o.reason);
    assert_eq!(applied(&o, "service"), Applied::Created);
    assert_eq!(applied(&o, "secret"), Applied::Created);
    assert!(get(&sim, "ingresses/client-lms-ingress-c9").is_some());
}

#[tokio::test]
async fn an_adoption_never_overrides_other_values_the_catalog_has() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    // C1 is in the catalog, with its own generated values for lms-dev; someone built
    // an environment for C1 by hand with others.
    render_plan(&cat, c1(), "lms-dev", Secrets::Mask)
        .await
        .unwrap();
    make_by_hand(&sim, &cat, "C1", 1, |_| {}, |k| k != "Job").await;
    let r = adopt(&cat, "lms-dev", &AdoptOptions::default(), &opts())
        .await
        .unwrap();
    let e = env_of(&r, "C1");
    assert_eq!(e.status, AdoptStatus::Failed, "{e:#?}");
    assert!(
        e.reason.as_deref().unwrap().contains("other values"),
        "{e:#?}"
    );
    let dep = get(&sim, "deployments/lms-deployment-c1").unwrap();
    assert!(
        dep["metadata"]["labels"].get(CLIENT_LABEL).is_none(),
        "a refused adoption labelled"
    );
}
