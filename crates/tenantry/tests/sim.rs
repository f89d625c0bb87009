//! `tenantry sim` as scripts start it: TLS with a CA written to the given directory, a
//! Rancher-style prefix, a token, one log line per request, running until killed.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::BIN;

#[test]
fn tenantry_sim_serves_kubectl_over_tls_and_logs_each_request() {
    let Some(kubectl) = std::env::var("TENANTRY_TEST_KUBECTL")
        .ok()
        .filter(|k| !k.is_empty())
    else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED tenantry sim with kubectl: set TENANTRY_TEST_KUBECTL"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sim = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--token",
            "sim-token",
            "--path-prefix",
            "/k8s/clusters/c-local",
        ])
        .args([
            "--tls-dir",
            dir.path().to_str().unwrap(),
            "--fail-image-pull",
            "missing/*",
            "--crash-image",
            "*crash*",
            "--fast",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ca = dir.path().join("ca.crt");
    let start = Instant::now();
    while !ca.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no ca.crt");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let out = Command::new(&kubectl)
        .args([
            "--server",
            &format!("https://127.0.0.1:{port}/k8s/clusters/c-local"),
            "--token",
            "sim-token",
        ])
        .args([
            "--certificate-authority",
            ca.to_str().unwrap(),
            "get",
            "namespaces",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    sim.kill().unwrap();
    let mut log = String::new();
    sim.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    sim.wait().unwrap();
    assert!(
        out.status.success(),
        "{}{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/default"));
    assert!(
        log.contains("GET /k8s/clusters/c-local/api/v1/namespaces"),
        "{log}"
    );
    assert!(
        log.lines()
            .filter(|l| l.contains("kubesim:") && l.contains(" 200 "))
            .count()
            >= 1,
        "{log}"
    );
}
