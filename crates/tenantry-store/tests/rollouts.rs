//! Rollouts in the catalog, on SQLite and on PostgreSQL alike: drivers step a rollout
//! together and each client is taken once (a claim whose driver went quiet before its
//! run lapses); steps racing from separate connections never exceed the batch; only
//! the step that ends a rollout says so; a rollout over cannot be changed.

use tenantry_core::ClientId;
use tenantry_core::rollout::{ClientState, Next, Plan, Request, Status};
use tenantry_store::{Catalog, RunKind, StoreError, unix_now};
use tenantry_testkit::TestDb;

mod common;
use common::{catalog, reopen};

#[tokio::test]
async fn drivers_take_each_client_once_a_quiet_ones_claim_lapses_and_a_rollout_over_is_final() {
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

        // The canary first, taken by driver a; b's step does not take it again.
        let step = cat.step_rollout(id, "a", 100, 60).await.unwrap();
        assert_eq!(step.next, Next::Start(vec![c(2)]), "{:?}", db.kind);
        assert_eq!(step.record.clients[0].driver.as_deref(), Some("a"));
        let step = cat.step_rollout(id, "b", 100, 60).await.unwrap();
        assert_eq!(step.next, Next::Wait { until: None });
        // a went quiet before recording a run: its claim lapses after its lease only.
        assert!(!cat.lapse_rollout_client(id, c(2), 50).await.unwrap());
        assert!(
            cat.lapse_rollout_client(id, c(2), unix_now() + 1)
                .await
                .unwrap()
        );
        let step = cat.step_rollout(id, "b", 101, 60).await.unwrap();
        assert_eq!(step.next, Next::Start(vec![c(2)]), "b takes it");
        let run = cat
            .start_run(c(2), "lms-dev", RunKind::Deploy, "test")
            .await
            .unwrap();
        cat.set_rollout_client(id, c(2), ClientState::Running, Some(run.id), None)
            .await
            .unwrap();
        assert!(
            !cat.lapse_rollout_client(id, c(2), unix_now() + 1)
                .await
                .unwrap(),
            "a client with a run is its run's: never pending again"
        );
        cat.set_rollout_client(id, c(2), ClientState::Succeeded { at: 77 }, None, None)
            .await
            .unwrap();
        let step = cat.step_rollout(id, "a", 102, 60).await.unwrap();
        assert_eq!(step.next, Next::Start(vec![c(1)]));
        cat.set_rollout_client(id, c(1), ClientState::Failed, None, Some("no image"))
            .await
            .unwrap();
        let r = cat.rollout(id).await.unwrap();
        assert_eq!(r.clients[0].state, ClientState::Succeeded { at: 77 });
        assert_eq!(r.clients[0].run, Some(run.id), "the run is kept");
        assert_eq!(r.clients[1].reason.as_deref(), Some("no image"));
        assert_eq!(r.owner.as_deref(), Some("a"), "who stepped it last");

        cat.request_rollout(id, Request::Pause).await.unwrap();
        assert_eq!(cat.rollout(id).await.unwrap().request, Request::Pause);
        // One failure more than allowed: halted, and only the step that ended it says so.
        let step = cat.step_rollout(id, "b", 103, 60).await.unwrap();
        assert_eq!((step.next, step.ended), (Next::End(Status::Halted), true));
        let step = cat.step_rollout(id, "a", 104, 60).await.unwrap();
        assert_eq!((step.next, step.ended), (Next::End(Status::Halted), false));
        let r = cat.rollout(id).await.unwrap();
        assert_eq!(
            (r.status, r.owner, r.reason.as_deref()),
            (Status::Halted, None, Some("halted: failed C1"))
        );
        assert!(matches!(
            cat.request_rollout(id, Request::Go).await,
            Err(StoreError::RolloutOver { .. })
        ));
        assert!(cat.active_rollouts().await.unwrap().is_empty());
        assert_eq!(cat.rollouts().await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drivers_stepping_at_once_never_exceed_the_batch_and_one_ends_the_rollout() {
    for db in TestDb::all("rollout-race").await {
        let (cat, plan, id) = rollout_of(&db, 12, 3).await;
        let c = |n| ClientId::from_number(n).unwrap();
        // Four drivers, each with a pool of its own (as separate servers have), step
        // at once, many times.
        let gate = std::sync::Arc::new(tokio::sync::Barrier::new(4));
        let mut drivers = Vec::new();
        for d in 0..4 {
            let other = reopen(&db).await;
            let gate = gate.clone();
            drivers.push(tokio::spawn(async move {
                gate.wait().await;
                let mut took = Vec::new();
                for _ in 0..10 {
                    let step = other
                        .step_rollout(id, &format!("d{d}"), 100, 60)
                        .await
                        .unwrap();
                    if let Next::Start(cs) = step.next {
                        took.extend(cs);
                    }
                }
                took
            }));
        }
        let mut took = Vec::new();
        for d in drivers {
            took.extend(d.await.unwrap());
        }
        took.sort();
        assert_eq!(took, vec![c(1), c(2), c(3)], "{:?}", db.kind);
        let running = cat
            .rollout(id)
            .await
            .unwrap()
            .clients
            .iter()
            .filter(|x| x.state == ClientState::Running)
            .count();
        assert_eq!(running, 3);

        // Every client done: drivers stepping at once end it, and one of them says so
        // (it tells the webhooks).
        for x in &plan.rest {
            cat.set_rollout_client(id, *x, ClientState::Succeeded { at: 1 }, None, None)
                .await
                .unwrap();
        }
        let gate = std::sync::Arc::new(tokio::sync::Barrier::new(4));
        let mut enders = Vec::new();
        for d in 0..4 {
            let other = reopen(&db).await;
            let gate = gate.clone();
            enders.push(tokio::spawn(async move {
                gate.wait().await;
                other
                    .step_rollout(id, &format!("d{d}"), 200, 60)
                    .await
                    .unwrap()
            }));
        }
        let mut ended = 0;
        for e in enders {
            let step = e.await.unwrap();
            assert_eq!(step.next, Next::End(Status::Succeeded));
            ended += usize::from(step.ended);
        }
        assert_eq!(ended, 1, "{:?}", db.kind);
    }
}

#[tokio::test]
async fn live_drivers_share_the_batch_and_a_quiet_ones_share_returns() {
    for db in TestDb::all("rollout-share").await {
        let (cat, _, id) = rollout_of(&db, 8, 4).await;
        let c = |n| ClientId::from_number(n).unwrap();
        let done = |ns: Vec<ClientId>| {
            let cat = cat.clone();
            async move {
                for x in ns {
                    cat.set_rollout_client(id, x, ClientState::Succeeded { at: 1 }, None, None)
                        .await
                        .unwrap();
                }
            }
        };
        // a alone: the whole batch.
        let step = cat.step_rollout(id, "a", 100, 10).await.unwrap();
        assert_eq!(
            step.next,
            Next::Start(vec![c(1), c(2), c(3), c(4)]),
            "{:?}",
            db.kind
        );
        // b comes: the batch is full.
        let step = cat.step_rollout(id, "b", 101, 10).await.unwrap();
        assert_eq!(step.next, Next::Wait { until: None });
        // Those done, each of the two starts half of the batch.
        done(vec![c(1), c(2), c(3), c(4)]).await;
        let step = cat.step_rollout(id, "a", 102, 10).await.unwrap();
        assert_eq!(step.next, Next::Start(vec![c(5), c(6)]));
        let step = cat.step_rollout(id, "a", 102, 10).await.unwrap();
        assert_eq!(step.next, Next::Wait { until: None }, "a has its share");
        let step = cat.step_rollout(id, "b", 103, 10).await.unwrap();
        assert_eq!(step.next, Next::Start(vec![c(7), c(8)]));
        // b goes quiet for longer than its lease: a's share is the whole batch again.
        done(vec![c(5), c(6), c(7)]).await;
        cat.set_rollout_client(id, c(8), ClientState::Pending, None, None)
            .await
            .unwrap();
        let step = cat.step_rollout(id, "a", 120, 10).await.unwrap();
        assert_eq!(step.next, Next::Start(vec![c(8)]));
    }
}

/// A catalog with clients C1…C`n` and a rollout of them all (no canary) in batches of
/// `batch`: the catalog, the plan and the rollout's id.
async fn rollout_of(db: &TestDb, n: u64, batch: usize) -> (Catalog, Plan, i64) {
    let names: Vec<String> = (1..=n).map(|i| format!("Client {i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let cat = catalog(db, &names).await;
    let plan = Plan {
        canary: vec![],
        rest: (1..=n).map(|i| ClientId::from_number(i).unwrap()).collect(),
        batch,
        max_failures: 0,
        soak_secs: 0,
    };
    let clients: Vec<_> = plan
        .rest
        .iter()
        .map(|x| (*x, ClientState::Pending, None))
        .collect();
    let id = cat
        .create_rollout("lms-dev", &plan, &clients, "test")
        .await
        .unwrap();
    (cat, plan, id)
}
