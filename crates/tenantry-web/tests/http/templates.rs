//! The template editor: what a save checks, the preview of unsaved text, the comment and
//! the history's side-by-side diff; the API's save does the same checks.

use super::*;

/// The service template with its Service type replaced by `ty`.
async fn service_with_type(admin: &Session, ty: &str) -> Value {
    service_with(admin, "/body/spec/type", ty).await
}

/// The service template with the string at `pointer` replaced by `value`.
async fn service_with(admin: &Session, pointer: &str, value: &str) -> Value {
    let (_, t) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    let mut file = t["template"].clone();
    *file.pointer_mut(pointer).unwrap() = json!(value);
    file
}

const TYPO: &str = "lms-service-{{clinet-id | lower}}";

#[tokio::test]
async fn a_macro_typo_is_refused_with_a_suggestion_and_input_kept_unless_saved_anyway() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let version = |v: &Value| v["version"].as_i64().unwrap();
    let (_, before) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    let typo_file = service_with(&admin, "/body/metadata/name", TYPO).await;
    let typo = serde_json::to_string_pretty(&typo_file).unwrap();

    // The page refuses, says where and what was meant, keeps the text and the comment.
    let r = admin
        .post(
            "/templates/service",
            &[
                ("content", &typo),
                ("note", "type from a macro"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "unknown macro {{clinet-id}} in the body at /metadata/name: did you mean {{client-id}}?"
        ),
        "{html}"
    );
    assert!(
        html.contains("{{clinet-id | lower}}&quot;"),
        "the text is kept"
    );
    assert!(
        html.contains("value=\"type from a macro\""),
        "the comment is kept"
    );
    assert!(html.contains("name=\"force\""), "saving anyway is offered");
    let (_, now) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    assert_eq!(version(&now), version(&before), "nothing was saved");

    // In Russian, too.
    let r = admin
        .http
        .post(format!("{}/templates/service", admin.url))
        .header("cookie", format!("{}; lang=ru", admin.cookie))
        .form(&[
            ("_csrf", admin.csrf.as_str()),
            ("content", &typo),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("неизвестный макрос {{clinet-id}} в теле, /metadata/name: возможно, имелся в виду {{client-id}}?"),
        "{html}"
    );

    // The API says the same, with the problem typed.
    let (status, body) = admin
        .api(
            reqwest::Method::PUT,
            "/templates/service",
            Some(service_with_type(&admin, "{{service-tipe}}").await),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["kind"], "unknown-macro");
    assert_eq!(body["problems"][0]["macro"], "service-tipe");
    assert_eq!(
        body["problems"][0]["suggestion"],
        Value::Null,
        "nothing is close"
    );
    assert_eq!(body["problems"][0]["at"], "/spec/type");
    let (status, body) = admin
        .api(
            reqwest::Method::PUT,
            "/templates/service",
            Some(typo_file.clone()),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["suggestion"], "client-id");

    // A cycle among the templates is refused too.
    let mut cyclic = before["template"].clone();
    cyclic["after"] = json!(["deployment"]);
    let (status, body) = admin
        .api(reqwest::Method::PUT, "/templates/service", Some(cyclic))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["kind"], "order");
    assert!(body["error"].as_str().unwrap().contains("cycle"), "{body}");

    // Saved anyway when the admin says so; the comment goes into the history.
    let r = admin
        .post(
            "/templates/service",
            &[
                ("content", &typo),
                ("note", "type from a macro"),
                ("force", "on"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let (_, after) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    assert_eq!(version(&after), version(&before) + 1);
    let (_, html) = admin.get("/templates/service").await;
    assert!(
        html.contains("type from a macro"),
        "the comment is in the history"
    );
}

#[tokio::test]
async fn the_editor_previews_unsaved_text_for_a_client_and_shows_versions_side_by_side() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    admin.acme().await;
    let edited =
        serde_json::to_string_pretty(&service_with_type(&admin, "NodePort").await).unwrap();
    let (_, before) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;

    // Preview renders the text as typed, for C1, and saves nothing.
    let r = admin
        .post(
            "/templates/service",
            &[
                ("content", &edited),
                ("client", "C1"),
                ("namespace", "demo"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let preview = html.split("class=\"preview\"").nth(1).expect("a preview");
    assert!(preview.contains("NodePort"), "{preview}");
    assert!(
        preview.contains("POST ") && preview.contains("/services"),
        "{preview}"
    );
    let (_, now) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    assert_eq!(now["version"], before["version"], "a preview saves nothing");

    // Saved: the history shows the change beside the version before, old on the left.
    let r = admin
        .post(
            "/templates/service",
            &[("content", &edited), ("action", "save")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let (_, html) = admin.get("/templates/service").await;
    let table = html
        .split("class=\"diff2\"")
        .nth(1)
        .expect("a side-by-side diff");
    let table = &table[..table.find("</table>").unwrap()];
    let del = table.find("ClusterIP").expect("the old line");
    let ins = table.find("NodePort").expect("the new line");
    assert!(del < ins, "old on the left of new: {table}");
    assert!(table.contains("class=\"del\"") && table.contains("class=\"ins\""));
}
