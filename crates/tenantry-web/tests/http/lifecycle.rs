//! An environment's life after its first deploy, through the API and the client's
//! card: suspend, resume, roll back, decommission.

use super::*;

#[tokio::test]
async fn the_api_suspends_resumes_rolls_back_and_decommissions_an_environment() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let op = login(&srv.url, "operator").await;
    let viewer = login(&srv.url, "viewer").await;
    let (_, c) = op.acme().await;
    let id = c["id"].as_str().unwrap().to_owned();
    let ns = json!({"namespace": "demo"});
    let run_of = |op: &'static str| format!("/clients/{id}/{op}");
    // Nothing deployed: nothing to suspend, and the API says so as a conflict.
    let (code, refused) = op
        .api(reqwest::Method::POST, &run_of("suspend"), Some(ns.clone()))
        .await;
    assert_eq!(code, 409, "{refused}");
    let (code, run) = op
        .api(reqwest::Method::POST, &run_of("deploy"), Some(ns.clone()))
        .await;
    assert_eq!(code, 202, "{run}");
    assert_eq!(run["kind"], "deploy");
    assert_eq!(
        wait_run(&op, run["id"].as_i64().unwrap()).await["status"],
        "succeeded"
    );
    // A viewer may not suspend.
    let (code, _) = viewer
        .api(reqwest::Method::POST, &run_of("suspend"), Some(ns.clone()))
        .await;
    assert_eq!(code, 403);
    for action in ["suspend", "resume"] {
        let (code, run) = op
            .api(reqwest::Method::POST, &run_of(action), Some(ns.clone()))
            .await;
        assert_eq!((code, run["kind"].as_str()), (202, Some(action)), "{run}");
        let done = wait_run(&op, run["id"].as_i64().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    // One revision only: nothing earlier to roll back to.
    let (code, refused) = op
        .api(reqwest::Method::POST, &run_of("rollback"), Some(ns.clone()))
        .await;
    assert_eq!(code, 409, "{refused}");
    let (code, history) = op
        .api(
            reqwest::Method::GET,
            &format!("/clients/{id}/history?namespace=demo"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["items"][0]["image"], "registry.test/lms:1");
    // Lists and the API show the environment's status; archiving waits for it to go.
    let (_, client) = op
        .api(reqwest::Method::GET, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(
        client["environments"],
        json!([{"namespace": "demo", "status": "healthy", "run": client["environments"][0]["run"]}]),
        "{client}"
    );
    let (_, list) = op.get(&format!("/clients?q={id}")).await;
    assert!(list.contains("data-env=\"healthy\""), "{list}");
    let (code, refused) = op
        .api(reqwest::Method::POST, &run_of("archive"), None)
        .await;
    assert_eq!(code, 409, "{refused}");
    let why = refused["error"].as_str().unwrap();
    assert!(
        why.contains("demo") && why.contains("decommission"),
        "{why}"
    );
    // A decommission must be confirmed with the client id.
    let (code, wrong) = op
        .api(
            reqwest::Method::POST,
            &run_of("decommission"),
            Some(json!({"namespace": "demo", "confirm": "C999"})),
        )
        .await;
    assert_eq!(
        (code, wrong["field"].as_str()),
        (422, Some("confirm")),
        "{wrong}"
    );
    let (code, run) = op
        .api(
            reqwest::Method::POST,
            &run_of("decommission"),
            Some(json!({"namespace": "demo", "confirm": id, "drop_databases": true})),
        )
        .await;
    assert_eq!(code, 202, "{run}");
    let done = wait_run(&op, run["id"].as_i64().unwrap()).await;
    assert_eq!(
        (done["kind"].as_str(), done["status"].as_str()),
        (Some("decommission"), Some("succeeded")),
        "{done}"
    );
    let (_, list) = op.get(&format!("/clients?q={id}")).await;
    assert!(list.contains("data-env=\"decommissioned\""), "{list}");
    let (code, archived) = op
        .api(reqwest::Method::POST, &run_of("archive"), None)
        .await;
    assert_eq!(
        (code, archived["archived"].as_bool()),
        (200, Some(true)),
        "{archived}"
    );
    let (code, _) = op
        .api(reqwest::Method::POST, &run_of("deploy"), Some(ns.clone()))
        .await;
    assert_eq!(code, 409, "an archived client is not deployed");
    let (code, restored) = op
        .api(reqwest::Method::POST, &run_of("restore"), None)
        .await;
    assert_eq!(
        (code, restored["archived"].as_bool()),
        (200, Some(false)),
        "{restored}"
    );
    let (_, audit) = login(&srv.url, "admin")
        .await
        .api(reqwest::Method::GET, "/audit", None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "deploy",
        "suspend",
        "resume",
        "decommission",
        "archive client",
        "restore client",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
}

#[tokio::test]
async fn the_client_card_suspends_rolls_back_and_decommissions_with_a_typed_confirmation() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let op = login(&srv.url, "operator").await;
    let (_, c) = op.acme().await;
    let id = c["id"].as_str().unwrap().to_owned();
    let card = format!("/clients/{id}");
    // Nothing deployed yet: no suspend, no danger zone.
    let (_, html) = op.get(&card).await;
    assert!(
        !html.contains("/suspend") && !html.contains("danger-zone"),
        "{html}"
    );
    let run_of = |r: reqwest::Response| {
        assert_eq!(r.status().as_u16(), 303, "{:?}", r.headers());
        r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_start_matches("/runs/")
            .parse::<i64>()
            .unwrap()
    };
    for image in ["registry.test/lms:1", "registry.test/lms:2"] {
        srv.catalog
            .set_param(
                &ParamName::parse("docker-image").unwrap(),
                &Scope::Namespace(NamespaceName::parse("demo").unwrap()),
                &SecretString::from(image),
                false,
            )
            .await
            .unwrap();
        let run = run_of(
            op.post(&format!("{card}/deploy"), &[("namespace", "demo")])
                .await,
        );
        assert_eq!(wait_run_api(&op, run).await, "succeeded");
    }
    let (_, html) = op.get(&card).await;
    assert!(
        html.contains(&format!("action=\"/clients/{id}/suspend\"")),
        "{html}"
    );
    assert!(html.contains("data-revision=\"1\"") && html.contains("data-revision=\"2\""));
    // Revision 2 shows what changed as a diff of the manifests, secrets masked.
    assert!(
        html.contains("Show the manifests&#39; diff") || html.contains("Show the manifests' diff"),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"del\">-")
            && html.contains("registry.test/lms:1")
            && html.contains("<span class=\"ins\">+")
            && html.contains("registry.test/lms:2"),
        "{html}"
    );
    for secret in ["pg-admin-secret", "ch-admin-secret", "sms-secret"] {
        assert!(!html.contains(secret), "{secret} shown");
    }
    // Suspend: the panel then says so and offers Resume.
    let run = run_of(
        op.post(&format!("{card}/suspend"), &[("namespace", "demo")])
            .await,
    );
    assert_eq!(wait_run_api(&op, run).await, "succeeded");
    let (_, html) = op.get(&card).await;
    assert!(
        html.contains("data-env=\"suspended\"") && html.contains(&format!("/clients/{id}/resume")),
        "{html}"
    );
    let run = run_of(
        op.post(&format!("{card}/resume"), &[("namespace", "demo")])
            .await,
    );
    assert_eq!(wait_run_api(&op, run).await, "succeeded");
    // Roll back to revision 1 from the history.
    let run = run_of(
        op.post(
            &format!("{card}/rollback"),
            &[("namespace", "demo"), ("to", "1")],
        )
        .await,
    );
    assert_eq!(wait_run_api(&op, run).await, "succeeded");
    // A wrong confirmation deletes nothing and says why, beside the field's name.
    let r = op
        .post(
            &format!("{card}/decommission"),
            &[("namespace", "demo"), ("confirm", "nope")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("type the client id to confirm")
    );
    let run = run_of(
        op.post(
            &format!("{card}/decommission"),
            &[
                ("namespace", "demo"),
                ("confirm", id.as_str()),
                ("drop_databases", "on"),
            ],
        )
        .await,
    );
    assert_eq!(wait_run_api(&op, run).await, "succeeded");
    let (_, html) = op.get(&card).await;
    assert!(html.contains("data-env=\"decommissioned\""), "{html}");
    // In Russian too.
    let ru = op
        .http
        .get(format!("{}{card}", srv.url))
        .header("cookie", format!("{}; lang=ru", op.cookie))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ru.contains("выведено из эксплуатации") && ru.contains("Ревизии"),
        "{ru}"
    );
}
