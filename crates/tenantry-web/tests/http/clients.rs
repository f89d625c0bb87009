//! Clients from the forms and the API: bad input named by field, a client with
//! contacts created and deployed, a failing image reported, the template editor.

use super::*;

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let s = login(&srv.url, "operator").await;
    let cases = [
        (json!({"organisation": ""}), "organisation"),
        (json!({"organisation": "A", "phones": ["12"]}), "phones[0]"),
        (
            json!({"organisation": "A", "contacts": [{"name": "Ann", "emails": ["not-an-email"]}]}),
            "contacts[0].emails[0]",
        ),
        (
            json!({"organisation": "A", "contacts": [{"phones": []}]}),
            "contacts[0]",
        ),
        (json!({"organisation": 5}), "organisation"),
        (json!({"organisation": "A", "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let (status, err) = s
            .api(reqwest::Method::POST, "/clients", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body} → {err}");
        assert!(
            err["field"].as_str().unwrap().starts_with(field),
            "{body} → {err}"
        );
        assert!(!err["error"].as_str().unwrap().is_empty());
    }
    let (status, _) = s.api(reqwest::Method::GET, "/clients/C99", None).await;
    assert_eq!(status, 404);
    let (status, _) = s.api(reqwest::Method::GET, "/clients/banana", None).await;
    assert_eq!(status, 404);
    let (status, err) = s.api(reqwest::Method::GET, "/clients?limit=-1", None).await;
    assert_eq!((status, err["field"].as_str()), (400, Some("limit")));
    let (status, _) = s.api(reqwest::Method::GET, "/runs/x", None).await;
    assert_eq!(status, 404);
    // The form shows the problem and keeps what was typed.
    let r = s
        .post(
            "/clients",
            &[("organisation", "Typed Org"), ("phones", "12")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Phone 1: phone &quot;12&quot; has too few digits")
            && html.contains("data-for=\"phones\"")
            && !html.contains("phones[0]")
            && html.contains("Typed Org"),
        "{html}"
    );
}

#[tokio::test]
async fn a_client_with_two_contacts_is_created_and_deployed_from_the_form() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    // The LMS pod takes a second to be ready, so the run is watched while it runs.
    srv.sim.set_scenarios(kubesim::Scenarios {
        slow_ready: [("registry.test/lms:1".to_owned(), 1000)]
            .into_iter()
            .collect(),
        ..Default::default()
    });
    let s = login(&srv.url, "operator").await;
    let r = s
        .post(
            "/clients",
            &[
                ("organisation", "ООО «Ромашка»"),
                ("phones", "+7 495 123-45-67"),
                ("emails", ""),
                ("contact_name", "Иванова Мария"),
                ("contact_role", "директор"),
                ("contact_phones", "+7 916 555-12-34"),
                ("contact_emails", "m@romashka.example"),
                ("contact_note", ""),
                ("contact_name", "Пётр Сидоров"),
                ("contact_role", ""),
                ("contact_phones", ""),
                (
                    "contact_emails",
                    "it@romashka.example, it2@romashka.example",
                ),
                ("contact_note", "после 10:00"),
                ("contact_name", ""),
                ("contact_role", ""),
                ("contact_phones", ""),
                ("contact_emails", ""),
                ("contact_note", ""),
                ("deploy", "demo"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let run_page = r.headers()["location"].to_str().unwrap().to_owned();
    let run: i64 = run_page.trim_start_matches("/runs/").parse().unwrap();
    let c = srv.catalog.client("C1".parse().unwrap()).await.unwrap();
    assert_eq!(c.contacts.len(), 2);
    assert_eq!(c.contacts[1].emails.len(), 2);
    assert_eq!(c.contacts[0].phones[0].as_str(), "+79165551234");

    // Live progress: server-sent events until the run ends.
    let mut events = s
        .http
        .get(format!("{}/runs/{run}/events", srv.url))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), events.chunk())
        .await
        .unwrap()
        .unwrap()
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let last: Value = serde_json::from_str(
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .next_back()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["status"], "succeeded", "{last}");
    let first: Value =
        serde_json::from_str(text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(
        first["status"], "running",
        "the stream starts while the run runs: {text}"
    );
    assert!(
        text.matches("event: run").count() >= 3,
        "several updates: {text}"
    );
    assert_eq!(last["steps"].as_array().unwrap().len(), 8);
    // The live events carry the request count as it grows, and the pods.
    let counts: Vec<i64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["requests"].as_i64())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]) && counts.first() < counts.last(),
        "{counts:?}"
    );
    assert!(
        text.contains("\"pods\":[{"),
        "the pods while it runs: {text}"
    );

    let (_, card) = s.get("/clients/C1").await;
    assert!(card.contains("Иванова Мария") && card.contains("Пётр Сидоров"));
    assert!(card.contains("data-status=\"succeeded\""));
    let (_, page) = s.get(&run_page).await;
    assert!(page.contains("clickhouse-setup") && page.contains("POST"));
    // The pods as the cluster has them: the LMS pod running and ready, the Job pods done.
    assert!(
        page.contains("id=\"pods\"") && page.contains("Running") && page.contains("1/1"),
        "{page}"
    );
    assert!(page.contains("Succeeded"), "the setup Jobs' pods");
    // Request bodies are kept whole (the Deployment's is far past 300 characters), masked.
    let (_, requests) = s
        .api(reqwest::Method::GET, &format!("/runs/{run}/requests"), None)
        .await;
    let deployment = requests["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/deployments"))
        .expect("the Deployment's POST");
    let body: Value = serde_json::from_str(deployment["excerpt"].as_str().unwrap())
        .expect("the whole body, as JSON");
    assert!(deployment["excerpt"].as_str().unwrap().len() > 300);
    assert!(
        body.pointer("/spec/template/spec/containers/0/image")
            .is_some_and(Value::is_string),
        "{body}"
    );
    assert!(
        page.contains("<details class=\"body\">"),
        "long bodies fold"
    );
    assert!(
        !page.contains("pg-admin-secret") && !page.contains("ch-admin-secret"),
        "secrets masked in the request log"
    );

    // Remove and add a contact.
    let id = c.contacts[1].id;
    assert!(
        s.post(&format!("/clients/C1/contacts/{id}/delete"), &[])
            .await
            .status()
            .is_redirection()
    );
    assert!(
        s.post(
            "/clients/C1/contacts",
            &[
                ("contact_name", "Анна"),
                ("contact_phones", "8 (912) 000-00-01"),
                ("contact_emails", ""),
                ("contact_role", ""),
                ("contact_note", "")
            ]
        )
        .await
        .status()
        .is_redirection()
    );
    let c = srv.catalog.client("C1".parse().unwrap()).await.unwrap();
    let names: Vec<&str> = c.contacts.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["Иванова Мария", "Анна"]);
}

