//! Webhooks in the catalog, on SQLite and on PostgreSQL alike: an event becomes one
//! delivery per webhook that wants it, one sender claims it, every attempt is kept,
//! a failure waits, a success or the last try ends it.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tenantry_core::webhook::{Event, Format};
use tenantry_store::{Catalog, KeySource, OpenOptions, Tried, unix_now};
use tenantry_testkit::{TEST_MASTER_KEY, TestDb};

async fn open(db: &TestDb) -> Catalog {
    let opts = OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 4,
    };
    Catalog::open(&opts).await.unwrap().0
}

#[tokio::test]
async fn events_are_queued_claimed_once_and_every_attempt_is_kept() {
    for db in TestDb::all("webhooks").await {
        let cat = open(&db).await;
        let secret = SecretString::from("s3cret");
        let a = cat
            .add_webhook(
                "http://127.0.0.1:1/a",
                &[Event::RunFailed, Event::RolloutHalted],
                Format::Json,
                Some(&secret),
                "admin",
            )
            .await
            .unwrap();
        let b = cat
            .add_webhook(
                "http://127.0.0.1:1/b",
                &[Event::DriftDetected],
                Format::Slack,
                None,
                "admin",
            )
            .await
            .unwrap();
        let hooks = cat.webhooks().await.unwrap();
        assert_eq!(hooks.len(), 2, "{:?}", db.kind);
        assert!(hooks[0].signed && !hooks[1].signed);
        assert_eq!(hooks[0].events, ["run.failed", "rollout.halted"]);

        assert_eq!(
            cat.notify(Event::RunFailed, &json!({"run": 1}))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            cat.notify(Event::RolloutFinished, &json!({}))
                .await
                .unwrap(),
            0
        );
        let due = cat.claim_deliveries("one", 10, 30).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].secret.as_ref().unwrap().expose_secret(), "s3cret");
        assert!(
            due[0].body.contains("\"event\":\"run.failed\""),
            "{}",
            due[0].body
        );
        assert!(
            cat.claim_deliveries("two", 10, 30)
                .await
                .unwrap()
                .is_empty(),
            "claimed once"
        );

        let id = due[0].id;
        cat.record_delivery(
            id,
            &Tried::Failed {
                code: Some(500),
                error: "HTTP 500".into(),
                next_at: Some(unix_now() + 3600),
            },
        )
        .await
        .unwrap();
        assert!(
            cat.claim_deliveries("two", 10, 30)
                .await
                .unwrap()
                .is_empty(),
            "waits"
        );
        cat.record_delivery(id, &Tried::Delivered { code: 200 })
            .await
            .unwrap();
        let log = cat.deliveries(Some(a), 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].status, "delivered");
        let codes: Vec<Option<i64>> = log[0].attempts.iter().map(|t| t.code).collect();
        assert_eq!(codes, [Some(500), Some(200)]);
        assert!(cat.deliveries(Some(b), 10).await.unwrap().is_empty());

        assert!(cat.remove_webhook(a).await.unwrap());
        assert!(cat.deliveries(None, 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_event_told_once_is_told_by_one_server_until_forgotten() {
    for db in TestDb::all("notices").await {
        let one = open(&db).await;
        let two = open(&db).await;
        one.add_webhook(
            "http://127.0.0.1:1/d",
            &[Event::DriftDetected],
            Format::Json,
            None,
            "admin",
        )
        .await
        .unwrap();
        let data = json!({"client": "C1"});
        let c1 = "drift/lms-dev/C1/3";
        let c10 = "drift/lms-dev/C10/3";
        assert!(
            one.notify_once(c1, Event::DriftDetected, &data)
                .await
                .unwrap()
        );
        assert!(
            !two.notify_once(c1, Event::DriftDetected, &data)
                .await
                .unwrap(),
            "a peer (or this server restarted) does not tell it again: {:?}",
            db.kind
        );
        assert!(
            two.notify_once(c10, Event::DriftDetected, &data)
                .await
                .unwrap()
        );
        assert_eq!(one.deliveries(None, 10).await.unwrap().len(), 2);
        // C1's drift cleared: a new one is told again; C10's stays told.
        two.forget_notice("drift/lms-dev/C1/").await.unwrap();
        assert!(
            one.notify_once(c1, Event::DriftDetected, &data)
                .await
                .unwrap()
        );
        assert!(
            !one.notify_once(c10, Event::DriftDetected, &data)
                .await
                .unwrap()
        );
        assert_eq!(one.deliveries(None, 10).await.unwrap().len(), 3);
    }
}

/// A change of address, format and secret is what the next claim of a pending delivery
/// sees; a removed secret leaves bodies unsigned; an unknown webhook is not changed.
#[tokio::test]
async fn a_changed_webhook_is_what_pending_deliveries_are_sent_with() {
    use tenantry_store::SecretChange;
    for db in TestDb::all("webhook-edit").await {
        let cat = open(&db).await;
        let id = cat
            .add_webhook(
                "http://127.0.0.1:1/old",
                &[Event::RunFailed],
                Format::Json,
                Some(&SecretString::from("s3cret")),
                "admin",
            )
            .await
            .unwrap();
        cat.notify(Event::RunFailed, &json!({"run": 1}))
            .await
            .unwrap();
        let change = SecretChange::Set(SecretString::from("n3w"));
        assert!(
            cat.update_webhook(
                id,
                "http://127.0.0.1:1/new",
                &[Event::RunFailed, Event::DriftDetected],
                Format::Slack,
                &change
            )
            .await
            .unwrap()
        );
        let due = cat.claim_deliveries("one", 10, 30).await.unwrap();
        assert_eq!(due.len(), 1, "{:?}", db.kind);
        assert_eq!(due[0].url, "http://127.0.0.1:1/new");
        assert_eq!(due[0].format, Format::Slack);
        assert_eq!(due[0].secret.as_ref().unwrap().expose_secret(), "n3w");
        let hook = &cat.webhooks().await.unwrap()[0];
        assert_eq!(hook.events, ["run.failed", "drift.detected"]);

        cat.update_webhook(
            id,
            "http://127.0.0.1:1/new",
            &[Event::RunFailed],
            Format::Json,
            &SecretChange::Keep,
        )
        .await
        .unwrap();
        assert!(cat.webhooks().await.unwrap()[0].signed, "kept");
        cat.update_webhook(
            id,
            "http://127.0.0.1:1/new",
            &[Event::RunFailed],
            Format::Json,
            &SecretChange::Remove,
        )
        .await
        .unwrap();
        assert!(!cat.webhooks().await.unwrap()[0].signed, "removed");
        assert!(
            !cat.update_webhook(
                999,
                "http://x",
                &[Event::RunFailed],
                Format::Json,
                &SecretChange::Keep
            )
            .await
            .unwrap()
        );
    }
}
