//! Regression tests of the ASVS level-2 review's findings (issue 16), one or more per
//! finding, each failing on the code before its fix.

use std::net::IpAddr;

use super::*;

fn http_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(addr.parse::<IpAddr>().ok())
        .build()
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> i64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Finding 1: an attack slows the attacker, not the owner; a reset or `unlock` clears it.
#[tokio::test]
async fn failed_logins_slow_the_attacker_but_never_lock_out_the_owner() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let attacker = || http_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = try_login_as(attacker(), &srv.url, "admin", "not the password", None).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[401, 401, 401], "three free tries");
    assert!(statuses[3..].contains(&429), "then a delay: {statuses:?}");
    // While the delay runs, even the right password from the attacker's address is
    // refused unchecked, and does not count.
    let r = try_login_as(attacker(), &srv.url, "admin", PASSWORD, None).await;
    assert_eq!(r.status(), 429);
    let wait = retry_after(&r);
    assert!((1..=900).contains(&wait), "Retry-After {wait}");
    assert!(r.text().await.unwrap().contains("Too many failed logins"));
    // The owner, at another address, gets in at once.
    assert_eq!(try_login(&srv.url, "admin", PASSWORD).await.status(), 303);

    // Spread over many addresses, the attack slows the account at unknown addresses
    // only: the owner's known address (127.0.0.1, above) still gets in.
    for i in 10..40 {
        let from = format!("127.0.0.{i}");
        try_login_as(http_from(&from), &srv.url, "admin", "wrong again!", None).await;
    }
    let r = try_login_as(http_from("127.0.0.99"), &srv.url, "admin", PASSWORD, None).await;
    assert_eq!(r.status(), 429, "an unknown address waits");
    assert_eq!(try_login(&srv.url, "admin", PASSWORD).await.status(), 303);

    // A password reset forgets it all (as does `tenantry user unlock`).
    let hash = hash_password("a brand new passphrase").unwrap();
    srv.catalog
        .update_user("admin", None, Some(&hash))
        .await
        .unwrap();
    let r = try_login_as(
        http_from("127.0.0.99"),
        &srv.url,
        "admin",
        "a brand new passphrase",
        None,
    )
    .await;
    assert_eq!(r.status(), 303, "the reset cleared the delay");
    try_login_as(attacker(), &srv.url, "viewer", "nope nope nope", None).await;
    assert!(srv.catalog.unlock_user("viewer").await.unwrap());
    assert!(!srv.catalog.unlock_user("viewer").await.unwrap());
}

/// Finding 2: concurrent hashing is capped; the overflow is told to come back.
#[tokio::test]
async fn concurrent_logins_beyond_the_hashing_cap_get_429() {
    let db = TestDb::sqlite();
    let srv = server_with(&db, |_, mut c| {
        c.hash_concurrency = 1;
        c
    })
    .await;
    let page = http()
        .get(format!("{}/login", srv.url))
        .send()
        .await
        .unwrap();
    let (pre, _) = cookie_of(&page, "tenantry_pre").unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    let tries: Vec<_> = (0..40)
        .map(|i| {
            let (url, pre, csrf) = (srv.url.clone(), pre.clone(), csrf.clone());
            tokio::spawn(async move {
                let r = http_from(&format!("127.0.1.{}", i + 1))
                    .post(format!("{url}/login"))
                    .header("cookie", format!("tenantry_pre={pre}"))
                    .form(&[
                        ("_csrf", csrf.as_str()),
                        ("name", &format!("nobody{i}")),
                        ("password", "whatever it is"),
                    ])
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let retry = r.headers().contains_key("retry-after");
                (status, retry, r.text().await.unwrap())
            })
        })
        .collect();
    let mut busy = 0;
    for t in tries {
        let (status, retry, body) = t.await.unwrap();
        assert!(status == 401 || status == 429, "{status}");
        if status == 429 {
            assert!(retry, "429 carries Retry-After");
            assert!(body.contains("busy"), "{body}");
            busy += 1;
        }
    }
    assert!(
        srv.state.hasher.peak() <= 1,
        "peak {}",
        srv.state.hasher.peak()
    );
    assert!(busy >= 10, "only {busy} of 40 were turned away");
}

