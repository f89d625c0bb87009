//! The fleet view against kubesim: each kind of drift made by hand is found (by the
//! live cache and by a one-off observation) with its field-level diff, and a deploy
//! clears it; a failed redeploy whose previous pods still serve is said so; a watch the
//! server ends resumes without missing a change; a new cache finds the same state.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};
use tenantry_core::fleet::SyncState;
use tenantry_core::health::EnvHealth;
use tenantry_core::{ApiRootUrl, ClientId};
use tenantry_engine::Verdict;
use tenantry_engine::fleet::cache::FleetCache;
use tenantry_engine::fleet::{FleetRow, observe};
use tenantry_kube::{Cluster, ObjectRef, Op, PatchKind};
use tenantry_testkit::TestDb;

mod common;
use common::*;

const NS: &str = "api/v1/namespaces/lms-dev";
const APPS: &str = "apis/apps/v1/namespaces/lms-dev";

fn by_hand(sim: &kubesim::Running) -> Cluster {
    Cluster::connect(
        &ApiRootUrl::parse(&sim.url()).unwrap(),
        &SecretString::from(TOKEN.to_owned()),
        None,
    )
    .unwrap()
}

/// Waits for the cache's row of C1 to satisfy `ok`.
async fn until(cache: &FleetCache, what: &str, ok: impl Fn(&FleetRow) -> bool) -> FleetRow {
    let start = Instant::now();
    loop {
        let row = cache.environment(c1(), "lms-dev").map(|(r, _)| r);
        if let Some(r) = &row
            && ok(r)
        {
            return r.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what}: the fleet says {row:?} ({:?}), drift {:?}",
            cache.status(),
            cache.environment(c1(), "lms-dev").map(|_| drift(cache))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The paths that differ in the cache's view of C1, as `Kind/name: path`, and the
/// objects not in sync as `Kind/name: state`.
fn drift(cache: &FleetCache) -> Vec<String> {
    let (_, view) = cache.environment(c1(), "lms-dev").unwrap();
    view.objects
        .iter()
        .flat_map(|o| {
            let head = format!("{}/{}", o.kind, o.name);
            match o.sync {
                SyncState::Drifted => o
                    .diff
                    .iter()
                    .map(|d| format!("{head}: {}", d.path))
                    .collect(),
                SyncState::InSync => vec![],
                s => vec![format!("{head}: {}", s.as_str())],
            }
        })
        .collect()
}

/// A strategic merge patch, as kubectl sends (containers merged by name).
async fn patch(c: &Cluster, collection: &str, name: &str, body: Value) {
    c.call(Op::Patch {
        object: &ObjectRef::new(collection, name),
        kind: PatchKind::Strategic,
        body: &body,
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn each_kind_of_drift_is_found_with_its_diff_and_a_deploy_clears_it() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    let cache = FleetCache::start(cat.clone(), Duration::from_millis(100));
    let row = until(&cache, "healthy after a deploy", |r| {
        r.health == EnvHealth::Healthy && !r.drifted
    })
    .await;
    assert_eq!(row.revision, Some(1));
    assert_eq!(
        row.last_run.as_ref().map(|r| r.status.as_str()),
        Some("succeeded")
    );

    let k = by_hand(&sim);
    // kubectl set image, kubectl scale, an env var edited, a label removed, a Service
    // deleted, an object added with the client's label.
    patch(
        &k,
        &format!("{APPS}/deployments"),
        "lms-deployment-c1",
        json!({"metadata": {"labels": {"app": null}},
            "spec": {"template": {"spec": {"containers": [{"name": "c1", "image": "registry.test/lms:hand"}]}}}}),
    )
    .await;
    k.call(Op::Scale {
        object: &ObjectRef::new(format!("{APPS}/deployments"), "lms-deployment-c1"),
        replicas: 2,
    })
    .await
    .unwrap();
    patch(
        &k,
        &format!("{NS}/configmaps"),
        "lms-config-c1",
        json!({"data": {"LMS_DEBUG": "by-hand"}}),
    )
    .await;
    k.call(Op::Delete {
        object: &ObjectRef::new(format!("{NS}/services"), "lms-service-c1"),
        propagation: tenantry_kube::Propagation::Background,
        uid: None,
    })
    .await
    .unwrap();
    k.call(Op::Create {
        collection: &format!("{NS}/configmaps"),
        body: &json!({"metadata": {"name": "by-hand-c1", "labels": {"tenantry.io/client": "C1"}}, "data": {}}),
    })
    .await
    .unwrap();

    let expected = [
        "ConfigMap/lms-config-c1: data.LMS_DEBUG",
        "Deployment/lms-deployment-c1: metadata.labels.app",
        "Deployment/lms-deployment-c1: spec.replicas",
        "Deployment/lms-deployment-c1: spec.template.spec.containers[0].image",
        "Service/lms-service-c1: missing",
        "ConfigMap/by-hand-c1: extra",
    ];
    let row = until(&cache, "every edit seen", |r| {
        r.drifted
            && expected
                .iter()
                .all(|e| drift(&cache).contains(&e.to_string()))
    })
    .await;
    assert_eq!(drift(&cache).len(), expected.len(), "{:?}", drift(&cache));
    assert_eq!(
        (row.health, row.decided_by.as_str()),
        (EnvHealth::Missing, "Service lms-service-c1")
    );
    let (_, view) = cache.environment(c1(), "lms-dev").unwrap();
    let image = view
        .objects
        .iter()
        .flat_map(|o| &o.diff)
        .find(|d| d.path.ends_with("image"))
        .unwrap();
    assert_eq!(image.desired, json!("registry.test/lms:1"));
    assert_eq!(image.live, Some(json!("registry.test/lms:hand")));

    // Read once, without a cache: the same drift.
    let seen = observe(&cat, "lms-dev").await.unwrap();
    assert_eq!(seen.len(), 1);
    let mut once: Vec<String> = seen[0]
        .view
        .objects
        .iter()
        .flat_map(|o| {
            let head = format!("{}/{}", o.kind, o.name);
            if o.sync == SyncState::Drifted {
                o.diff
                    .iter()
                    .map(|d| format!("{head}: {}", d.path))
                    .collect()
            } else if o.sync == SyncState::InSync {
                vec![]
            } else {
                vec![format!("{head}: {}", o.sync.as_str())]
            }
        })
        .collect();
    let mut cached = drift(&cache);
    once.sort();
    cached.sort();
    assert_eq!(once, cached);

    // A deploy (a sync) converges every field tenantry sets; the object added by hand
    // is not tenantry's to delete, and stays shown as extra.
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    until(&cache, "converged after a sync", |r| {
        r.health == EnvHealth::Healthy && drift(&cache) == ["ConfigMap/by-hand-c1: extra"]
    })
    .await;
    k.call(Op::Delete {
        object: &ObjectRef::new(format!("{NS}/configmaps"), "by-hand-c1"),
        propagation: tenantry_kube::Propagation::Background,
        uid: None,
    })
    .await
    .unwrap();
    // What should be is now the sync's revision, read from the catalog.
    until(&cache, "in sync with revision 2", |r| {
        !r.drifted && r.revision == Some(2)
    })
    .await;
}

#[tokio::test]
async fn a_failed_redeploy_whose_previous_pods_still_serve_is_said_so() {
    let sim = cluster(|c| c.scenarios.crash_image = vec!["*crash*".into()]).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    set_image(&cat, "registry.test/lms:crash").await;
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Failed);
    let cache = FleetCache::start(cat.clone(), Duration::from_millis(100));
    let row = until(&cache, "degraded", |r| r.health == EnvHealth::Degraded).await;
    assert!(
        row.reason
            .starts_with("new version failing, previous version still serving"),
        "{}",
        row.reason
    );
    assert!(row.reason.contains("CrashLoopBackOff"), "{}", row.reason);
    assert_eq!(
        row.last_run.as_ref().map(|r| r.status.as_str()),
        Some("failed")
    );
    // What should run is still the last good revision: the failed image is shown as
    // the difference from it (a rollback, not a sync, brings it back).
    assert_eq!(
        drift(&cache),
        ["Deployment/lms-deployment-c1: spec.template.spec.containers[0].image"]
    );
}

#[tokio::test]
async fn a_watch_the_server_ends_resumes_without_missing_a_change_and_a_new_cache_agrees() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    let cache = FleetCache::start(cat.clone(), Duration::from_millis(100));
    until(&cache, "healthy", |r| {
        r.health == EnvHealth::Healthy && !r.drifted
    })
    .await;
    let k = by_hand(&sim);
    for round in 0..3 {
        // The server ends every watch; a change lands before they are opened again.
        sim.end_watches();
        patch(
            &k,
            &format!("{NS}/configmaps"),
            "lms-config-c1",
            json!({"data": {"ROUND": round.to_string()}}),
        )
        .await;
        until(&cache, "the change made while the watch was down", |_| {
            drift(&cache).contains(&"ConfigMap/lms-config-c1: data.ROUND".to_owned())
        })
        .await;
        patch(
            &k,
            &format!("{NS}/configmaps"),
            "lms-config-c1",
            json!({"data": {"ROUND": null}}),
        )
        .await;
        until(&cache, "the change undone", |r| !r.drifted).await;
    }
    let (reconnects, relists) = cache.reconnects();
    assert!(reconnects >= 3, "{reconnects} reconnects");
    assert_eq!(relists, 0, "a resumed watch needs no new list");

    // A server restarted: a new cache judges the cluster the same.
    patch(
        &k,
        &format!("{APPS}/deployments"),
        "lms-deployment-c1",
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    let before = until(&cache, "scaled", |r| r.drifted).await;
    drop(cache);
    let again = FleetCache::start(cat.clone(), Duration::from_millis(100));
    let after = until(&again, "the same after a restart", |r| r.drifted).await;
    assert_eq!(
        (before.health, before.out_of_sync),
        (after.health, after.out_of_sync)
    );
    assert_eq!(
        drift(&again),
        ["Deployment/lms-deployment-c1: spec.replicas"]
    );
    let _ = ClientId::parse("C1");
}
