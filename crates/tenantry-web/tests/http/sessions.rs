//! Sessions and the ways in: login and logout, idle expiry, CSRF and origins, the
//! security headers, the one-time setup token, two instances sharing sessions.

use super::*;

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_ends_the_session() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    // Not logged in: pages send you to the login form, the API answers 401 in JSON.
    let r = http()
        .get(format!("{}/clients", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/clients");
    let r = http()
        .get(format!("{}/api/v1/clients", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("Bearer")
    );

    // A wrong password and an unknown user get the same answer.
    let wrong = try_login(&srv.url, "admin", "not the password").await;
    assert_eq!(wrong.status(), 401);
    let wrong_text = wrong.text().await.unwrap();
    let unknown = try_login(&srv.url, "nobody", PASSWORD).await;
    assert_eq!(unknown.status(), 401);
    assert!(wrong_text.contains("Wrong name or password"));
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Wrong name or password")
    );

    let resp = try_login(&srv.url, "admin", PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let (sid, header) = cookie_of(&resp, "tenantry_session").unwrap();
    assert_eq!(sid.len(), 64, "256-bit session id");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    assert!(!header.contains("Secure"), "plain HTTP: no Secure flag");
    // Only a hash of the id is stored.
    assert!(srv.catalog.session(&sid).await.unwrap().is_none());
    assert!(
        srv.catalog
            .session(&sha256_hex(&sid))
            .await
            .unwrap()
            .is_some()
    );

    let s = login(&srv.url, "admin").await;
    let (status, html) = s.get("/clients").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Romashka") || html.contains("No clients yet") || html.contains("<table")
    );
    let r = s.post("/logout", &[]).await;
    assert_eq!(r.status(), 303);
    let (status, _) = s.get("/clients").await;
    assert_eq!(status, 303, "the session is gone on the server");
}

#[tokio::test]
async fn sessions_end_after_30_idle_minutes() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let s = login(&srv.url, "operator").await;
    let sid = s.cookie.trim_start_matches("tenantry_session=");
    srv.catalog
        .touch_session(&sha256_hex(sid), unix_now() - 31 * 60)
        .await
        .unwrap();
    assert_eq!(s.get("/clients").await.0, 303, "idle for 31 minutes");
}

#[tokio::test]
async fn state_changes_need_the_csrf_token_and_a_same_site_origin() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let s = login(&srv.url, "operator").await;
    let no_token = s
        .http
        .post(format!("{}/clients", srv.url))
        .header("cookie", &s.cookie)
        .form(&[("organisation", "Evil Corp")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let foreign = s
        .http
        .post(format!("{}/clients", srv.url))
        .header("cookie", &s.cookie)
        .header("origin", "https://evil.example")
        .form(&[("_csrf", s.csrf.as_str()), ("organisation", "Evil Corp")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    // The API with a session cookie needs the header too.
    let r = s
        .http
        .post(format!("{}/api/v1/clients", srv.url))
        .header("cookie", &s.cookie)
        .json(&json!({"organisation": "Evil Corp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        srv.catalog
            .list_clients(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    // GET never changes state: there is no GET route that deploys or deletes.
    assert_eq!(s.get("/clients/C1/deploy").await.0, 405);
}

#[tokio::test]
async fn pages_carry_security_headers_and_speak_russian() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let r = http()
        .get(format!("{}/login", srv.url))
        .header("accept-language", "ru-RU,ru;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Войти") && html.contains("lang=\"ru\""),
        "{html}"
    );
    assert!(!html.contains("<script>"), "no inline script");
    // The switch wins over Accept-Language and sticks as a cookie.
    let r = http()
        .get(format!("{}/login?lang=en", srv.url))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap();
    assert!(cookie_of(&r, "lang").is_some());
    assert!(r.text().await.unwrap().contains("Log in"));
    assert_eq!(
        http()
            .get(format!("{}/healthz", srv.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_first_admin_comes_from_a_one_time_setup_token() {
    let db = TestDb::sqlite();
    let catalog = open(&db).await;
    let state = AppState::new(catalog.clone(), config()).unwrap();
    let token = state
        .setup_token_if_needed()
        .await
        .unwrap()
        .expect("no users yet");
    let url = listen(catalog.clone()).await;
    let setup = |tok: String| {
        let url = url.clone();
        async move {
            let page = http().get(format!("{url}/setup")).send().await.unwrap();
            let (pre, _) = cookie_of(&page, "tenantry_pre").unwrap();
            let html = page.text().await.unwrap();
            http()
                .post(format!("{url}/setup"))
                .header("cookie", format!("tenantry_pre={pre}"))
                .form(&[
                    ("_csrf", csrf_in(&html).as_str()),
                    ("token", tok.as_str()),
                    ("name", "root"),
                    ("password", PASSWORD),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(setup("wrong".into()).await.status(), 400);
    assert_eq!(setup(token.clone()).await.status(), 303);
    assert_eq!(catalog.users().await.unwrap()[0].role, Role::Admin);
    assert_eq!(
        http()
            .get(format!("{url}/setup"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "setup is over"
    );
    assert!(
        !catalog
            .take_setup_token(&sha256_hex(&token), unix_now())
            .await
            .unwrap(),
        "used once"
    );
    assert_eq!(try_login(&url, "root", PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn two_instances_on_postgresql_share_sessions_and_the_one_run_rule() {
    let Some(db) = TestDb::postgres("two web instances").await else {
        return;
    };
    let srv = server(&db).await;
    let second = listen(open(&db).await).await;
    let a = login(&srv.url, "operator").await;
    // The session made on A works on B.
    let b = Session {
        url: second.clone(),
        cookie: a.cookie.clone(),
        csrf: a.csrf.clone(),
        http: http(),
    };
    assert_eq!(b.get("/clients").await.0, 200);
    let (_, c) = a.acme().await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/clients/{id}/deploy");
    let body = json!({"namespace": "demo"});
    let (ra, rb) = tokio::join!(
        a.api(reqwest::Method::POST, &path, Some(body.clone())),
        b.api(reqwest::Method::POST, &path, Some(body.clone()))
    );
    let mut statuses = [ra.0, rb.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409], "{ra:?} {rb:?}");
    let run = if ra.0 == 202 { ra.1 } else { rb.1 };
    // B follows the run that A started.
    let done = wait_run(&b, run["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Logging out on B ends the session on A.
    b.post("/logout", &[]).await;
    assert_eq!(a.get("/clients").await.0, 303);
}