/// Finding 3: a name no user can have is refused before anything is written; audit
/// fields are bounded; old entries are pruned.
#[tokio::test]
async fn a_huge_login_name_writes_nothing_and_audit_fields_are_bounded() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let before = srv.catalog.count_audit().await.unwrap();
    let huge = "x".repeat(1_900_000);
    let r = try_login(&srv.url, &huge, "whatever it is").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        srv.catalog.count_audit().await.unwrap(),
        before,
        "nothing audited"
    );
    assert!(
        !srv.catalog.unlock_user(&huge).await.unwrap(),
        "nothing counted"
    );

    srv.state
        .audit(
            &"a".repeat(5000),
            "127.0.0.1",
            "act",
            &"t".repeat(5000),
            &"d".repeat(100_000),
        )
        .await;
    let e = &srv.catalog.audit_log(1, 0).await.unwrap()[0];
    assert!(
        e.actor.chars().count() <= 80 && e.detail.chars().count() <= 500,
        "{}",
        e.detail.len()
    );
    assert!(e.detail.ends_with('…'));
    assert_eq!(
        srv.catalog.prune_audit(365).await.unwrap(),
        0,
        "nothing is that old"
    );
    let admin = login(&srv.url, "admin").await;
    let (status, html) = admin.get("/audit?page=1").await;
    assert_eq!(status, 200);
    assert!(html.len() < 200_000);
}

/// Finding 4: `next` never leaves this server and never answers 500.
#[tokio::test]
async fn next_after_login_stays_on_this_server() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let s = login(&srv.url, "viewer").await;
    for next in [
        "/%09/127.0.0.1:18999/pwned",
        "/%0a/evil",
        "/%0d%0aSet-Cookie:x=1",
        "//evil.example",
        "/%E2%80%A8/x",
    ] {
        let r = s
            .http
            .get(format!("{}/login?next={next}", srv.url))
            .header("cookie", &s.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(r.headers()["location"], "/clients", "{next}");
    }
    let r = try_login_as(http(), &srv.url, "admin", PASSWORD, None).await;
    assert_eq!(r.headers()["location"], "/clients");
}

