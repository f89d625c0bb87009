//! Fleet rollouts against kubesim: a failing canary halts before any other client is
//! touched and undo brings it back; failures of concurrent deploys are counted against
//! max-failures; pause holds and resume goes on; abort ends; two drivers at once share
//! the clients; a driver that died mid-deploy (and before another client's run) is
//! taken over and every client is deployed once.

use std::time::Duration;

use secrecy::SecretString;
use tenantry_core::rollout::{ClientState, Next, Request, Status};
use tenantry_core::{ClientId, NamespaceName, OrgName, ParamName};
use tenantry_engine::deploy;
use tenantry_engine::rollout::{
    Canary, DriveOptions, RolloutOptions, Selection, drive, preview, start, undo,
};
use tenantry_store::{Catalog, NewClient, Scope};
use tenantry_testkit::TestDb;

mod common;
use common::*;

fn id(n: u64) -> ClientId {
    ClientId::from_number(n).unwrap()
}

/// Five clients deployed with registry.test/lms:1; images with `bad` cannot be pulled.
async fn fleet(db: &TestDb) -> (kubesim::Running, Catalog) {
    let sim = cluster(|c| c.scenarios.fail_image_pull = vec!["*:bad*".into()]).await;
    let cat = catalog(db, &sim, TOKEN).await;
    for n in 2..=5 {
        cat.create_client(&NewClient {
            name: OrgName::parse(&format!("Client {n}")).unwrap(),
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await
        .unwrap();
    }
    for n in 1..=5 {
        let o = deploy(&cat, id(n), "lms-dev", &opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(o.status.as_str(), "succeeded", "{:?}", o.reason);
    }
    (sim, cat)
}

fn options(canary: Canary, batch: usize, max_failures: usize) -> RolloutOptions {
    RolloutOptions {
        selection: Selection::All,
        canary,
        batch,
        max_failures,
        soak: Duration::ZERO,
    }
}

fn driver(owner: &str) -> DriveOptions {
    DriveOptions {
        deploy: DeployOptions {
            timeout: Duration::from_secs(10),
            stale_after: Duration::from_secs(1),
            heartbeat: Duration::from_millis(200),
            ..opts()
        },
        poll: Duration::from_millis(30),
        owner: owner.to_owned(),
    }
}

use tenantry_engine::DeployOptions;

/// How many deploy runs each client has had.
async fn deploys(cat: &Catalog, n: u64) -> usize {
    cat.runs(Some(id(n)), 100)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.kind.as_str() == "deploy")
        .count()
}

fn image(sim: &kubesim::Running, n: u64) -> String {
    get(sim, &format!("deployments/lms-deployment-c{n}")).unwrap()["spec"]["template"]["spec"]
        ["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_failing_canary_halts_before_anyone_else_and_undo_brings_it_back() {
    let db = TestDb::sqlite();
    let (sim, cat) = fleet(&db).await;
    set_image(&cat, "registry.test/lms:bad").await;
    let p = preview(
        &cat,
        "lms-dev",
        &options(Canary::Clients(vec![id(3)]), 2, 5),
    )
    .await
    .unwrap();
    assert_eq!(p.plan.canary, [id(3)]);
    assert_eq!(p.plan.rest, [id(1), id(2), id(4), id(5)]);
    let c1 = &p.clients[0];
    assert!(!c1.up_to_date);
    assert!(
        c1.changes
            .iter()
            .any(|o| o.diff.iter().any(|d| d.path.ends_with("image"))),
        "{:?}",
        c1.changes
    );
    let r = start(&cat, &p, "test").await.unwrap();
    assert_eq!(drive(&cat, r, &driver("a")).await.unwrap(), Status::Halted);
    let rec = cat.rollout(r).await.unwrap();
    for c in &rec.clients {
        if c.client == id(3) {
            assert_eq!(c.state, ClientState::Failed, "{c:?}");
        } else {
            assert_eq!((c.state, c.run), (ClientState::Pending, None), "{c:?}");
        }
    }
    for n in [1, 2, 4, 5] {
        assert_eq!(deploys(&cat, n).await, 1, "C{n} was touched");
        assert_eq!(image(&sim, n), "registry.test/lms:1");
    }
    assert!(rec.reason.unwrap().contains("C3"));

    let undone = undo(&cat, r, &opts()).await.unwrap();
    assert_eq!(undone.len(), 1);
    let (c, outcome) = &undone[0];
    assert_eq!(*c, id(3));
    assert_eq!(outcome.as_ref().unwrap().status.as_str(), "succeeded");
    assert_eq!(image(&sim, 3), "registry.test/lms:1");
}

#[tokio::test]
async fn failures_of_concurrent_deploys_are_counted_and_halt_the_rollout() {
    let db = TestDb::sqlite();
    let (sim, cat) = fleet(&db).await;
    set_image(&cat, "registry.test/lms:2").await;
    // Two clients pinned to an image that cannot be pulled.
    let dev = NamespaceName::parse("lms-dev").unwrap();
    for n in [2, 4] {
        cat.set_param(
            &ParamName::parse("docker-image").unwrap(),
            &Scope::Client(dev.clone(), id(n)),
            &SecretString::from("registry.test/lms:bad"),
            false,
        )
        .await
        .unwrap();
    }
    let p = preview(&cat, "lms-dev", &options(Canary::None, 5, 1))
        .await
        .unwrap();
    let r = start(&cat, &p, "test").await.unwrap();
    // All five at once: two fail, one more than tolerated.
    assert_eq!(drive(&cat, r, &driver("a")).await.unwrap(), Status::Halted);
    let rec = cat.rollout(r).await.unwrap();
    let failed: Vec<ClientId> = rec
        .clients
        .iter()
        .filter(|c| c.state == ClientState::Failed)
        .map(|c| c.client)
        .collect();
    assert_eq!(failed, [id(2), id(4)]);
    for n in [1, 3, 5] {
        assert_eq!(image(&sim, n), "registry.test/lms:2");
    }
    // Tolerating two, the same goes through as succeeded.
    let p = preview(&cat, "lms-dev", &options(Canary::None, 5, 2))
        .await
        .unwrap();
    assert_eq!(p.plan.rest, [id(2), id(4)], "the others are up to date");
    let r = start(&cat, &p, "test").await.unwrap();
    assert_eq!(
        drive(&cat, r, &driver("a")).await.unwrap(),
        Status::Succeeded
    );
}

#[tokio::test]
async fn pause_holds_resume_goes_on_abort_ends_and_two_drivers_share_the_work() {
    let db = TestDb::sqlite();
    let (_sim, cat) = fleet(&db).await;
    set_image(&cat, "registry.test/lms:2").await;
    let p = preview(&cat, "lms-dev", &options(Canary::First(1), 2, 0))
        .await
        .unwrap();
    let r = start(&cat, &p, "test").await.unwrap();
    cat.request_rollout(r, Request::Pause).await.unwrap();
    let cat2 = cat.clone();
    let driving = tokio::spawn(async move { drive(&cat2, r, &driver("a")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rec = cat.rollout(r).await.unwrap();
    assert_eq!(rec.status, Status::Paused);
    assert!(
        rec.clients.iter().all(|c| c.run.is_none()),
        "started while paused"
    );
    cat.request_rollout(r, Request::Go).await.unwrap();
    assert_eq!(driving.await.unwrap().unwrap(), Status::Succeeded);
    for n in 1..=5 {
        assert_eq!(
            deploys(&cat, n).await,
            2,
            "C{n}: one deploy before, one by the rollout"
        );
    }
    assert!(
        cat.request_rollout(r, Request::Abort).await.is_err(),
        "over"
    );

    // Aborted before it began: nothing is deployed.
    set_image(&cat, "registry.test/lms:3").await;
    let p = preview(&cat, "lms-dev", &options(Canary::None, 5, 0))
        .await
        .unwrap();
    let r = start(&cat, &p, "test").await.unwrap();
    cat.request_rollout(r, Request::Abort).await.unwrap();
    assert_eq!(drive(&cat, r, &driver("a")).await.unwrap(), Status::Aborted);
    assert_eq!(deploys(&cat, 1).await, 2);

    // Two drivers at once (two servers): they share the clients, and each client is
    // deployed once.
    let p = preview(&cat, "lms-dev", &options(Canary::None, 2, 0))
        .await
        .unwrap();
    let r = start(&cat, &p, "test").await.unwrap();
    let (da, db_) = (driver("a"), driver("b"));
    let (a, b) = tokio::join!(drive(&cat, r, &da), drive(&cat, r, &db_));
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (Status::Succeeded, Status::Succeeded)
    );
    for n in 1..=5 {
        assert_eq!(deploys(&cat, n).await, 3, "C{n}");
    }
    let drivers: std::collections::BTreeSet<_> = cat
        .rollout(r)
        .await
        .unwrap()
        .clients
        .iter()
        .filter_map(|c| c.driver.clone())
        .collect();
    assert_eq!(
        drivers.into_iter().collect::<Vec<_>>(),
        ["a", "b"],
        "each drove its share"
    );
}

#[tokio::test]
async fn a_deploy_whose_process_died_is_taken_over_and_each_client_succeeds_once() {
    let db = TestDb::sqlite();
    let (_sim, cat) = fleet(&db).await;
    set_image(&cat, "registry.test/lms:2").await;
    let p = preview(&cat, "lms-dev", &options(Canary::None, 2, 0))
        .await
        .unwrap();
    let r = start(&cat, &p, "test").await.unwrap();
    // A holder on this host, killed (-9) after it had started C1's deploy: its claim
    // and its run are left behind.
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    let dead = format!("{host}:{}", u32::MAX - 7);
    let now = u64::try_from(tenantry_store::unix_now()).unwrap();
    let step = cat.step_rollout(r, &dead, now, 1).await.unwrap();
    assert_eq!(step.next, Next::Start(vec![id(1), id(2)]));
    // It had started C1's run, and died before C2's.
    let run = cat
        .start_run(id(1), "lms-dev", tenantry_store::RunKind::Deploy, &dead)
        .await
        .unwrap();
    cat.set_rollout_client(r, id(1), ClientState::Running, Some(run.id), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        drive(&cat, r, &driver("peer")).await.unwrap(),
        Status::Succeeded
    );
    assert_eq!(
        cat.run(run.id).await.unwrap().status.as_str(),
        "interrupted"
    );
    for n in 1..=5 {
        let succeeded = cat
            .runs(Some(id(n)), 100)
            .await
            .unwrap()
            .iter()
            .filter(|x| x.kind.as_str() == "deploy" && x.status.as_str() == "succeeded")
            .count();
        assert_eq!(
            succeeded, 2,
            "C{n}: the first deploy and the rollout's, once"
        );
    }
}
