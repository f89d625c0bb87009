//! The web UI in a real browser: headless Debian Chromium driven by playwright-core
//! (tests/browser/ui.mjs) against `tenantry demo`. Screenshots land in
//! target/browser-shots/ for people to look at. `./scripts/test` installs Chromium and
//! playwright-core and sets TENANTRY_TEST_BROWSER_DIR; without it the test says it is
//! skipped.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Demo;

#[test]
fn an_operator_creates_deploys_rolls_back_decommissions_and_sees_a_failure_named_in_chromium() {
    let Ok(dir) = std::env::var("TENANTRY_TEST_BROWSER_DIR") else {
        tenantry_testkit::skipped(
            "the browser test (run ./scripts/test, which installs Chromium and playwright-core)",
        );
        return;
    };
    let catalog = tempfile::tempdir().unwrap();
    let demo = Demo::start(catalog.path());
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-shots");
    // The catalogue's English phrases (those that read differently in Russian): none
    // may show on a page in Russian.
    let english: Vec<&str> = tenantry_web::i18n::PHRASES
        .iter()
        .filter(|(en, ru)| en != ru && en.chars().filter(char::is_ascii_alphabetic).count() > 3)
        .map(|(en, _)| *en)
        .collect();
    // The demo cluster's kubeconfig: the browser run edits an object by hand through it.
    let kubeconfig = std::fs::read_to_string(catalog.path().join("kubeconfig")).unwrap();
    let field = |key: &str| {
        kubeconfig
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap()
            .trim()
            .to_owned()
    };
    let out = Command::new("node")
        .arg(PathBuf::from(&dir).join("ui.mjs"))
        .current_dir(&dir)
        .env("TENANTRY_URL", &demo.url)
        .env("TENANTRY_PASSWORD", &demo.password)
        .env("TENANTRY_SIM_URL", field("server:"))
        .env("TENANTRY_SIM_TOKEN", field("token:"))
        .env("TENANTRY_SHOTS", &shots)
        .env("TENANTRY_ENGLISH", serde_json::to_string(&english).unwrap())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "the browser run failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    for shot in [
        "01-clients",
        "03-client-card",
        "05-run-succeeded",
        "06-run-failed",
        "07-clients-ru",
        "08-revisions",
        "09-decommissioned",
        "10-fleet-drifted",
        "11-environment-diff",
        "12-fleet-degraded",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
}
