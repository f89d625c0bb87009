//! Rollouts through the server: the API previews and starts one, the server drives it
//! (canary first), the pages show it in Russian with its plan and progress, a finished
//! one cannot be paused, and undo brings every client back.

use super::*;

async fn until_over(s: &Session, id: i64) -> Value {
    for _ in 0..400 {
        let (_, r) = s
            .api(reqwest::Method::GET, &format!("/rollouts/{id}"), None)
            .await;
        if !matches!(r["status"].as_str(), Some("running" | "paused")) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rollout {id} did not end");
}

#[tokio::test]
async fn a_rollout_is_previewed_started_shown_and_undone() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    admin.acme().await;
    admin
        .api(
            reqwest::Method::POST,
            "/clients",
            Some(json!({"organisation": "Beta"})),
        )
        .await;
    for c in ["C1", "C2"] {
        let (code, run) = admin
            .api(
                reqwest::Method::POST,
                &format!("/clients/{c}/deploy"),
                Some(json!({"namespace": "demo"})),
            )
            .await;
        assert_eq!(code, 202, "{run}");
        assert_eq!(
            wait_run(&admin, run["id"].as_i64().unwrap()).await["status"],
            "succeeded"
        );
    }
    let (code, _) = admin
        .api(
            reqwest::Method::PUT,
            "/namespaces/demo/params/docker-image",
            Some(json!({"value": "registry.test/lms:2"})),
        )
        .await;
    assert_eq!(code, 200);

    let (code, dry) = admin
        .api(
            reqwest::Method::POST,
            "/rollouts",
            Some(json!({"namespace": "demo", "all": true, "dry_run": true})),
        )
        .await;
    assert_eq!(code, 200, "{dry}");
    assert_eq!(dry["preview"]["plan"]["rest"], json!(["C1", "C2"]), "{dry}");
    assert!(
        dry["preview"]["clients"][0]["changes"]
            .to_string()
            .contains("registry.test/lms:2")
    );
    let (code, bad) = admin
        .api(
            reqwest::Method::POST,
            "/rollouts",
            Some(json!({"namespace": "demo", "all": true, "clients": ["C1"]})),
        )
        .await;
    assert_eq!(
        (code, bad["field"].as_str()),
        (422, Some("clients")),
        "one selection only: {bad}"
    );

    // The pages in Russian: the form, then the preview with its confirmation.
    let (code, page) = admin.get_ru("/rollouts").await;
    assert_eq!(code, 200);
    assert!(page.contains("Спланировать раскатку"), "{page}");
    let (code, page) = admin
        .post_ru(
            "/rollouts",
            &[
                ("namespace", "demo"),
                ("select", "all"),
                ("canary", "1"),
                ("batch", "1"),
            ],
        )
        .await;
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("Начать раскатку") && page.contains("registry.test/lms:2"),
        "{page}"
    );

    let (code, started) = admin
        .api(
            reqwest::Method::POST,
            "/rollouts",
            Some(json!({"namespace": "demo", "all": true, "canary_clients": ["C2"], "batch": 1})),
        )
        .await;
    assert_eq!(code, 201, "{started}");
    let id = started["id"].as_i64().unwrap();
    let r = until_over(&admin, id).await;
    assert_eq!(r["status"], "succeeded", "{r}");
    assert_eq!(r["clients"][0]["client"], "C2", "canary first: {r}");
    let (_, page) = admin.get_ru(&format!("/rollouts/{id}")).await;
    assert!(page.contains("успешно"), "{page}");
    let (code, _) = admin
        .api(
            reqwest::Method::POST,
            &format!("/rollouts/{id}/pause"),
            None,
        )
        .await;
    assert_eq!(code, 409, "a rollout over cannot be paused");

    let (code, _) = admin
        .api(reqwest::Method::POST, &format!("/rollouts/{id}/undo"), None)
        .await;
    assert_eq!(code, 202);
    for _ in 0..400 {
        let (_, h) = admin
            .api(
                reqwest::Method::GET,
                "/clients/C1/history?namespace=demo",
                None,
            )
            .await;
        let items = h["items"].as_array().unwrap();
        if items.len() == 3 {
            assert_eq!(items[2]["image"], "registry.test/lms:1", "{h}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("C1 was not rolled back");
}
