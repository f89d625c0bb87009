//! The web UI and API over real HTTP: an in-process server on a fresh catalog (SQLite,
//! and PostgreSQL where configured), kubesim as the cluster, reqwest as the browser.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use tenantry_core::{ApiRootUrl, NamespaceName, ParamName, Role, UserName};
use tenantry_store::{Catalog, KeySource, NewNamespace, OpenOptions, Scope};
use tenantry_testkit::{TEST_MASTER_KEY, TestDb};
use tenantry_web::auth::{hash_password, sha256_hex, unix_now};
use tenantry_web::{AppState, Config};

#[path = "http/adopt.rs"]
mod adopt;
#[path = "http/api_parity.rs"]
mod api_parity;
#[path = "http/fleet.rs"]
mod fleet;
#[path = "http/overrides.rs"]
mod overrides;
#[path = "http/rollouts.rs"]
mod rollouts;
#[path = "http/security.rs"]
mod security;
#[path = "http/templates.rs"]
mod templates;
#[path = "http/ux.rs"]
mod ux;
#[path = "http/webhooks.rs"]
mod webhooks;

const PASSWORD: &str = "correct horse battery";

struct Server {
    url: String,
    catalog: Catalog,
    state: AppState,
    sim: kubesim::Running,
}

async fn open(db: &TestDb) -> Catalog {
    let opts = OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(TEST_MASTER_KEY)),
        max_connections: 4,
    };
    Catalog::open(&opts).await.unwrap().0
}

fn config() -> Config {
    let mut c = Config::default();
    c.deploy.poll = Duration::from_millis(50);
    c.deploy.timeout = Duration::from_secs(60);
    c
}

async fn listen(catalog: Catalog) -> String {
    listen_with(catalog, |_, c| c).await.0
}

/// A server on `catalog` whose config `adjust` changes (it is told the server's URL).
async fn listen_with(
    catalog: Catalog,
    adjust: impl FnOnce(&str, Config) -> Config,
) -> (String, AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(catalog, adjust(&url, config())).unwrap();
    tokio::spawn(tenantry_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    (url, state)
}

/// A server with users admin/operator/viewer, namespace `demo` on kubesim, client C1.
async fn server(db: &TestDb) -> Server {
    server_with(db, |_, c| c).await
}

/// [`server`] with its config changed by `adjust`.
async fn server_with(db: &TestDb, adjust: impl FnOnce(&str, Config) -> Config) -> Server {
    let sim = kubesim::start(kubesim::Config {
        token: Some("sim-token".into()),
        timings: kubesim::Timings::fast(),
        namespaces: vec!["default".into(), "demo".into()],
        scenarios: kubesim::Scenarios {
            fail_image_pull: vec!["*:missing*".into()],
            ..Default::default()
        },
        ..kubesim::Config::default()
    })
    .await
    .unwrap();
    let catalog = open(db).await;
    let hash = hash_password(PASSWORD).unwrap();
    for role in Role::ALL {
        catalog
            .create_user(
                &UserName::parse(role.as_str()).unwrap(),
                role,
                &hash,
                unix_now(),
            )
            .await
            .unwrap();
    }
    catalog
        .add_namespace(&NewNamespace {
            name: NamespaceName::parse("demo").unwrap(),
            k8s_namespace: None,
            api_root_url: ApiRootUrl::parse(&sim.url()).unwrap(),
            token: SecretString::from("sim-token"),
            ca_bundle: None,
        })
        .await
        .unwrap();
    let scope = Scope::Namespace(NamespaceName::parse("demo").unwrap());
    for (k, v, secret) in [
        ("clickhouse-host", "ch", false),
        ("clickhouse-admin-user", "a", false),
        ("clickhouse-admin-password", "ch-admin-secret", true),
        ("postgres-host", "pg", false),
        ("postgres-admin-password", "pg-admin-secret", true),
        ("sms4b-token", "sms-secret", true),
        ("public-dns", "lms.test", false),
        ("docker-image", "registry.test/lms:1", false),
        ("nfs-server", "192.0.2.1", false),
    ] {
        catalog
            .set_param(
                &ParamName::parse(k).unwrap(),
                &scope,
                &SecretString::from(v),
                secret,
            )
            .await
            .unwrap();
    }
    let (url, state) = listen_with(catalog.clone(), adjust).await;
    Server {
        url,
        catalog,
        state,
        sim,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn csrf_in(html: &str) -> String {
    let i = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF field");
    let rest = &html[i + 20..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn cookie_of(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, v.to_owned())
        })
}

/// A logged-in browser: its session cookie and CSRF token.
struct Session {
    url: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

async fn try_login(url: &str, name: &str, password: &str) -> reqwest::Response {
    try_login_as(http(), url, name, password, None).await
}

/// Logs in with `http` (e.g. bound to another source address), sending `cookie` too.
async fn try_login_as(
    http: reqwest::Client,
    url: &str,
    name: &str,
    password: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    let (pre, _) = cookie_of(&page, "tenantry_pre").expect("pre-login cookie");
    let html = page.text().await.unwrap();
    let cookies = match cookie {
        Some(c) => format!("tenantry_pre={pre}; {c}"),
        None => format!("tenantry_pre={pre}"),
    };
    http.post(format!("{url}/login"))
        .header("cookie", cookies)
        .form(&[
            ("_csrf", csrf_in(&html).as_str()),
            ("name", name),
            ("password", password),
            ("next", "/clients"),
        ])
        .send()
        .await
        .unwrap()
}

async fn login(url: &str, name: &str) -> Session {
    let resp = try_login(url, name, PASSWORD).await;
    assert_eq!(resp.status(), 303, "login of {name}");
    let (sid, _) = cookie_of(&resp, "tenantry_session").unwrap();
    let cookie = format!("tenantry_session={sid}");
    let http = http();
    let html = http
        .get(format!("{url}/clients"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Session {
        url: url.to_owned(),
        csrf: csrf_in(&html),
        cookie,
        http,
    }
}

impl Session {
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = vec![("_csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// Creates client "Acme" through the API; returns the answer.
    async fn acme(&self) -> (u16, Value) {
        self.api(
            reqwest::Method::POST,
            "/clients",
            Some(json!({"organisation": "Acme"})),
        )
        .await
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

async fn wait_run(s: &Session, run: i64) -> Value {
    for _ in 0..600 {
        let (_, r) = s
            .api(reqwest::Method::GET, &format!("/runs/{run}"), None)
            .await;
        if r["status"] != "running" {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run} did not end");
}

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
        (400, Some("confirm")),
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
    assert_eq!(r.status().as_u16(), 400);
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

async fn wait_run_api(s: &Session, run: i64) -> String {
    wait_run(s, run).await["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}
