//! Adoption through the server: the page shows (in Russian) what was found and what a
//! deploy would change without showing a password, the form adopts with the typed
//! organisation, the API does the same and says a second time that nothing is left.

use super::*;

/// C42 made by hand in the simulator's `demo` namespace, as the customer's document has it.
async fn by_hand(srv: &Server) {
    let objects = [
        (
            "api/v1/namespaces/demo/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "lms-config-c42"},
            "data": {"LMS_CLIENT_ID": "C42", "LMS_STORAGE_POSTGRES_DSN": "postgres://C42:HandPg42@pg:5432/C42"}}),
        ),
        (
            "api/v1/namespaces/demo/secrets",
            json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "rsa-secret-c42"}, "type": "Opaque", "data": {"rsa_key": "a2V5"}}),
        ),
        (
            "api/v1/namespaces/demo/services",
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "lms-service-c42"},
            "spec": {"ports": [{"port": 8080, "targetPort": 8080}], "selector": {"app": "C42-lms"}}}),
        ),
        (
            "apis/networking.k8s.io/v1/namespaces/demo/ingresses",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "client-lms-ingress-c42"},
            "spec": {"rules": [{"http": {"paths": [{"path": "/C42/(.*)", "pathType": "Prefix",
                "backend": {"service": {"name": "lms-service-c42", "port": {"number": 8080}}}}]}}]}}),
        ),
        (
            "apis/apps/v1/namespaces/demo/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "lms-deployment-c42"},
            "spec": {"selector": {"matchLabels": {"app": "C42-lms"}},
                "template": {"metadata": {"labels": {"app": "C42-lms"}},
                    "spec": {"containers": [{"name": "c42", "image": "registry.test/lms:0"}]}}}}),
        ),
    ];
    for (collection, body) in objects {
        let r = http()
            .post(format!("{}/{collection}", srv.sim.url()))
            .bearer_auth("sim-token")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
}

#[tokio::test]
async fn environments_built_by_hand_are_adopted_from_the_page_and_the_api() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let op = login(&srv.url, "operator").await;
    by_hand(&srv).await;

    let (code, page) = op.get_ru("/namespaces/demo/adopt").await;
    assert_eq!(code, 200, "{page}");
    for words in [
        "можно принять",
        "прочитан из",
        "Первое развёртывание изменит:",
        "lms-deployment-c42",
    ] {
        assert!(page.contains(words), "no {words:?} in:\n{page}");
    }
    assert!(!page.contains("HandPg42"), "a password on the page");
    assert!(
        op.get("/namespaces/demo")
            .await
            .1
            .contains("/namespaces/demo/adopt")
    );

    // The API's dry run says the same, and stores nothing.
    let (code, dry) = op
        .api(
            reqwest::Method::POST,
            "/namespaces/demo/adopt",
            Some(json!({"dry_run": true})),
        )
        .await;
    assert_eq!(code, 200, "{dry}");
    assert_eq!(dry["environments"][0]["status"], "would-adopt", "{dry}");
    assert_eq!(
        op.api(reqwest::Method::GET, "/clients/C42", None).await.0,
        404
    );
    let (code, bad) = op
        .api(
            reqwest::Method::POST,
            "/namespaces/demo/adopt",
            Some(json!({"organisations": {"X1": "A"}})),
        )
        .await;
    assert_eq!(code, 400, "{bad}");
    assert_eq!(bad["field"], "organisations.X1");

    // Adopted from the form, with the organisation typed.
    let r = op
        .post("/namespaces/demo/adopt", &[("org_C42", "ООО Ромашка")])
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("adopted in run"), "{page}");
    let (_, client) = op.api(reqwest::Method::GET, "/clients/C42", None).await;
    assert_eq!(client["organisation"], "ООО Ромашка", "{client}");
    let admin = login(&srv.url, "admin").await;
    let (_, audit) = admin.get("/audit").await;
    assert!(audit.contains("adopted: C42"), "not audited:\n{audit}");

    let (code, again) = op
        .api(
            reqwest::Method::POST,
            "/namespaces/demo/adopt",
            Some(json!({})),
        )
        .await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(
        again["environments"][0]["status"], "already-managed",
        "{again}"
    );
    // A viewer may look at neither.
    let viewer = login(&srv.url, "viewer").await;
    assert_eq!(viewer.get("/namespaces/demo/adopt").await.0, 403);
}