#[tokio::test]
async fn a_failing_image_is_reported_on_the_run_and_a_second_deploy_is_refused_while_one_runs() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let r = admin
        .post(
            "/namespaces/demo/params",
            &[
                ("name", "docker-image"),
                ("value", "registry.test/lms:missing"),
            ],
        )
        .await;
    assert!(r.status().is_redirection());
    let (_, c) = admin.acme().await;
    let id = c["id"].as_str().unwrap();
    // A slow cluster (1.5 s a request) while the second deploys are tried: the first
    // is still running then, however fast a missing image fails.
    srv.sim.set_faults(kubesim::FaultConfig {
        latency_ms: 1500,
        ..kubesim::FaultConfig::default()
    });
    let (status, run) = admin
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    let (second, err) = admin
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    assert_eq!(second, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("already running"),
        "{err}"
    );
    assert_eq!(err["run"], run["id"], "the API names the run in the way");
    // The card's Deploy answers a page that keeps the navigation and links to that run.
    let r = admin
        .post(&format!("/clients/{id}/deploy"), &[("namespace", "demo")])
        .await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!("href=\"/runs/{}\"", run["id"])) && page.contains("<nav>"),
        "{page}"
    );
    srv.sim.set_faults(kubesim::FaultConfig::default());
    let done = wait_run(&admin, run["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "failed");
    let reason = done["reason"].as_str().unwrap();
    assert!(
        reason.contains("registry.test/lms:missing")
            && (reason.contains("ErrImagePull") || reason.contains("ImagePullBackOff")),
        "{reason}"
    );
    let (_, page) = admin.get(&format!("/runs/{}", run["id"])).await;
    assert!(page.contains("ImagePull"), "the run page names the cause");
    // In Russian the framing is Russian, the cluster's words as they are.
    let (_, page) = admin.get_ru(&format!("/runs/{}", run["id"])).await;
    let reason = page.split("class=\"reason\"").nth(1).unwrap_or("");
    assert!(
        reason.contains("ImagePull") && reason.contains("(через ") && !reason.contains("(after "),
        "{reason}"
    );
    // A render problem is answered at once, nothing started.
    admin
        .post(
            "/namespaces/demo/params",
            &[("name", "public-dns"), ("unset", "1")],
        )
        .await;
    let (status, err) = admin
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("public-dns"),
        "{err}"
    );
}

#[tokio::test]
async fn the_template_editor_shows_json_errors_by_line_and_keeps_history() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (status, html) = admin.get("/templates/service").await;
    assert_eq!(status, 200);
    assert!(html.contains("{{client-id"), "macros used are listed");
    let r = admin
        .post(
            "/templates/service",
            &[(
                "content",
                "{\n  \"name\": \"service\",\n  \"method\": \"POST\"\n  \"path\": \"x\"\n}",
            )],
        )
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("line 4, column 3"), "{html}");
    let (_, t) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    let mut file = t["template"].clone();
    file["description"] = json!("edited by the test");
    let r = admin
        .post(
            "/templates/service",
            &[("content", &serde_json::to_string_pretty(&file).unwrap())],
        )
        .await;
    assert_eq!(r.status(), 200);
    let (_, t2) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    assert_eq!(
        t2["version"].as_i64().unwrap(),
        t["version"].as_i64().unwrap() + 1
    );
    let (_, html) = admin.get("/templates/service").await;
    assert!(
        html.contains("class=\"ins\"") || html.contains("class=\"del\""),
        "a diff against older versions"
    );
    // Preview for a client, secrets masked.
    admin.acme().await;
    let (_, html) = admin
        .get("/templates/secret?client=C1&namespace=demo")
        .await;
    assert!(
        html.contains("••••••") && !html.contains("pg-admin-secret"),
        "{html}"
    );
    // Operators read templates but cannot save them.
    let op = login(&srv.url, "operator").await;
    assert_eq!(
        op.post("/templates/service", &[("content", "{}")])
            .await
            .status(),
        403
    );
}