/// Finding 5: a token acts with the lower of its role and its owner's, goes with the
/// owner, and expires.
#[tokio::test]
async fn tokens_follow_their_owner_and_expire() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (status, made) = admin
        .api(
            reqwest::Method::POST,
            "/tokens",
            Some(json!({"name": "ci", "role": "admin", "expires_days": 30})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["owner"], "admin");
    let life = made["expires_at"].as_i64().unwrap() - unix_now();
    assert!((29 * 86_400..=30 * 86_400).contains(&life), "{life}");
    let token = made["token"].as_str().unwrap().to_owned();
    let call = |m: reqwest::Method, p: &str| {
        http()
            .request(m, format!("{}/api/v1{p}", srv.url))
            .header("authorization", format!("Bearer {token}"))
    };
    assert_eq!(
        call(reqwest::Method::GET, "/users")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    srv.catalog
        .update_user("admin", Some(Role::Viewer), None)
        .await
        .unwrap();
    let r = call(reqwest::Method::POST, "/users")
        .json(&json!({"name": "mallory", "role": "admin", "password": "a long pass phrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the demoted owner's token is a viewer's");
    let me: Value = call(reqwest::Method::GET, "/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "viewer", "{me}");
    srv.catalog.delete_user("admin").await.unwrap();
    assert_eq!(
        call(reqwest::Method::GET, "/clients")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(
        srv.catalog.api_tokens().await.unwrap().is_empty(),
        "removed with the owner"
    );

    // An operator cannot mint an admin token, and an expired token is refused.
    let op = srv
        .catalog
        .user_with_hash("operator")
        .await
        .unwrap()
        .unwrap()
        .0;
    let now = unix_now();
    srv.catalog
        .create_api_token(&tenantry_store::NewApiToken {
            name: "old",
            token_hash: &sha256_hex("tnt_old"),
            role: Role::Viewer,
            owner: &op,
            created_at: now - 100 * 86_400,
            expires_at: now - 10,
        })
        .await
        .unwrap();
    let r = http()
        .get(format!("{}/api/v1/clients", srv.url))
        .header("authorization", "Bearer tnt_old")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "expired");
}

/// Finding 6: common, repetitive and self-named passwords are refused; a user changes
/// their own password with the current one.
#[tokio::test]
async fn weak_passwords_are_refused_and_users_change_their_own() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    for (name, pw) in [
        ("bob", "1234567890"),
        ("bob", "          "),
        ("robert1234", "robert1234"),
        ("eve", "password123"),
    ] {
        let (status, body) = admin
            .api(
                reqwest::Method::POST,
                "/users",
                Some(json!({"name": name, "role": "viewer", "password": pw})),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("password")),
            "{pw:?}: {body}"
        );
    }
    let op = login(&srv.url, "operator").await;
    let (status, body) = op
        .api(
            reqwest::Method::POST,
            "/me/password",
            Some(json!({"current": "not it at all", "new": "a fresh long phrase"})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("current")),
        "{body}"
    );
    let (status, body) = op
        .api(
            reqwest::Method::POST,
            "/me/password",
            Some(json!({"current": PASSWORD, "new": "1234567890"})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("new")),
        "{body}"
    );
    let (status, _) = op
        .api(
            reqwest::Method::POST,
            "/me/password",
            Some(json!({"current": PASSWORD, "new": "a fresh long phrase"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        op.api(reqwest::Method::GET, "/me", None).await.0,
        401,
        "sessions ended"
    );
    assert_eq!(
        try_login(&srv.url, "operator", "a fresh long phrase")
            .await
            .status(),
        303
    );
    // The form, in the page.
    let r = try_login(&srv.url, "operator", "a fresh long phrase").await;
    let (sid, _) = cookie_of(&r, "tenantry_session").unwrap();
    let page = http()
        .get(format!("{}/account/password", srv.url))
        .header("cookie", format!("tenantry_session={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("id=\"change-password\"")
    );
}

/// Finding 7: a secret macro in a path or a name is refused at save (and at render).
#[tokio::test]
async fn secret_macros_cannot_be_put_in_paths_or_names() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (_, t) = admin
        .api(reqwest::Method::GET, "/templates/service", None)
        .await;
    let mut content = t["template"].clone();
    content["path"] =
        json!("api/v1/namespaces/{{namespace-id}}/services/{{postgres-admin-password}}");
    let (status, body) = admin
        .api(
            reqwest::Method::PUT,
            "/templates/service",
            Some(content.clone()),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("secret {{postgres-admin-password}}"),
        "{body}"
    );
    assert!(!body.to_string().contains("pg-admin-secret"));
    content["path"] = json!("api/v1/namespaces/{{namespace-id}}/services");
    content["body"]["metadata"]["name"] = json!("svc-{{sms4b-token}}");
    let (status, body) = admin
        .api(reqwest::Method::PUT, "/templates/service", Some(content))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("/metadata/name"),
        "{body}"
    );
}

/// Finding 8: a new API host needs the token again.
#[tokio::test]
async fn moving_a_namespace_to_another_host_needs_its_token_again() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (_, html) = admin.get("/namespaces/demo").await;
    assert!(html.contains("api_root_url"));
    let before = srv.catalog.namespace("demo").await.unwrap().api_root_url;
    let r = admin
        .post(
            "/namespaces/demo",
            &[
                ("k8s_namespace", "demo"),
                ("api_root_url", "https://127.0.0.1:18999"),
                ("token", ""),
                ("ca_bundle", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "well-formed, against the rule");
    assert!(r.text().await.unwrap().contains("give the token again"));
    assert_eq!(
        srv.catalog.namespace("demo").await.unwrap().api_root_url,
        before
    );
    let r = admin
        .post(
            "/namespaces/demo",
            &[
                ("k8s_namespace", "demo"),
                ("api_root_url", "https://127.0.0.1:18999"),
                ("token", "a-new-token"),
                ("ca_bundle", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        srv.catalog
            .namespace("demo")
            .await
            .unwrap()
            .api_root_url
            .as_str(),
        "https://127.0.0.1:18999"
    );
}

/// Finding 9: the setup token dies when a user exists, and after an hour.
#[tokio::test]
async fn the_setup_token_expires_and_goes_with_the_first_user() {
    let db = TestDb::sqlite();
    let catalog = open(&db).await;
    let now = unix_now();
    catalog
        .set_setup_token(&sha256_hex("old"), now - 2 * 3600)
        .await
        .unwrap();
    assert!(
        !catalog
            .take_setup_token(&sha256_hex("old"), now)
            .await
            .unwrap(),
        "older than an hour"
    );
    catalog
        .set_setup_token(&sha256_hex("fresh"), now)
        .await
        .unwrap();
    let hash = hash_password(PASSWORD).unwrap();
    let u = catalog
        .create_user(&UserName::parse("root").unwrap(), Role::Admin, &hash, now)
        .await
        .unwrap();
    catalog.delete_user(u.name.as_str()).await.unwrap();
    assert_eq!(catalog.count_users().await.unwrap(), 0);
    assert!(
        !catalog
            .take_setup_token(&sha256_hex("fresh"), now)
            .await
            .unwrap(),
        "gone with the first user, not back when the last one left"
    );
}

/// Finding 10: logging in again ends the session the browser had.
#[tokio::test]
async fn logging_in_again_ends_the_previous_session() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let first = login(&srv.url, "viewer").await;
    let r = try_login_as(http(), &srv.url, "viewer", PASSWORD, Some(&first.cookie)).await;
    assert_eq!(r.status(), 303);
    let (second, _) = cookie_of(&r, "tenantry_session").unwrap();
    assert_ne!(format!("tenantry_session={second}"), first.cookie);
    assert_eq!(
        first.get("/clients").await.0,
        303,
        "the first session ended"
    );
}

/// Finding 11: a run's event stream closes when its user is removed.
#[tokio::test]
async fn the_event_stream_ends_when_the_user_is_removed() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let client = srv
        .catalog
        .create_client(&tenantry_store::NewClient {
            name: tenantry_core::OrgName::parse("Stream Ltd").unwrap(),
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await
        .unwrap();
    let run = srv
        .catalog
        .start_run(client.id, "demo", tenantry_store::RunKind::Deploy, "test")
        .await
        .unwrap();
    let s = login(&srv.url, "viewer").await;
    let mut resp = s
        .http
        .get(format!("{}/runs/{}/events", srv.url, run.id))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: run"));
    srv.catalog.delete_user("viewer").await.unwrap();
    let mut rest = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(c) = resp.chunk().await.unwrap() {
            rest.push_str(&String::from_utf8_lossy(&c));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end: {rest}");
    assert!(
        rest.contains("event: error") && rest.contains("session ended"),
        "{rest}"
    );
}

/// Finding 12: fields have limits, with errors naming the field.
#[tokio::test]
async fn oversized_fields_are_refused_by_name() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let phones: Vec<String> = (0..5000).map(|i| format!("+7 916 555 {i:04}")).collect();
    let (status, body) = admin
        .api(
            reqwest::Method::POST,
            "/clients",
            Some(json!({"organisation": "Big", "phones": phones})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("phones")),
        "{body}"
    );
    let (status, body) = admin
        .api(reqwest::Method::POST, "/clients", Some(json!({"organisation": "Big", "contacts": [{"name": "Ann", "note": "n".repeat(1_900_000)}]})))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("contacts[0].note")),
        "{body}"
    );
    let (status, body) = admin
        .api(reqwest::Method::POST, "/clients", Some(json!({"organisation": "Big", "contacts": [{"name": "Ann", "role": "r".repeat(100_000)}]})))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("contacts[0].role")),
        "{body}"
    );
    let r = admin
        .post(
            "/env",
            &[
                ("name", "BIG"),
                ("value", &"v".repeat(40_000)),
                ("scope", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = admin
        .post(
            "/namespaces/demo/params",
            &[("name", "docker-image"), ("value", &"v".repeat(70_000))],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("at most 65536"));
}

/// Finding 13: with a public URL, another Host or Origin is refused.
#[tokio::test]
async fn a_public_url_refuses_other_hosts_and_origins() {
    let db = TestDb::sqlite();
    let srv = server_with(&db, |url, mut c| {
        c.public_url = Some(tenantry_web::PublicUrl::parse(url).unwrap());
        c
    })
    .await;
    let r = http()
        .get(format!("{}/login", srv.url))
        .header("host", "rebound.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421);
    assert_eq!(
        http()
            .get(format!("{}/login", srv.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let s = login(&srv.url, "operator").await;
    let r = s
        .http
        .post(format!("{}/logout", srv.url))
        .header("cookie", &s.cookie)
        .header("origin", "http://rebound.example")
        .form(&[("_csrf", s.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// Finding 14: `__Host-` cookies and a Secure `lang` with --secure-cookies; JSON 405s.
#[tokio::test]
async fn secure_cookies_use_host_prefixes_and_api_405_is_json() {
    let db = TestDb::sqlite();
    let srv = server_with(&db, |_, mut c| {
        c.secure_cookies = true;
        c
    })
    .await;
    let page = http()
        .get(format!("{}/login?lang=ru", srv.url))
        .send()
        .await
        .unwrap();
    let (_, pre) = cookie_of(&page, "__Host-tenantry_pre").expect("__Host- pre-login cookie");
    assert!(pre.contains("Secure") && pre.contains("Path=/"), "{pre}");
    let (_, lang) = cookie_of(&page, "lang").unwrap();
    assert!(lang.contains("Secure"), "{lang}");
    let r = http()
        .delete(format!("{}/api/v1/clients", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
}
