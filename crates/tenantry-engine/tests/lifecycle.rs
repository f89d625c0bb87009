//! The operations after day one against kubesim: suspend and resume through `/scale`,
//! a deploy of a suspended environment keeping it at zero, and rolling back to an
//! earlier revision; each run twice to show it is idempotent.

use serde_json::Value;
use tenantry_engine::{DeployError, Verdict, prepare_resume, prepare_rollback, prepare_suspend};
use tenantry_store::{EnvState, RunKind};
use tenantry_testkit::TestDb;

mod common;
use common::*;

fn dep(sim: &kubesim::Running) -> Value {
    get(sim, "deployments/lms-deployment-c1").unwrap()
}

fn live_pods(sim: &kubesim::Running) -> usize {
    let pods = sim.objects("pods", "lms-dev");
    pods.iter()
        .filter(|p| {
            p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some("C1-lms")
                && p.pointer("/metadata/deletionTimestamp").is_none()
        })
        .count()
}

#[tokio::test]
async fn suspend_scales_to_zero_a_deploy_keeps_it_there_and_resume_brings_it_back() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    // Nothing deployed yet: nothing to suspend, said so.
    let refused = prepare_suspend(&cat, c1(), "lms-dev", &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, DeployError::Refused(m) if m.contains("deploy it first")),
        "{refused}"
    );
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    assert_eq!(live_pods(&sim), 1);

    for _ in 0..2 {
        let out = prepare_suspend(&cat, c1(), "lms-dev", &opts())
            .await
            .unwrap()
            .execute(&opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
        assert_eq!(out.kind, RunKind::Suspend);
        assert_eq!(dep(&sim)["spec"]["replicas"], 0);
        assert_eq!(live_pods(&sim), 0, "pods left after a suspend");
        let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
        assert_eq!((env.state, env.replicas), (EnvState::Suspended, 1));
    }
    // The request sent is a PATCH of /scale.
    let runs = cat.runs(Some(c1()), 1).await.unwrap();
    assert_eq!(runs[0].kind, RunKind::Suspend);

    // A deploy while suspended converges everything else and keeps zero replicas.
    set_image(&cat, "registry.test/lms:2").await;
    let out = run(&cat).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    assert_eq!(dep(&sim)["spec"]["replicas"], 0);
    assert_eq!(
        dep(&sim)["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.test/lms:2"
    );
    assert_eq!(live_pods(&sim), 0);
    let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
    assert_eq!(env.state, EnvState::Suspended);

    for _ in 0..2 {
        let out = prepare_resume(&cat, c1(), "lms-dev", &opts())
            .await
            .unwrap()
            .execute(&opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
        assert_eq!(dep(&sim)["spec"]["replicas"], 1, "{:?}", out.steps);
        assert_eq!(live_pods(&sim), 1);
        let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
        assert_eq!((env.state, env.replicas), (EnvState::Deployed, 1));
    }
}

#[tokio::test]
async fn a_rollback_deploys_an_earlier_revision_again_as_a_new_one() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    let refused = prepare_rollback(&cat, c1(), "lms-dev", None, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, DeployError::Refused(m) if m.contains("no earlier revision")),
        "{refused}"
    );
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    let secrets = cat
        .client_secrets(
            c1(),
            &tenantry_core::NamespaceName::parse("lms-dev").unwrap(),
        )
        .await
        .unwrap();
    set_image(&cat, "registry.test/lms:2").await;
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    assert_eq!(
        dep(&sim)["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.test/lms:2"
    );

    let out = prepare_rollback(&cat, c1(), "lms-dev", None, &opts())
        .await
        .unwrap()
        .execute(&opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    assert_eq!(out.kind, RunKind::Rollback);
    assert_eq!(out.revision, Some(3));
    assert_eq!(
        dep(&sim)["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.test/lms:1"
    );
    let history = tenantry_engine::history::history(&cat, c1(), "lms-dev")
        .await
        .unwrap();
    let images: Vec<&str> = history.iter().map(|r| r.image.as_str()).collect();
    assert_eq!(
        images,
        [
            "registry.test/lms:1",
            "registry.test/lms:2",
            "registry.test/lms:1"
        ]
    );
    assert!(
        history[2]
            .changes
            .iter()
            .any(|c| c.contains("containers[0].image")),
        "{:?}",
        history[2].changes
    );
    // The request records show what was sent again, never the secrets it holds.
    let records = cat.run_requests(out.run).await.unwrap();
    assert!(
        records.iter().all(|r| !r.excerpt.contains("\"data\"")),
        "{records:#?}"
    );
    // Rolling back again to revision 2 by number; the catalog's secrets never change.
    let out = prepare_rollback(&cat, c1(), "lms-dev", Some(2), &opts())
        .await
        .unwrap()
        .execute(&opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    assert_eq!(
        dep(&sim)["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.test/lms:2"
    );
    let after = cat
        .client_secrets(
            c1(),
            &tenantry_core::NamespaceName::parse("lms-dev").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        after
            .iter()
            .map(|s| (&s.name, &s.created_at))
            .collect::<Vec<_>>(),
        secrets
            .iter()
            .map(|s| (&s.name, &s.created_at))
            .collect::<Vec<_>>()
    );
    let missing = prepare_rollback(&cat, c1(), "lms-dev", Some(9), &opts())
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no revision 9"), "{missing}");
}

async fn decommission(
    cat: &tenantry_store::Catalog,
    what: tenantry_engine::Decommission,
    o: &tenantry_engine::DeployOptions,
) -> tenantry_engine::Outcome {
    tenantry_engine::prepare_decommission(cat, c1(), "lms-dev", what, o)
        .await
        .unwrap()
        .execute(o, &|_| {})
        .await
        .unwrap()
}

/// What an operator's `kubectl patch --type merge` does.
async fn merge_patch(
    kube: &tenantry_kube::Cluster,
    object: &tenantry_kube::ObjectRef,
    body: Value,
) {
    kube.call(tenantry_kube::Op::Patch {
        object,
        kind: tenantry_kube::PatchKind::Merge,
        body: &body,
    })
    .await
    .unwrap();
}

fn names(sim: &kubesim::Running, plural: &str) -> Vec<String> {
    let items = sim.objects(plural, "lms-dev");
    items
        .iter()
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn decommission_deletes_what_is_tenantrys_in_order_keeps_the_secrets_and_can_run_again() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    let dev = tenantry_core::NamespaceName::parse("lms-dev").unwrap();
    let secrets = cat.client_secrets(c1(), &dev).await.unwrap();
    let what = tenantry_engine::Decommission {
        drop_databases: true,
        forget_secrets: false,
    };
    let out = decommission(&cat, what, &opts()).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    assert_eq!(out.kind, RunKind::Decommission);
    for plural in [
        "deployments",
        "services",
        "ingresses",
        "configmaps",
        "secrets",
        "jobs",
        "pods",
    ] {
        let left = names(&sim, plural);
        assert!(
            left.iter().all(|n| !n.contains("c1")),
            "{plural} left: {left:?}"
        );
    }
    // Ingress first, the setup Jobs last, then the teardown Jobs ran and were removed.
    let sent: Vec<String> = cat
        .run_requests(out.run)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == "DELETE" || r.method == "POST")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let at = |needle: &str| {
        sent.iter()
            .position(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {sent:#?}"))
    };
    assert!(at("DELETE apis/networking.k8s.io") < at("DELETE api/v1/namespaces/lms-dev/services"));
    assert!(at("DELETE api/v1/namespaces/lms-dev/services") < at("DELETE apis/apps/v1"));
    assert!(at("DELETE apis/apps/v1") < at("jobs/postgres-setup-c1"));
    assert!(at("jobs/postgres-setup-c1") < at("POST apis/batch/v1"));
    assert!(at("POST apis/batch/v1") < at("jobs/postgres-teardown-c1"));
    let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
    assert_eq!(env.state, EnvState::Decommissioned);
    assert_eq!(
        cat.client_secrets(c1(), &dev).await.unwrap().len(),
        secrets.len()
    );

    // Again: nothing left to delete, the teardown runs again (it is idempotent).
    let again = decommission(&cat, what, &opts()).await;
    assert_eq!(again.status, Verdict::Succeeded, "{:?}", again.reason);
    assert!(
        again
            .steps
            .iter()
            .filter(|s| s.template.as_str().starts_with("delete-"))
            .all(|s| s.detail.starts_with("already gone")),
        "{:?}",
        again.steps
    );

    // Deployed again: the same generated secrets, the setup Jobs succeed.
    let back = run(&cat).await;
    assert_eq!(back.status, Verdict::Succeeded, "{:?}", back.reason);
    let after = cat.client_secrets(c1(), &dev).await.unwrap();
    assert_eq!(
        after
            .iter()
            .map(|s| (&s.name, &s.created_at))
            .collect::<Vec<_>>(),
        secrets
            .iter()
            .map(|s| (&s.name, &s.created_at))
            .collect::<Vec<_>>()
    );
    let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
    assert_eq!(env.state, EnvState::Deployed);
    // Forgetting the secrets: a later deploy would make new ones.
    let forget = tenantry_engine::Decommission {
        drop_databases: false,
        forget_secrets: true,
    };
    assert_eq!(
        decommission(&cat, forget, &opts()).await.status,
        Verdict::Succeeded
    );
    assert!(cat.client_secrets(c1(), &dev).await.unwrap().is_empty());
}

#[tokio::test]
async fn decommission_leaves_what_is_not_tenantrys_and_names_a_delete_held_by_a_finalizer() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    assert_eq!(run(&cat).await.status, Verdict::Succeeded);
    let kube = tenantry_kube::Cluster::connect(
        &tenantry_core::ApiRootUrl::parse(&sim.url()).unwrap(),
        &secrecy::SecretString::from(TOKEN),
        None,
    )
    .unwrap();
    // The Service taken over by hand (tenantry's labels removed); the ConfigMap held by
    // a finalizer someone else owns.
    let svc = tenantry_kube::ObjectRef::new("api/v1/namespaces/lms-dev/services", "lms-service-c1");
    let unlabel =
        serde_json::json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": null}}});
    kube.call(tenantry_kube::Op::Patch {
        object: &svc,
        kind: tenantry_kube::PatchKind::Merge,
        body: &unlabel,
    })
    .await
    .unwrap();
    let cm = tenantry_kube::ObjectRef::new("api/v1/namespaces/lms-dev/configmaps", "lms-config-c1");
    merge_patch(
        &kube,
        &cm,
        serde_json::json!({"metadata": {"finalizers": ["example.com/backup"]}}),
    )
    .await;
    let mut o = opts();
    o.delete_grace = std::time::Duration::from_millis(300);
    let out = decommission(&cat, tenantry_engine::Decommission::default(), &o).await;
    assert_eq!(out.status, Verdict::Failed);
    let reason = out.reason.unwrap_or_default();
    assert!(
        reason.contains("ConfigMap lms-dev/lms-config-c1 is still there")
            && reason.contains("example.com/backup"),
        "{reason}"
    );
    let service_step = out
        .steps
        .iter()
        .find(|s| s.template.as_str() == "delete-service")
        .unwrap();
    assert!(
        service_step
            .detail
            .starts_with("left untouched: not tenantry's"),
        "{service_step:?}"
    );
    assert!(names(&sim, "services").contains(&"lms-service-c1".to_owned()));
    // Once whatever held it lets go, the decommission finishes.
    merge_patch(
        &kube,
        &cm,
        serde_json::json!({"metadata": {"finalizers": null}}),
    )
    .await;
    let out = decommission(&cat, tenantry_engine::Decommission::default(), &o).await;
    assert_eq!(out.status, Verdict::Succeeded, "{:?}", out.reason);
    assert!(!names(&sim, "configmaps").contains(&"lms-config-c1".to_owned()));
    assert!(names(&sim, "services").contains(&"lms-service-c1".to_owned()));
}
