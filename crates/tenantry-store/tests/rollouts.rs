//! Rollouts in the catalog, on SQLite and on PostgreSQL alike: one holder drives at a
//! time (a quiet one is taken over), a client starts once, a rollout over cannot be
//! changed.

use tenantry_core::ClientId;
use tenantry_core::rollout::{ClientState, Plan, Request, Status};
use tenantry_store::{RunKind, StoreError};
use tenantry_testkit::TestDb;

mod common;
use common::catalog;

#[tokio::test]
async fn one_holder_drives_a_client_starts_once_and_a_rollout_over_is_final() {
    for db in TestDb::all("rollouts").await {
        let cat = catalog(&db, &["A", "B", "C"]).await;
        let c = |n| ClientId::from_number(n).unwrap();
        let plan = Plan {
            canary: vec![c(2)],
            rest: vec![c(1)],
            batch: 2,
            max_failures: 0,
            soak_secs: 0,
        };
        let id = cat
            .create_rollout(
                "lms-dev",
                &plan,
                &[
                    (c(2), ClientState::Pending, Some(1)),
                    (c(1), ClientState::Pending, None),
                    (c(3), ClientState::UpToDate, Some(4)),
                ],
                "test",
            )
            .await
            .unwrap();
        let r = cat.rollout(id).await.unwrap();
        assert_eq!(
            (r.status, r.plan.clone()),
            (Status::Running, plan.clone()),
            "{:?}",
            db.kind
        );
        assert_eq!(r.clients[0].client, c(2));
        assert!(r.clients[0].canary && !r.clients[1].canary);
        assert_eq!(r.clients[2].state, ClientState::UpToDate);
        assert_eq!(r.clients[0].revision_before, Some(1));
        assert_eq!(cat.active_rollouts().await.unwrap(), [id]);

        assert!(cat.claim_rollout(id, "a", 60).await.unwrap());
        assert!(cat.claim_rollout(id, "a", 60).await.unwrap(), "kept");
        assert!(!cat.claim_rollout(id, "b", 60).await.unwrap(), "held by a");
        assert!(
            cat.claim_rollout(id, "b", -1).await.unwrap(),
            "a went quiet"
        );

        assert!(cat.start_rollout_client(id, c(2)).await.unwrap());
        assert!(
            !cat.start_rollout_client(id, c(2)).await.unwrap(),
            "started once"
        );
        let run = cat
            .start_run(c(2), "lms-dev", RunKind::Deploy, "test")
            .await
            .unwrap();
        cat.set_rollout_client(id, c(2), ClientState::Running, Some(run.id), None)
            .await
            .unwrap();
        cat.set_rollout_client(id, c(2), ClientState::Succeeded { at: 77 }, None, None)
            .await
            .unwrap();
        cat.set_rollout_client(id, c(1), ClientState::Failed, None, Some("no image"))
            .await
            .unwrap();
        let r = cat.rollout(id).await.unwrap();
        assert_eq!(r.clients[0].state, ClientState::Succeeded { at: 77 });
        assert_eq!(r.clients[0].run, Some(run.id), "the run is kept");
        assert_eq!(r.clients[1].reason.as_deref(), Some("no image"));

        cat.request_rollout(id, Request::Pause).await.unwrap();
        assert_eq!(cat.rollout(id).await.unwrap().request, Request::Pause);
        cat.set_rollout_status(id, Status::Halted, Some("halted: failed C1"))
            .await
            .unwrap();
        let r = cat.rollout(id).await.unwrap();
        assert_eq!((r.status, r.owner), (Status::Halted, None), "released");
        assert!(matches!(
            cat.request_rollout(id, Request::Go).await,
            Err(StoreError::RolloutOver { .. })
        ));
        assert!(!cat.claim_rollout(id, "b", 60).await.unwrap(), "over");
        assert!(cat.active_rollouts().await.unwrap().is_empty());
        assert_eq!(cat.rollouts().await.unwrap().len(), 1);
    }
}
