//! What an operator meets off the happy path: error pages that keep the navigation and
//! speak the page's language, empty states in words, confirmations.

use super::*;

impl Session {
    /// GET in Russian.
    pub(crate) async fn get_ru(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", format!("{}; lang=ru", self.cookie))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub(crate) async fn post_ru(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut fields = vec![("_csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", format!("{}; lang=ru", self.cookie))
            .form(&fields)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn error_pages_keep_the_navigation_and_their_titles_are_russian() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;

    let (status, page) = admin.get_ru("/clients/C999").await;
    assert_eq!(status, 404);
    assert!(page.contains("<nav>"), "the navigation stays: {page}");
    assert!(page.contains("<h1>Не найдено</h1>"), "{page}");
    assert!(
        page.contains("клиента C999 нет"),
        "the catalog's error in Russian: {page}"
    );
    // A plan that does not render: said in Russian, without CLI commands.
    admin.acme().await;
    admin
        .post(
            "/namespaces/demo/params",
            &[("name", "public-dns"), ("unset", "1")],
        )
        .await;
    let (status, page) = admin
        .post_ru("/clients/C1/deploy", &[("namespace", "demo")])
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("план для C1 в demo не собирается, ничего не отправлено")
            && page.contains("{{public-dns}}")
            && !page.contains("tenantry param set"),
        "{page}"
    );

    // A namespace that exists already: the form again, with what was typed, 409.
    let (status, page) = admin
        .post_ru(
            "/namespaces",
            &[
                ("name", "demo"),
                ("api_root_url", "https://127.0.0.1:1/k8s"),
                ("token", "t"),
            ],
        )
        .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("https://127.0.0.1:1/k8s") && page.contains("<nav>"));
    // Deleting yourself: 409 on an error page titled in Russian.
    let (status, page) = admin.post_ru("/users/admin/delete", &[]).await;
    assert_eq!(status, 409, "{page}");
    assert!(
        page.contains("<h1>Конфликт</h1>") && page.contains("<nav>"),
        "{page}"
    );
    assert!(!page.contains(">Conflict<"), "{page}");
}

#[tokio::test]
async fn empty_states_are_words_and_unsetting_an_env_var_asks_first() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    admin.acme().await;
    let (_, card) = admin.get_ru("/clients/C1").await;
    assert!(card.contains("Контактов пока нет."), "{card}");
    assert!(card.contains("Запусков пока нет."), "{card}");
    let (_, env) = admin.get_ru("/env").await;
    assert!(env.contains("Своих переменных нет"), "{env}");
    assert!(!env.contains("<p class=\"empty\">—</p>"), "{env}");
    assert!(
        env.contains("action=\"/env/delete\" data-confirm=\"Удалить эту переменную?\""),
        "{env}"
    );
}

