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
    let (pods, _) = sim.shared.store.list("pods", Some("lms-dev"));
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
