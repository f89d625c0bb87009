//! Webhooks through the server: added through the API, a failed run is told to a local
//! receiver that checks the HMAC-SHA256 signature; the receiver's first refusal is
//! retried and the delivery log keeps both attempts; the page lists it in Russian.

use std::sync::{Arc, Mutex};

use hmac::{KeyInit, Mac};

use super::*;

/// What the receiver got: each request's event, signature check and body.
type Got = Arc<Mutex<Vec<(String, bool, Value)>>>;

/// A receiver on loopback that refuses its first request with 500.
async fn receiver(secret: &'static str) -> (String, Got) {
    let got: Got = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let mut mac =
                        hmac::Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                    mac.update(&body);
                    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                    let signed = headers
                        .get("x-tenantry-signature")
                        .and_then(|v| v.to_str().ok())
                        == Some(expected.as_str());
                    let event = headers
                        .get("x-tenantry-event")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let mut all = seen.lock().unwrap();
                    all.push((
                        event,
                        signed,
                        serde_json::from_slice(&body).unwrap_or(Value::Null),
                    ));
                    if all.len() == 1 {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Client C1 deployed with an image that cannot be pulled; the run, failed.
async fn a_failed_run(admin: &Session) -> Value {
    admin.acme().await;
    admin
        .api(
            reqwest::Method::PUT,
            "/namespaces/demo/params/docker-image",
            Some(json!({"value": "registry.test/lms:missing"})),
        )
        .await;
    let (_, run) = admin
        .api(
            reqwest::Method::POST,
            "/clients/C1/deploy",
            Some(json!({"namespace": "demo"})),
        )
        .await;
    let ended = wait_run(admin, run["id"].as_i64().unwrap()).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    run
}

#[tokio::test]
async fn a_failed_run_is_told_signed_and_a_refused_delivery_is_retried() {
    let db = TestDb::sqlite();
    let srv = server_with(&db, |_, mut c| {
        c.webhook_backoff = Duration::from_secs(1);
        c
    })
    .await;
    let admin = login(&srv.url, "admin").await;
    let (url, got) = receiver("s3cret").await;
    let (code, hook) = admin
        .api(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": url, "events": ["run.failed"], "secret": "s3cret"})),
        )
        .await;
    assert_eq!(code, 201, "{hook}");
    assert_eq!(hook["signed"], true);
    assert!(
        !hook.to_string().contains("s3cret"),
        "the secret is never shown"
    );
    let (code, bad) = admin
        .api(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": "ftp://x", "events": ["run.failed"]})),
        )
        .await;
    assert_eq!(code, 400, "{bad}");

    let run = a_failed_run(&admin).await;

    // First try refused, the second (after the backoff) taken.
    assert_eq!(srv.state.deliver_webhooks_once().await.unwrap(), 1);
    assert_eq!(srv.state.deliver_webhooks_once().await.unwrap(), 0, "waits");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(srv.state.deliver_webhooks_once().await.unwrap(), 1);
    let all = got.lock().unwrap().clone();
    assert_eq!(all.len(), 2);
    for (event, signed, body) in &all {
        assert_eq!(event, "run.failed");
        assert!(signed, "the signature checks out");
        assert_eq!(body["data"]["client"], "C1", "{body}");
        assert_eq!(body["data"]["run"], run["id"], "{body}");
    }
    let id = hook["id"].as_i64().unwrap();
    let (_, log) = admin
        .api(
            reqwest::Method::GET,
            &format!("/webhooks/{id}/deliveries"),
            None,
        )
        .await;
    assert_eq!(log["items"][0]["status"], "delivered", "{log}");
    let codes: Vec<&Value> = log["items"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(200)], "{log}");

    let (code, page) = admin.get_ru("/webhooks").await;
    assert_eq!(code, 200);
    assert!(page.contains("Доставки") && page.contains(&url), "{page}");
    let operator = login(&srv.url, "operator").await;
    assert_eq!(
        operator
            .api(reqwest::Method::GET, "/webhooks", None)
            .await
            .0,
        403
    );
}

/// A webhook is changed (API and page): deliveries not sent yet go to its new address,
/// signed with its new secret; an empty secret stops the signing; the audit says so in
/// Russian.
#[tokio::test]
async fn a_changed_webhook_takes_its_pending_deliveries_along() {
    let db = TestDb::sqlite();
    let srv = server_with(&db, |_, mut c| {
        c.webhook_backoff = Duration::from_millis(200);
        c
    })
    .await;
    let admin = login(&srv.url, "admin").await;
    let (old_url, old_got) = receiver("s3cret").await;
    let (new_url, new_got) = receiver("n3w").await;
    let (_, hook) = admin
        .api(
            reqwest::Method::POST,
            "/webhooks",
            Some(json!({"url": old_url, "events": ["run.failed"], "secret": "s3cret"})),
        )
        .await;
    let id = hook["id"].as_i64().unwrap();
    a_failed_run(&admin).await;
    // The old address refuses the first try; the delivery stays pending.
    assert_eq!(srv.state.deliver_webhooks_once().await.unwrap(), 1);
    assert_eq!(old_got.lock().unwrap().len(), 1);

    let (code, changed) = admin
        .api(
            reqwest::Method::PUT,
            &format!("/webhooks/{id}"),
            Some(json!({"url": new_url, "events": ["run.failed", "drift.detected"], "secret": "n3w"})),
        )
        .await;
    assert_eq!(code, 200, "{changed}");
    assert_eq!(changed["url"], json!(new_url));
    assert_eq!(changed["events"], json!(["run.failed", "drift.detected"]));
    assert!(
        !changed.to_string().contains("n3w"),
        "the secret is never shown"
    );
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        srv.state.deliver_webhooks_once().await.unwrap();
        if new_got.lock().unwrap().len() == 2 {
            break;
        }
    }
    let got = new_got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "the new address refused once, then took it");
    assert!(
        got.iter().all(|(_, signed, _)| *signed),
        "signed with the new secret"
    );
    assert_eq!(
        old_got.lock().unwrap().len(),
        1,
        "nothing more to the old address"
    );

    // Bad input names its field; an unknown webhook is a 404.
    let (code, bad) = admin
        .api(
            reqwest::Method::PUT,
            &format!("/webhooks/{id}"),
            Some(json!({"url": "ftp://x", "events": ["run.failed"]})),
        )
        .await;
    assert_eq!(code, 400, "{bad}");
    let (code, _) = admin
        .api(
            reqwest::Method::PUT,
            "/webhooks/999",
            Some(json!({"url": new_url, "events": ["run.failed"]})),
        )
        .await;
    assert_eq!(code, 404);

    // The page's form: "Stop signing" removes the secret; the audit says it in Russian.
    let resp = admin
        .post(
            &format!("/webhooks/{id}/edit"),
            &[
                ("url", &new_url),
                ("events", "run.failed"),
                ("format", "slack"),
                ("secret", ""),
                ("unsign", "1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, hooks) = admin.api(reqwest::Method::GET, "/webhooks", None).await;
    assert_eq!(hooks["items"][0]["signed"], json!(false), "{hooks}");
    assert_eq!(hooks["items"][0]["format"], json!("slack"), "{hooks}");
    let (_, page) = admin.get_ru("/webhooks").await;
    assert!(
        page.contains("Новый секрет (пусто — оставить прежний)"),
        "{page}"
    );
    let (_, audit) = admin.get_ru("/audit").await;
    assert!(audit.contains("изменить вебхук"), "{audit}");
}
