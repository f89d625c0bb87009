//! What each role may do, in pages and in the API, and API tokens scoped to a role.

use super::*;

#[tokio::test]
async fn roles_limit_what_each_user_can_do() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let viewer = login(&srv.url, "viewer").await;
    let operator = login(&srv.url, "operator").await;
    let admin = login(&srv.url, "admin").await;

    let (status, client) = operator.acme().await;
    assert_eq!(status, 201, "{client}");
    let id = client["id"].as_str().unwrap().to_owned();

    // A viewer reads but cannot create or deploy.
    assert_eq!(viewer.get(&format!("/clients/{id}")).await.0, 200);
    assert_eq!(
        viewer
            .post("/clients", &[("organisation", "X")])
            .await
            .status(),
        403
    );
    let (status, body) = viewer
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    assert_eq!(status, 403);
    assert!(body["error"].as_str().unwrap().contains("operator"));
    assert!(
        !viewer
            .get(&format!("/clients/{id}"))
            .await
            .1
            .contains("/deploy\""),
        "no deploy button for viewers"
    );

    // An operator cannot read secrets, change catalogs or manage users.
    assert_eq!(operator.get("/namespaces/demo?reveal=1").await.0, 403);
    let (_, ns_html) = operator.get("/namespaces/demo").await;
    assert!(!ns_html.contains("sim-token") && !ns_html.contains("pg-admin-secret"));
    assert_eq!(operator.get("/users").await.0, 403);
    assert_eq!(
        operator
            .post(
                "/namespaces/demo/params",
                &[("name", "docker-image"), ("value", "x")]
            )
            .await
            .status(),
        403
    );
    let (_, ns) = operator
        .api(reqwest::Method::GET, "/namespaces/demo", None)
        .await;
    assert_eq!(ns["token"], "••••••");

    // An admin may reveal, and that is audited.
    let (status, html) = admin.get("/namespaces/demo?reveal=1").await;
    assert_eq!(status, 200);
    assert!(html.contains("pg-admin-secret"));
    let (_, audit) = admin.api(reqwest::Method::GET, "/audit", None).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"reveal secrets") && actions.contains(&"create client"),
        "{actions:?}"
    );
    assert_eq!(
        operator.api(reqwest::Method::GET, "/audit", None).await.0,
        403
    );
}

#[tokio::test]
async fn api_tokens_are_scoped_to_a_role_and_can_be_revoked() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (status, made) = admin
        .api(
            reqwest::Method::POST,
            "/tokens",
            Some(json!({"name": "ci", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    let bearer = |m: reqwest::Method, p: &str| {
        http()
            .request(m, format!("{}/api/v1{p}", srv.url))
            .header("authorization", format!("Bearer {token}"))
    };
    assert_eq!(
        bearer(reqwest::Method::GET, "/clients")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = bearer(reqwest::Method::POST, "/clients")
        .json(&json!({"organisation": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a viewer token cannot create");
    let id = srv.catalog.api_tokens().await.unwrap()[0].id;
    assert!(
        admin
            .post(&format!("/tokens/{id}/revoke"), &[])
            .await
            .status()
            .is_redirection()
    );
    assert_eq!(
        bearer(reqwest::Method::GET, "/clients")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn every_page_answers_each_role_as_its_rights_say() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    admin.acme().await;
    let (_, run) = admin
        .api(
            reqwest::Method::POST,
            "/clients/C1/deploy",
            Some(json!({"namespace": "demo"})),
        )
        .await;
    wait_run(&admin, run["id"].as_i64().unwrap()).await;
    let viewer = login(&srv.url, "viewer").await;
    let everyone = [
        "/clients",
        "/clients?q=acme&page=1",
        "/clients/C1",
        "/runs",
        &format!("/runs/{}", run["id"]),
        "/namespaces",
        "/namespaces/demo",
        "/env",
        "/templates",
        "/templates/deployment",
        "/templates/deployment?client=C1&namespace=demo",
    ];
    for path in everyone {
        for s in [&admin, &viewer] {
            let (status, html) = s.get(path).await;
            assert_eq!(status, 200, "{path}");
            assert!(
                html.starts_with("<!DOCTYPE html>") && html.contains("<h1>"),
                "{path}"
            );
        }
    }
    for path in ["/audit", "/users", "/tokens", "/clients/new"] {
        assert_eq!(admin.get(path).await.0, 200, "{path}");
        assert_eq!(viewer.get(path).await.0, 403, "{path}");
    }
    // Unknown things are 404 pages, not errors.
    for path in [
        "/clients/C999",
        "/clients/nope",
        "/runs/99999",
        "/namespaces/nope",
        "/templates/nope",
        "/no/such/page",
    ] {
        assert_eq!(admin.get(path).await.0, 404, "{path}");
    }
    // The admin pages' forms work: an env var, a user, a namespace.
    assert!(
        admin
            .post(
                "/env",
                &[("namespace", "demo"), ("name", "LMS_EXTRA"), ("value", "1")]
            )
            .await
            .status()
            .is_redirection()
    );
    let (_, env) = admin
        .api(reqwest::Method::GET, "/env?namespace=demo", None)
        .await;
    assert!(
        env["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "LMS_EXTRA")
    );
    assert_eq!(
        admin
            .post("/env", &[("name", "1BAD"), ("value", "x")])
            .await
            .status(),
        400
    );
    assert!(
        admin
            .post(
                "/users",
                &[
                    ("name", "newbie"),
                    ("role", "viewer"),
                    ("password", "long enough password")
                ]
            )
            .await
            .status()
            .is_redirection()
    );
    assert_eq!(
        admin
            .post(
                "/users",
                &[("name", "short"), ("role", "viewer"), ("password", "short")]
            )
            .await
            .status(),
        400
    );
    let r = admin
        .post(
            "/namespaces",
            &[
                ("name", "lms-prod"),
                ("k8s_namespace", ""),
                ("api_root_url", "https://rancher.example/k8s/clusters/c-1"),
                ("token", "tok"),
                ("ca_bundle", ""),
            ],
        )
        .await;
    assert!(r.status().is_redirection());
    let (_, html) = admin.get("/namespaces/lms-prod").await;
    assert!(
        !html.contains(">tok<") && html.contains("••••••"),
        "the token is masked"
    );
}
