//! The API does what the UI does: every form a page posts has an API operation in the
//! OpenAPI document, and the catalog actions work through the API as on the pages.

use super::*;

/// Each state change the pages offer, and the API operation that does the same.
const UI_TO_API: &[(&str, &str, &str)] = &[
    ("POST /clients", "post", "/clients"),
    ("POST /clients/{id}", "patch", "/clients/{id}"),
    (
        "POST /clients/{id}/contacts",
        "post",
        "/clients/{id}/contacts",
    ),
    (
        "POST /clients/{id}/contacts/{contact}",
        "put",
        "/clients/{id}/contacts/{contact}",
    ),
    (
        "POST /clients/{id}/contacts/{contact}/delete",
        "delete",
        "/clients/{id}/contacts/{contact}",
    ),
    ("POST /clients/{id}/deploy", "post", "/clients/{id}/deploy"),
    (
        "POST /clients/{id}/archive",
        "post",
        "/clients/{id}/archive",
    ),
    (
        "POST /clients/{id}/restore",
        "post",
        "/clients/{id}/restore",
    ),
    (
        "POST /clients/{id}/suspend",
        "post",
        "/clients/{id}/suspend",
    ),
    ("POST /clients/{id}/resume", "post", "/clients/{id}/resume"),
    (
        "POST /clients/{id}/rollback",
        "post",
        "/clients/{id}/rollback",
    ),
    (
        "POST /clients/{id}/decommission",
        "post",
        "/clients/{id}/decommission",
    ),
    ("POST /namespaces", "post", "/namespaces"),
    ("POST /namespaces/{name}", "patch", "/namespaces/{name}"),
    (
        "POST /namespaces/{name}/params",
        "put",
        "/namespaces/{name}/params/{param}",
    ),
    (
        "POST /namespaces/{name}/params (unset)",
        "delete",
        "/namespaces/{name}/params/{param}",
    ),
    ("POST /env", "put", "/env/{name}"),
    ("POST /env/delete", "delete", "/env/{name}"),
    ("POST /templates/{name}", "put", "/templates/{name}"),
    (
        "POST /templates/{name}/restore",
        "post",
        "/templates/{name}/restore",
    ),
    ("POST /users", "post", "/users"),
    ("POST /users/{name}", "patch", "/users/{name}"),
    ("POST /users/{name}/delete", "delete", "/users/{name}"),
    ("POST /tokens", "post", "/tokens"),
    ("POST /tokens/{id}/revoke", "delete", "/tokens/{id}"),
    ("POST /account/password", "post", "/me/password"),
    (
        "POST /namespaces/{name}/adopt",
        "post",
        "/namespaces/{name}/adopt",
    ),
    ("POST /rollouts", "post", "/rollouts"),
    ("POST /webhooks", "post", "/webhooks"),
    ("POST /webhooks/{id}/delete", "delete", "/webhooks/{id}"),
    ("POST /webhooks/{id}/edit", "put", "/webhooks/{id}"),
    ("POST /rollouts/{id}/pause", "post", "/rollouts/{id}/pause"),
    (
        "POST /rollouts/{id}/resume",
        "post",
        "/rollouts/{id}/resume",
    ),
    ("POST /rollouts/{id}/abort", "post", "/rollouts/{id}/abort"),
    ("POST /rollouts/{id}/undo", "post", "/rollouts/{id}/undo"),
    (
        "POST /clients/{id}/overrides/{ns}/params",
        "put",
        "/clients/{id}/overrides/{ns}/params/{param}",
    ),
    (
        "POST /clients/{id}/overrides/{ns}/params (unset)",
        "delete",
        "/clients/{id}/overrides/{ns}/params/{param}",
    ),
    (
        "POST /clients/{id}/overrides/{ns}/env",
        "put",
        "/clients/{id}/overrides/{ns}/env/{name}",
    ),
    (
        "POST /clients/{id}/overrides/{ns}/env/delete",
        "delete",
        "/clients/{id}/overrides/{ns}/env/{name}",
    ),
];

