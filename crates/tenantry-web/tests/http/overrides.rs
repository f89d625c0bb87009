//! A client's own settings through the server: the API pins an image for one client in
//! a namespace and says where each value comes from; the page shows it (in Russian) and
//! its forms pin and drop values; a deploy renders the pin; viewers only read.

use super::*;

#[tokio::test]
async fn a_client_pinned_to_an_image_through_the_api_and_the_page() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (_, c) = admin.acme().await;
    let id = c["id"].as_str().unwrap().to_owned();
    let base = format!("/clients/{id}/overrides/demo");

    let (code, v) = admin
        .api(
            reqwest::Method::PUT,
            &format!("{base}/params/docker-image"),
            Some(json!({"value": "registry.test/lms:canary"})),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let image = v["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "docker-image")
        .unwrap();
    assert_eq!(
        (&image["value"], &image["source"]),
        (&json!("registry.test/lms:canary"), &json!("client")),
        "{v}"
    );
    // An unknown parameter is refused, not invented for one client.
    let (code, _) = admin
        .api(
            reqwest::Method::PUT,
            &format!("{base}/params/docker-imgae"),
            Some(json!({"value": "x"})),
        )
        .await;
    assert_eq!(code, 422);
    let (code, v) = admin
        .api(
            reqwest::Method::PUT,
            &format!("{base}/env/LMS_SERVER_DEBUG"),
            Some(json!({"value": "false"})),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let debug = v["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "LMS_SERVER_DEBUG")
        .unwrap();
    assert_eq!(
        (&debug["value"], &debug["source"]),
        (&json!("false"), &json!("client"))
    );

    // The page, in Russian: where each value comes from.
    let (code, page) = admin.get_ru(&base).await;
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("этот клиент") && page.contains("registry.test/lms:canary"),
        "{page}"
    );
    assert!(admin.get(&format!("/clients/{id}")).await.1.contains(&base));

    // A deploy renders the pin.
    let (code, run) = admin
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    assert_eq!(code, 202, "{run}");
    let run = wait_run(&admin, run["id"].as_i64().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, history) = admin
        .api(
            reqwest::Method::GET,
            &format!("/clients/{id}/history?namespace=demo"),
            None,
        )
        .await;
    assert_eq!(
        history["items"][0]["image"], "registry.test/lms:canary",
        "{history}"
    );

    // The page's forms drop the pins.
    let r = admin
        .post(
            &format!("{base}/params"),
            &[("name", "docker-image"), ("unset", "1")],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let r = admin
        .post(
            &format!("{base}/env/delete"),
            &[("name", "LMS_SERVER_DEBUG")],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let (_, v) = admin.api(reqwest::Method::GET, &base, None).await;
    let image = v["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "docker-image")
        .unwrap();
    assert_eq!(image["source"], "namespace", "{v}");

    let viewer = login(&srv.url, "viewer").await;
    assert_eq!(viewer.api(reqwest::Method::GET, &base, None).await.0, 200);
    let (code, _) = viewer
        .api(
            reqwest::Method::PUT,
            &format!("{base}/params/docker-image"),
            Some(json!({"value": "x"})),
        )
        .await;
    assert_eq!(code, 403);
}
