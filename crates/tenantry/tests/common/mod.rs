//! The CLI test harness: runs the real `tenantry` binary against a test catalog.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tenantry_testkit::{TEST_MASTER_KEY, TestDb};

pub const BIN: &str = env!("CARGO_BIN_EXE_tenantry");

/// Runs `tenantry ARGS` against a test catalog, with trace logging captured.
pub struct Cli<'a> {
    pub db: &'a TestDb,
    pub key: String,
}

impl<'a> Cli<'a> {
    pub fn new(db: &'a TestDb) -> Self {
        Self {
            db,
            key: TEST_MASTER_KEY.to_owned(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("TENANTRY_DATABASE_URL", &self.db.url)
            .env("TENANTRY_MASTER_KEY", &self.key)
            .env("TENANTRY_LOG", "trace")
            .env_remove("TENANTRY_MASTER_KEY_FILE")
            .env_remove("TENANTRY_CLUSTER_TOKEN")
            .env("XDG_CONFIG_HOME", self.db.dir().join("config"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("run tenantry");
        self.keep_log(&out);
        out
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        self.keep_log(&out);
        out
    }

    /// An API token with `role`, owned by an admin `token-owner` made for it.
    pub fn api_token(&self, name: &str, role: &str) -> String {
        if !self.ok(&["user", "list"]).contains("token-owner") {
            let out = self.run_stdin(
                &["user", "add", "token-owner", "--admin", "--password-stdin"],
                "a long owner passphrase",
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.ok(&[
            "user",
            "token",
            name,
            "--role",
            role,
            "--owner",
            "token-owner",
        ])
        .trim()
        .to_owned()
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tenantry {args:?} failed ({:?}):\n{}",
            self.db.kind,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    fn keep_log(&self, out: &Output) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.db.dir().join("all-output.log"))
            .unwrap();
        f.write_all(&out.stdout).unwrap();
        f.write_all(&out.stderr).unwrap();
    }

    pub fn all_output(&self) -> String {
        std::fs::read_to_string(self.db.dir().join("all-output.log")).unwrap_or_default()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Values every default template needs, for a namespace in tests.
pub const READY_PARAMS: &[(&str, &str)] = &[
    ("clickhouse-host", "ch"),
    ("clickhouse-admin-user", "a"),
    ("clickhouse-admin-password", "p"),
    ("postgres-host", "pg"),
    ("postgres-admin-password", "p"),
    ("sms4b-token", "s"),
    ("public-dns", "lms.test"),
    ("docker-image", "registry.test/lms:1"),
    ("nfs-server", "192.0.2.1"),
];

impl Cli<'_> {
    /// Adds namespace `default` at `url` with every parameter set, and client C1.
    pub fn ready_to_deploy(&self, url: &str, token: &str) {
        self.ok(&[
            "namespace",
            "add",
            "default",
            "--api-root-url",
            url,
            "--token",
            token,
        ]);
        for (k, v) in READY_PARAMS {
            self.ok(&["param", "set", k, v, "-n", "default"]);
        }
        self.ok(&["client", "create", "--name", "Acme"]);
    }
}

/// `tenantry demo` running in the background: its web UI address and admin password.
pub struct Demo {
    pub child: std::process::Child,
    pub url: String,
    pub password: String,
    pub output: Vec<String>,
}

impl Demo {
    /// Starts `tenantry demo --listen 127.0.0.1:0 --dir DIR` and reads what it prints.
    pub fn start(dir: &std::path::Path) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(BIN)
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--dir",
                dir.to_str().unwrap(),
            ])
            .env_remove("TENANTRY_DATABASE_URL")
            .env_remove("TENANTRY_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut output = Vec::new();
        let (mut url, mut password) = (String::new(), String::new());
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(u) = line.trim().strip_prefix("web UI:") {
                url = u.trim().to_owned();
            }
            if let Some(p) = line.trim().strip_prefix("log in:") {
                password = p.trim().trim_start_matches("admin /").trim().to_owned();
            }
            let last = line.trim().starts_with("stop:");
            output.push(line);
            if last {
                break;
            }
        }
        assert!(
            !url.is_empty() && !password.is_empty(),
            "demo printed: {output:?}"
        );
        // Keep draining stdout so the demo never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let demo = Self {
            child,
            url,
            password,
            output,
        };
        demo.wait_healthy();
        demo
    }

    fn wait_healthy(&self) {
        let addr = self.url.trim_start_matches("http://").to_owned();
        for _ in 0..200 {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                use std::io::Read;
                let _ = write!(s, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n");
                let mut r = String::new();
                let _ = s.read_to_string(&mut r);
                if r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the demo at {} did not become healthy", self.url);
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tenantry sim` on a free port with token `t0k` and `extra` flags, and waits
/// until it accepts connections.
pub fn start_sim(extra: &[&str]) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--token",
            "t0k",
        ])
        .args(extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "tenantry sim did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

/// A plain HTTP GET against the simulator, returning the JSON body.
pub fn http_get(port: u16, path: &str, token: &str) -> serde_json::Value {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// A JSON merge patch against the simulator, as `kubectl patch --type merge` sends it.
pub fn http_merge_patch(port: u16, path: &str, token: &str, patch: &serde_json::Value) {
    http_send(
        port,
        "PATCH",
        path,
        "application/merge-patch+json",
        token,
        patch,
        "200",
    );
}

/// Creates an object in the simulator, as `kubectl create -f` does.
pub fn http_create(port: u16, collection: &str, token: &str, body: &serde_json::Value) {
    http_send(
        port,
        "POST",
        collection,
        "application/json",
        token,
        body,
        "201",
    );
}

fn http_send(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    token: &str,
    body: &serde_json::Value,
    code: &str,
) {
    use std::io::Write;
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(
        raw.starts_with(&format!("HTTP/1.1 {code}")),
        "{method} {path}: {raw}"
    );
}
