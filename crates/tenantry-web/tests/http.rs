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
#[path = "http/clients.rs"]
mod clients;
#[path = "http/fleet.rs"]
mod fleet;
#[path = "http/lifecycle.rs"]
mod lifecycle;
#[path = "http/overrides.rs"]
mod overrides;
#[path = "http/roles.rs"]
mod roles;
#[path = "http/rollouts.rs"]
mod rollouts;
#[path = "http/security.rs"]
mod security;
#[path = "http/sessions.rs"]
mod sessions;
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

async fn wait_run_api(s: &Session, run: i64) -> String {
    wait_run(s, run).await["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}