#[tokio::test]
async fn a_contact_form_with_a_mistake_keeps_what_was_typed_and_says_what_is_wrong_beside_it() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let op = login(&srv.url, "operator").await;
    op.acme().await;
    let (status, page) = op
        .post_ru(
            "/clients/C1/contacts",
            &[
                ("contact_name", "Иванова Мария"),
                ("contact_role", "ИТ-директор"),
                ("contact_phones", "+7 495 123-45-67, доб. 12"),
                ("contact_emails", "maria,ivanova@romashka.ru"),
                ("contact_note", "звонить после 10"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{page}");
    // The form stays open with everything typed, the problem beside the e-mail field,
    // in Russian, without paths or CLI flags.
    assert!(page.contains("<details class=\"card\" open>"), "{page}");
    for kept in [
        "Иванова Мария",
        "ИТ-директор",
        "доб. 12",
        "maria,ivanova@romashka.ru",
        "звонить после 10",
    ] {
        assert!(page.contains(kept), "{kept} kept: {page}");
    }
    let beside = page
        .split("data-for=\"contact_emails\">")
        .nth(1)
        .expect("an error beside the e-mail field");
    assert!(
        beside.starts_with("адрес «maria,ivanova@romashka.ru» содержит запятую"),
        "{beside}"
    );
    assert!(page.contains("Контактное лицо, e-mail 1: адрес"), "{page}");
    assert!(
        !page.contains("contact.emails[0]") && !page.contains("--name"),
        "{page}"
    );

    // Fixed: saved, with the extension, and shown grouped in the page's language.
    let (status, _) = op
        .post_ru(
            "/clients/C1/contacts",
            &[
                ("contact_name", "Иванова Мария"),
                ("contact_phones", "+7 495 123-45-67, доб. 12"),
                ("contact_emails", "maria.ivanova@romashka.ru"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, card) = op.get_ru("/clients/C1").await;
    assert!(card.contains("+7 495 123-45-67 доб. 12"), "{card}");
    let (_, card) = op.get("/clients/C1").await;
    assert!(card.contains("+7 495 123-45-67 ext. 12"), "{card}");
    let (_, list) = op.get("/clients").await;
    assert!(list.contains("+7 495 123-45-67 ext. 12"), "{list}");
}

#[tokio::test]
async fn parameters_are_edited_in_place_a_typo_asks_first_and_the_audit_keeps_the_old_value() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let value_of = |params: &Value, name: &str| {
        params["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["namespace"].clone())
    };
    let (_, before) = admin
        .api(reqwest::Method::GET, "/namespaces/demo/params", None)
        .await;
    let old_image = value_of(&before, "docker-image").expect("docker-image is known");

    // The known parameters, each in its row with its description, in Russian.
    let (_, page) = admin.get_ru("/namespaces/demo").await;
    let row = page
        .split("data-param=\"docker-image\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(
        row.contains("Docker-образ, который запускают новые окружения"),
        "{row}"
    );
    assert!(
        row.contains("<input name=\"value\""),
        "edited in place: {row}"
    );

    // A typo is not created silently: the page asks, naming the close known one.
    let (status, page) = admin
        .post_ru(
            "/namespaces/demo/params",
            &[("name", "docker-imge"), ("value", "registry.test/lms:2")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Нет параметра <code>docker-imge</code>")
            && page.contains("Возможно, имелся в виду <code>docker-image</code>"),
        "{page}"
    );
    let (_, now) = admin
        .api(reqwest::Method::GET, "/namespaces/demo/params", None)
        .await;
    assert!(value_of(&now, "docker-imge").is_none(), "nothing created");

    // Set from its row: the page says so and the audit log keeps old and new.
    let r = admin
        .post(
            "/namespaces/demo/params",
            &[("name", "docker-image"), ("value", "registry.test/lms:2")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/namespaces/demo?saved=docker-image"
    );
    let (_, page) = admin.get("/namespaces/demo?saved=docker-image").await;
    assert!(page.contains("Saved: docker-image"), "{page}");
    let (_, log) = admin
        .api(reqwest::Method::GET, "/audit?limit=5", None)
        .await;
    let detail = log["items"][0]["detail"].as_str().unwrap().to_owned();
    assert_eq!(
        detail,
        format!(
            "{} → \"registry.test/lms:2\"",
            match old_image.as_str() {
                Some(s) => format!("{s:?}"),
                None => "(not set)".to_owned(),
            }
        )
    );

    // A secret's old and new values are masked.
    let r = admin
        .post(
            "/namespaces/demo/params",
            &[
                ("name", "postgres-admin-password"),
                ("value", "new-admin-secret-42"),
                ("secret", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, log) = admin
        .api(reqwest::Method::GET, "/audit?limit=5", None)
        .await;
    let detail = log["items"][0]["detail"].as_str().unwrap();
    assert!(
        detail.ends_with("→ ••••••") && !detail.contains("secret-42"),
        "{detail}"
    );

    // Confirmed, a new one is created.
    let r = admin
        .post(
            "/namespaces/demo/params",
            &[("name", "feature-flag"), ("value", "on"), ("create", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, now) = admin
        .api(reqwest::Method::GET, "/namespaces/demo/params", None)
        .await;
    assert_eq!(value_of(&now, "feature-flag"), Some(json!("on")));
}

/// The text a person reads on a page: tags, attributes, and what is shown as data
/// (code, text boxes) left out.
fn readable_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skip: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skip.is_none() {
            out.push_str(&rest[..lt]);
            out.push(' ');
        }
        let gt = rest[lt..].find('>').map_or(rest.len(), |g| lt + g + 1);
        let tag = &rest[lt + 1..gt.saturating_sub(1)];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match skip {
            Some(s) if tag.starts_with('/') && name == s => skip = None,
            // Request bodies and previews are data, shown as they are.
            None if name == "pre"
                && (tag.contains("class=\"body\"") || tag.contains("class=\"preview\"")) =>
            {
                skip = Some("pre");
            }
            None if !tag.starts_with('/') => {
                for data in ["code", "textarea", "script", "style", "title", "option"] {
                    if name == data {
                        skip = Some(data);
                    }
                }
            }
            _ => {}
        }
        rest = &rest[gt..];
    }
    out.push_str(rest);
    out.replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
}

#[tokio::test]
async fn no_page_shown_in_russian_has_an_english_phrase_of_the_catalogue() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    admin
        .api(
            reqwest::Method::POST,
            "/clients",
            Some(
                json!({"organisation": "ООО Ромашка", "phones": ["+7 495 123-45-67"],
                "contacts": [{"name": "Иванова Мария", "emails": ["maria@romashka.ru"]}]}),
            ),
        )
        .await;
    let (_, run) = admin
        .api(
            reqwest::Method::POST,
            "/clients/C1/deploy",
            Some(json!({"namespace": "demo"})),
        )
        .await;
    let run = run["id"].as_i64().unwrap();
    wait_run(&admin, run).await;
    let pages = [
        "/clients".to_owned(),
        "/clients/new".to_owned(),
        "/clients/C1".to_owned(),
        "/runs".to_owned(),
        format!("/runs/{run}"),
        "/namespaces".to_owned(),
        "/namespaces/demo".to_owned(),
        "/namespaces/demo/adopt".to_owned(),
        "/rollouts".to_owned(),
        "/env".to_owned(),
        "/templates".to_owned(),
        "/templates/service?client=C1&namespace=demo".to_owned(),
        "/audit".to_owned(),
        "/users".to_owned(),
        "/tokens".to_owned(),
        "/account/password".to_owned(),
        "/clients/C404".to_owned(),
    ];
    // Phrases that read the same in both languages are not evidence, nor are the
    // names of this test's users and of the templates (data, shown as they are).
    let data = [
        "admin",
        "operator",
        "viewer",
        "secret",
        "service",
        "deployment",
        "configmap",
        "ingress",
    ];
    let english: Vec<&str> = tenantry_web::i18n::PHRASES
        .iter()
        .filter(|(en, ru)| en != ru && en.chars().filter(|c| c.is_ascii_alphabetic()).count() > 2)
        .filter(|(en, _)| !data.contains(en))
        .map(|(en, _)| *en)
        // What steps report, said by the engine in English.
        .chain([
            "created",
            "Job complete",
            "rolled out",
            "waiting",
            "not run",
        ])
        .collect();
    let mut found = Vec::new();
    for p in &pages {
        let (_, html) = admin.get_ru(p).await;
        let text = readable_text(&html);
        for phrase in &english {
            let whole_word = text.match_indices(phrase).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + phrase.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            });
            if whole_word {
                found.push(format!("{p}: {phrase:?}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "English on Russian pages:\n{}",
        found.join("\n")
    );
}
