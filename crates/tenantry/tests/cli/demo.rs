//! `tenantry demo`: the UI on embedded defaults, deploying to its own kubesim.

use super::*;

#[tokio::test]
async fn the_demo_serves_the_ui_and_deploys_a_client_to_its_own_kubesim() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = demo_login(&http, &demo.url, &demo.password).await;
    let (cookie, csrf) = session.expect("the printed password logs in");
    let api = |m: reqwest::Method, p: &str| {
        http.request(m, format!("{}/api/v1{p}", demo.url))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
    };
    let clients: serde_json::Value = api(reqwest::Method::GET, "/clients")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clients["total"], 2, "two sample clients: {clients}");
    let run: serde_json::Value = api(reqwest::Method::POST, "/clients/C1/deploy")
        .json(&serde_json::json!({"namespace": "demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = run["id"].as_i64().unwrap();
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        last = api(reqwest::Method::GET, &format!("/runs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if last["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "succeeded", "{last}");
    // C42 was built by hand in the demo cluster: adoption finds it, all of it.
    let found: serde_json::Value = api(reqwest::Method::POST, "/namespaces/demo/adopt")
        .json(&serde_json::json!({"dry_run": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c42 = found["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["client"] == "C42")
        .unwrap_or_else(|| panic!("{found}"));
    assert_eq!(c42["status"], "would-adopt", "{found}");
    assert_eq!(c42["values"].as_array().unwrap().len(), 4, "{found}");
    let old_password = demo.password.clone();
    drop(demo);

    // Again on the same directory: the catalog is kept, a new password is printed.
    let again = Demo::start(dir.path());
    assert_ne!(again.password, old_password);
    assert!(demo_login(&http, &again.url, &old_password).await.is_none());
    let (cookie, _) = demo_login(&http, &again.url, &again.password)
        .await
        .unwrap();
    let clients: serde_json::Value = http
        .get(format!("{}/api/v1/clients", again.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clients["total"], 2, "seeded once: {clients}");
}
