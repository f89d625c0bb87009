//! The `tenantry` command as scripts and operators use it, on SQLite and PostgreSQL.

#[path = "cli/catalog.rs"]
mod catalog;
mod common;
#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/keys.rs"]
mod keys;

use std::process::{Command, Stdio};

use common::{BIN, Cli, Demo, stderr};
use serde_json::Value;
use tenantry_testkit::{Kind, TEST_MASTER_KEY, TestDb};

/// Logs in through the form; the session cookie and CSRF token, or None.
async fn demo_login(http: &reqwest::Client, url: &str, password: &str) -> Option<(String, String)> {
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tenantry_pre="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .unwrap();
    let html = page.text().await.unwrap();
    let field = |html: &str| {
        let i = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
        html[i..i + html[i..].find('"').unwrap()].to_owned()
    };
    let resp = http
        .post(format!("{url}/login"))
        .header("cookie", format!("tenantry_pre={pre}"))
        .form(&[
            ("_csrf", field(&html).as_str()),
            ("name", "admin"),
            ("password", password),
            ("next", "/clients"),
        ])
        .send()
        .await
        .unwrap();
    if resp.status() != 303 {
        return None;
    }
    let sid = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tenantry_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())?;
    let cookie = format!("tenantry_session={sid}");
    let html = http
        .get(format!("{url}/clients"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Some((cookie, field(&html)))
}