#[tokio::test]
async fn every_ui_action_has_an_api_operation_in_the_document() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let doc: Value = http()
        .get(format!("{}/api/v1/openapi.json", srv.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let missing: Vec<&str> = UI_TO_API
        .iter()
        .filter(|(_, method, path)| doc["paths"][path][method].is_null())
        .map(|(ui, _, _)| *ui)
        .collect();
    assert!(missing.is_empty(), "no API operation for {missing:?}");
    // And every page form posts somewhere this table knows.
    let sources = [
        include_str!("../../src/clients.rs"),
        include_str!("../../src/card.rs"),
        include_str!("../../src/lifecycle.rs"),
        include_str!("../../src/admin.rs"),
        include_str!("../../src/params.rs"),
        include_str!("../../src/templates.rs"),
        include_str!("../../src/access.rs"),
        include_str!("../../src/adoption.rs"),
        include_str!("../../src/overrides.rs"),
        include_str!("../../src/rollouts.rs"),
        include_str!("../../src/webhooks.rs"),
    ];
    for src in sources {
        let routes: Vec<&str> = src.split(".route(").skip(1).collect();
        for r in routes {
            let path = r
                .trim_start()
                .trim_start_matches('"')
                .split('"')
                .next()
                .unwrap();
            // This route's handlers: up to the end of its call.
            let handlers = r.split(")\n").next().unwrap_or(r);
            if handlers.contains("post(") {
                assert!(
                    UI_TO_API
                        .iter()
                        .any(|(ui, _, _)| ui.split(' ').nth(1) == Some(path)),
                    "the page route POST {path} has no API operation in UI_TO_API"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_catalog_actions_of_the_pages_work_through_the_api() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    use reqwest::Method as M;

    // Namespaces: create, change.
    let (status, ns) = admin
        .api(
            M::POST,
            "/namespaces",
            Some(json!({"name": "lms-prod", "api_root_url": srv.sim.url(), "token": "prod-token"})),
        )
        .await;
    assert_eq!(status, 201, "{ns}");
    assert_eq!(ns["token"], "••••••");
    let (status, ns) = admin
        .api(
            M::PATCH,
            "/namespaces/lms-prod",
            Some(json!({"k8s_namespace": "prod"})),
        )
        .await;
    assert_eq!(
        (status, ns["k8s_namespace"].as_str()),
        (200, Some("prod")),
        "{ns}"
    );

    // Parameters: a typo is refused with the close name; set, unset.
    let (status, err) = admin
        .api(
            M::PUT,
            "/namespaces/lms-prod/params/docker-imge",
            Some(json!({"value": "x"})),
        )
        .await;
    assert_eq!(
        (status, err["suggestion"].as_str()),
        (422, Some("docker-image")),
        "{err}"
    );
    let (status, p) = admin
        .api(
            M::PUT,
            "/namespaces/lms-prod/params/docker-image",
            Some(json!({"value": "registry.test/lms:9"})),
        )
        .await;
    assert_eq!(
        (status, p["namespace"].as_str()),
        (200, Some("registry.test/lms:9")),
        "{p}"
    );
    let (status, _) = admin
        .api(M::DELETE, "/namespaces/lms-prod/params/docker-image", None)
        .await;
    assert_eq!(status, 204);

    // Env vars.
    let (status, _) = admin
        .api(
            M::PUT,
            "/env/LMS_EXTRA",
            Some(json!({"value": "1", "namespace": "lms-prod"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, env) = admin.api(M::GET, "/env?namespace=lms-prod", None).await;
    assert!(env.to_string().contains("LMS_EXTRA"), "{env}");
    let (status, _) = admin
        .api(M::DELETE, "/env/LMS_EXTRA?namespace=lms-prod", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = admin
        .api(M::DELETE, "/env/LMS_EXTRA?namespace=lms-prod", None)
        .await;
    assert_eq!(status, 404, "gone");

    // Template restore.
    let (_, t) = admin.api(M::GET, "/templates/service", None).await;
    let mut file = t["template"].clone();
    file["description"] = json!("changed");
    admin.api(M::PUT, "/templates/service", Some(file)).await;
    let (status, restored) = admin
        .api(
            M::POST,
            "/templates/service/restore",
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["version"], 3);
    assert_eq!(
        restored["template"]["description"],
        t["template"]["description"]
    );

    // Users and tokens.
    let (status, u) = admin
        .api(M::PATCH, "/users/viewer", Some(json!({"role": "operator"})))
        .await;
    assert_eq!((status, u["role"].as_str()), (200, Some("operator")), "{u}");
    let (status, made) = admin
        .api(
            M::POST,
            "/tokens",
            Some(json!({"name": "ci", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, list) = admin.api(M::GET, "/tokens", None).await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == made["name"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(
        !list.to_string().contains(made["token"].as_str().unwrap()),
        "no secrets listed"
    );
    let (status, _) = admin.api(M::DELETE, &format!("/tokens/{id}"), None).await;
    assert_eq!(status, 204);
    let (_, list) = admin.api(M::GET, "/tokens", None).await;
    assert!(list.to_string().contains("\"state\":\"revoked\""), "{list}");
    let (status, _) = admin.api(M::DELETE, "/users/viewer", None).await;
    assert_eq!(status, 204);
    let (status, _) = admin.api(M::DELETE, "/users/admin", None).await;
    assert_eq!(status, 409, "not yourself");

    // Each was audited as on the pages.
    let (_, log) = admin.api(M::GET, "/audit?limit=50", None).await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "create namespace",
        "update namespace",
        "set parameter",
        "unset parameter",
        "set env var",
        "unset env var",
        "restore template",
        "change role",
        "revoke API token",
        "delete user",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }

    // The client object says organisation as its input does, and how its environments are.
    let (_, c) = admin.acme().await;
    assert_eq!(c["organisation"], "Acme");
    let (_, list) = admin.api(M::GET, "/clients", None).await;
    assert!(list["items"][0]["environments"].is_array(), "{list}");
    // And the API finds a phone as people write it, as the page does.
    admin
        .api(
            M::PATCH,
            "/clients/C1",
            Some(json!({"phones": ["+7 495 123-45-67"]})),
        )
        .await;
    let (_, found) = admin
        .api(M::GET, "/clients?q=8%20495%20123%2045%2067", None)
        .await;
    assert_eq!(found["total"], 1, "{found}");
}

/// The routes the API serves and the operations its document describes are one set:
/// both come from the handlers' declarations (`routes!`), so no API module adds a
/// route by hand, and every documented operation is answered by a handler, not by the
/// fallback or a 405.
#[tokio::test]
async fn the_document_describes_exactly_the_routes_served() {
    for (name, src) in [
        ("api.rs", include_str!("../../src/api.rs")),
        ("api_clients.rs", include_str!("../../src/api_clients.rs")),
        ("api_admin.rs", include_str!("../../src/api_admin.rs")),
        ("api_fleet.rs", include_str!("../../src/api_fleet.rs")),
        (
            "api_overrides.rs",
            include_str!("../../src/api_overrides.rs"),
        ),
        ("api_rollouts.rs", include_str!("../../src/api_rollouts.rs")),
        ("api_webhooks.rs", include_str!("../../src/api_webhooks.rs")),
    ] {
        assert!(
            !src.contains(".route("),
            "{name} routes by hand; declare the handler with #[utoipa::path] and add it with routes!"
        );
        assert!(
            !src.contains("Json<Value>"),
            "{name} answers untyped JSON; answer a type the document can describe"
        );
    }
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let doc: Value = http()
        .get(format!("{}/api/v1/openapi.json", srv.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Every reference resolves, and a list is named for what it lists.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match v.as_str() {
                        Some(r) if k == "$ref" => out.push(r.to_owned()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{} references", all.len());
    for r in &all {
        let name = r
            .strip_prefix("#/components/")
            .unwrap_or_else(|| panic!("{r}"));
        let (section, name) = name.split_once('/').unwrap();
        assert!(
            doc["components"][section].get(name).is_some(),
            "{r} refers to nothing"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(
        !schemas.keys().any(|k| k.contains('_')),
        "a generic's name: {:?}",
        schemas
            .keys()
            .filter(|k| k.contains('_'))
            .collect::<Vec<_>>()
    );
    for (list, item) in [
        ("RunList", "Run"),
        ("TokenList", "Token"),
        ("UserList", "User"),
    ] {
        assert_eq!(
            doc["components"]["schemas"][list]["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}"),
            "{list}"
        );
    }
    let env = &doc["components"]["schemas"]["EnvInput"]["properties"];
    assert_eq!(
        env["namespace"]["pattern"], "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$",
        "an env var's namespace: empty or a namespace name: {env}"
    );
    assert!(env["value"].is_object(), "{env}");
    let mut operations = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "C1")
            .replace("{ns}", "demo")
            .replace("{name}", "demo")
            .replace("{param}", "image")
            .replace("{contact}", "1");
        for method in ops.as_object().unwrap().keys() {
            if path.ends_with("/events") {
                continue; // a stream; its route is served by the same declaration
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body =
                (m != reqwest::Method::GET && m != reqwest::Method::DELETE).then(|| json!({}));
            let (status, answer) = admin.api(m.clone(), &concrete, body).await;
            assert_ne!(status, 405, "{m} {path} is documented but not served");
            assert!(
                !answer["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("no page")),
                "{m} {path} is documented but answered by the fallback: {answer}"
            );
            operations += 1;
        }
    }
    assert!(operations > 50, "{operations} operations");
}
