//! A run's end as the catalog stores it, on SQLite and on PostgreSQL alike: a success
//! is stored with the environment's state and its revision at once (no reader sees a
//! run succeeded without them), and a run another process took over stores nothing.

use serde_json::json;
use tenantry_core::ClientId;
use tenantry_store::{EnvState, Finish, RunEnd, RunKind, RunStatus, Settled};
use tenantry_testkit::TestDb;

mod common;
use common::catalog;

fn c1() -> ClientId {
    ClientId::parse("C1").unwrap()
}

fn end<'a>(manifests: &'a [serde_json::Value], empty: &'a serde_json::Value) -> RunEnd<'a> {
    RunEnd {
        succeeded: true,
        reason: None,
        report: empty,
        objects: &[],
        pods: empty,
        settled: Some(Settled {
            client: c1(),
            namespace: "lms-dev",
            state: EnvState::Deployed,
            replicas: 2,
            revision: Some(("registry.test/lms:2", manifests)),
        }),
    }
}

#[tokio::test]
async fn a_success_is_stored_with_its_revision_and_state_or_not_at_all() {
    for db in TestDb::all("runs").await {
        let cat = catalog(&db, &["Acme"]).await;
        let manifests = vec![json!({"body": {"kind": "Service"}})];
        let empty = json!([]);

        let run = cat
            .start_run(c1(), "lms-dev", RunKind::Deploy, "test")
            .await
            .unwrap();
        let got = cat
            .finish_run(run.id, &end(&manifests, &empty))
            .await
            .unwrap();
        assert_eq!(got, Finish::Stored { revision: Some(1) }, "{:?}", db.kind);
        assert_eq!(cat.run(run.id).await.unwrap().status, RunStatus::Succeeded);
        let rev = cat.latest_revision(c1(), "lms-dev").await.unwrap().unwrap();
        assert_eq!(
            (rev.number, rev.run, rev.image.as_str(), rev.manifests),
            (1, run.id, "registry.test/lms:2", manifests.clone())
        );
        let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
        assert_eq!(
            (env.state, env.replicas, env.run),
            (EnvState::Deployed, 2, run.id)
        );
        let first = run.id;

        // Taken over (interrupted) by another process: its end stores nothing.
        let run = cat
            .start_run(c1(), "lms-dev", RunKind::Deploy, "test")
            .await
            .unwrap();
        assert!(cat.interrupt_run(run.id, "taken over").await.unwrap());
        let got = cat
            .finish_run(run.id, &end(&manifests, &empty))
            .await
            .unwrap();
        assert_eq!(got, Finish::NotOwned);
        assert_eq!(
            cat.latest_revision(c1(), "lms-dev")
                .await
                .unwrap()
                .unwrap()
                .number,
            1,
            "{:?}",
            db.kind
        );

        // A failure stores its verdict, and neither a state nor a revision.
        let run = cat
            .start_run(c1(), "lms-dev", RunKind::Deploy, "test")
            .await
            .unwrap();
        let failed = RunEnd {
            succeeded: false,
            reason: Some("the image cannot be pulled"),
            ..end(&manifests, &empty)
        };
        assert_eq!(
            cat.finish_run(run.id, &failed).await.unwrap(),
            Finish::Stored { revision: None }
        );
        assert_eq!(cat.revisions(c1(), "lms-dev").await.unwrap().len(), 1);
        let env = cat.environment(c1(), "lms-dev").await.unwrap().unwrap();
        assert_eq!(env.run, first, "{:?}", db.kind);
    }
}
