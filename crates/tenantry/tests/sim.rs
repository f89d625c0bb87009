//! `tenantry sim` as scripts start it: TLS with a CA written to the given directory, a
//! Rancher-style prefix, a token, one log line per request, running until killed.

#[path = "sim/commands.rs"]
mod commands;
mod common;
#[path = "sim/crashes.rs"]
mod crashes;
#[path = "sim/lifecycle.rs"]
mod lifecycle;

use std::io::Read;

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, http_get, http_merge_patch, start_sim};

/// Starts `tenantry serve` on a free port with `extra` flags; returns it and its URL
/// (read from stderr).
fn start_serve(cli: &common::Cli, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = cli
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("serving the web UI at ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned)
        })
        .expect("the server says where it listens");
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// Starts a deploy of C1 through `server`'s API and kills the server (SIGKILL) once the
/// setup Jobs exist: mid-deploy.
async fn deploy_then_kill(mut server: std::process::Child, url: &str, token: &str, port: u16) {
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/clients/C1/deploy"))
        .bearer_auth(token)
        .json(&json!({"namespace": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let start = Instant::now();
    loop {
        let jobs = http_get(port, "/apis/batch/v1/namespaces/default/jobs", "t0k");
        if jobs["items"].as_array().is_some_and(|j| j.len() == 2) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no Jobs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap(); // SIGKILL, mid-deploy.
    server.wait().unwrap();
}

/// C1's runs as `url` lists them, once the newest is no longer running (40 s at most).
async fn settled_runs(url: &str, token: &str) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let mut runs = serde_json::Value::Null;
    for _ in 0..400 {
        runs = http
            .get(format!("{url}/api/v1/runs?client=C1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = runs["items"].as_array().map_or(0, Vec::len);
        if items > 1 && runs["items"][0]["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// One set of objects in the cluster, and the secrets the first deploy made.
fn one_environment(cli: &common::Cli, port: u16, secrets_before: &str) {
    let jobs = http_get(port, "/apis/batch/v1/namespaces/default/jobs", "t0k");
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2);
    let deps = http_get(port, "/apis/apps/v1/namespaces/default/deployments", "t0k");
    assert_eq!(deps["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        cli.ok(&[
            "secret", "list", "C1", "-n", "default", "--reveal", "--output", "json"
        ]),
        secrets_before
    );
}

/// Runs `tenantry ARGS` and kills it (SIGKILL, no cleanup) as soon as `midway` holds;
/// panics if that never happens within 20 s or the command ended first.
fn kill_midway(cli: &common::Cli, args: &[&str], midway: impl Fn() -> bool) {
    let mut child = cli
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !midway() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "tenantry {args:?} ended before it could be killed midway"
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "tenantry {args:?} never got midway"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
