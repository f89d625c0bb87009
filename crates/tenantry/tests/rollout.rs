//! `tenantry rollout` against `tenantry sim`: a new image to every client, canary first,
//! carried out with --wait; shown, listed; undone to the revisions before; a rollout
//! over cannot be paused.

mod common;

use serde_json::{Value, json};

use common::{start_sim, stderr};

#[test]
fn a_new_image_rolls_out_canary_first_and_is_undone() {
    let (mut sim, port) = start_sim(&["--fast"]);
    let db = tenantry_testkit::TestDb::sqlite();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    cli.ok(&["client", "create", "--name", "Beta"]);
    for c in ["C1", "C2"] {
        cli.ok(&["deploy", c, "-n", "default", "--poll", "50ms"]);
    }
    cli.ok(&[
        "param",
        "set",
        "docker-image",
        "registry.test/lms:2",
        "-n",
        "default",
    ]);
    // A webhook told of finished rollouts (sent by a server; queued here).
    let out = cli.run(&["webhook", "add", "ftp://x", "--events", "run.failed"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = cli.run(&[
        "webhook",
        "add",
        "http://127.0.0.1:9/hook",
        "--events",
        "run.fail",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run.failed, rollout.halted"),
        "{}",
        stderr(&out)
    );
    cli.ok(&[
        "webhook",
        "add",
        "http://127.0.0.1:9/hook",
        "--events",
        "rollout.finished,rollout.halted",
    ]);
    assert_eq!(
        cli.json(&["webhook", "list"])[0]["events"],
        json!(["rollout.finished", "rollout.halted"])
    );
    // Changed in place: what is not given stays; a secret from stdin signs, --unsign stops.
    let out = cli.run_stdin(
        &[
            "webhook",
            "edit",
            "1",
            "--format",
            "slack",
            "--secret-stdin",
        ],
        "s3cret\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let hook = &cli.json(&["webhook", "list"])[0];
    assert_eq!(
        (hook["format"].clone(), hook["signed"].clone()),
        (json!("slack"), json!(true))
    );
    assert_eq!(hook["url"], json!("http://127.0.0.1:9/hook"), "kept");
    cli.ok(&["webhook", "edit", "1", "--format", "json", "--unsign"]);
    assert_eq!(cli.json(&["webhook", "list"])[0]["signed"], json!(false));
    let out = cli.run(&["webhook", "edit", "7", "--unsign"]);
    assert!(
        !out.status.success() && stderr(&out).contains("no webhook 7"),
        "{}",
        stderr(&out)
    );

    let out = cli.run(&["rollout", "start", "-n", "default", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--all"), "{}", stderr(&out));
    let out = cli.run(&["rollout", "start", "-n", "default", "--all"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal, no --yes: {}",
        stderr(&out)
    );

    let text = cli.ok(&[
        "rollout",
        "start",
        "-n",
        "default",
        "--all",
        "--canary-clients",
        "C2",
        "--batch",
        "1",
        "--yes",
        "--wait",
    ]);
    for line in [
        "rollout of default: 2 client(s) change, 0 up to date (skipped)",
        "canary first: C2 (then 0s of soak); then at most 1 at once; halts after 1 failure(s)",
        "rollout 1 started",
        "rollout 1 of default: succeeded",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.contains("registry.test/lms:2"),
        "the diff shows the image:\n{text}"
    );
    let shown = cli.json(&["rollout", "show", "1"]);
    assert_eq!(shown["status"], "succeeded", "{shown}");
    let clients = shown["clients"].as_array().unwrap();
    assert_eq!(clients[0]["client"], "C2", "the canary first: {shown}");
    assert_eq!(clients[0]["canary"], true);
    assert!(
        clients.iter().all(|c| c["status"] == "succeeded"),
        "{shown}"
    );
    assert_eq!(cli.json(&["rollout", "list"]).as_array().unwrap().len(), 1);
    let queued = cli.json(&["webhook", "deliveries"]);
    assert_eq!(queued[0]["event"], "rollout.finished", "{queued}");
    assert_eq!(
        queued[0]["status"], "pending",
        "no server sent it: {queued}"
    );
    let out = cli.run(&["rollout", "pause", "1"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("rollout 1 is succeeded"),
        "{}",
        stderr(&out)
    );

    // Up to date now: a second rollout has nothing to do.
    let out = cli.run(&["rollout", "start", "-n", "default", "--all", "--yes"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("up to date"), "{}", stderr(&out));

    let undone = cli.ok(&["rollout", "undo", "1", "--yes"]);
    assert!(
        undone.contains("C1: rolled back (succeeded")
            && undone.contains("C2: rolled back (succeeded"),
        "{undone}"
    );
    let rows = cli.json(&["status"]);
    for r in rows.as_array().unwrap() {
        assert_eq!(r["image"], json!("registry.test/lms:1"), "{rows}");
    }
    sim.kill().unwrap();
}

/// The catalog two servers would share: PostgreSQL when configured, else an SQLite
/// file (several processes share it too).
fn shared_catalog() -> tenantry_testkit::TestDb {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(tenantry_testkit::TestDb::postgres(
        "two drivers of one rollout",
    ))
    .unwrap_or_else(tenantry_testkit::TestDb::sqlite)
}

#[test]
fn two_drivers_share_a_rollout_and_one_killed_mid_deploy_is_taken_over_once() {
    // Deploys slow enough (30 ms a request) to kill a driver in the middle of one.
    let (sim, port) = start_sim(&["--fast", "--latency-ms", "30"]);
    let _sim = KilledOnDrop(sim);
    let db = shared_catalog();
    let cli = common::Cli::new(&db);
    cli.ready_to_deploy(&format!("http://127.0.0.1:{port}"), "t0k");
    let n = 8;
    for i in 2..=n {
        cli.ok(&["client", "create", "--name", &format!("Client {i}")]);
    }
    for i in 1..=n {
        cli.ok(&[
            "deploy",
            &format!("C{i}"),
            "-n",
            "default",
            "--poll",
            "50ms",
        ]);
    }
    cli.ok(&[
        "param",
        "set",
        "docker-image",
        "registry.test/lms:2",
        "-n",
        "default",
    ]);
    let text = cli.ok(&[
        "rollout", "start", "-n", "default", "--all", "--batch", "2", "--yes",
    ]);
    assert!(text.contains("rollout 1 started"), "{text}");

    // Two drivers at once, as two servers on one catalog.
    let spawn = || {
        cli.command(&["rollout", "drive", "1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut a = KilledOnDrop(spawn());
    let mut b = KilledOnDrop(spawn());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    let pid_a = a.0.id();
    let name_a = format!("{host}:{pid_a}:cli");
    let signal = |sig: &str| {
        let sent = std::process::Command::new("kill")
            .args([sig, &pid_a.to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {sig}");
    };
    // Kill a (-9) while a deploy it started is under way, once a client is done. A deploy
    // seen running may end before a kill lands, so a is first stopped (SIGSTOP), and
    // killed only if the run of its deploy is still running then (the rollout's row may
    // lag its run: a run a finished is only marked done, not taken over); otherwise it
    // goes on (SIGCONT) and is looked at again.
    let under_way = |shown: &Value| {
        let clients = shown["clients"].as_array().unwrap();
        let done = clients
            .iter()
            .filter(|c| c["status"] == "succeeded")
            .count();
        let mid = clients.iter().find(|c| {
            c["status"] == "running" && c["driver"] == json!(name_a) && c["run"].is_i64()
        });
        mid.filter(|_| done >= 1).map(|c| {
            (
                c["client"].as_str().unwrap().to_owned(),
                done,
                c["run"].as_i64().unwrap(),
            )
        })
    };
    // A read while a is stopped may wait for a lock a holds (an SQLite catalog): if it
    // has not answered in 3 s, a goes on and this look does not count.
    let read_stopped = |args: &[&str]| -> Option<Value> {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        let child = cli
            .command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let out = match rx.recv_timeout(std::time::Duration::from_secs(3)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                signal("-CONT");
                let _ = rx.recv();
                return None;
            }
        };
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    };
    let started = std::time::Instant::now();
    let (killed_in, done_before) = loop {
        let shown = cli.json(&["rollout", "show", "1"]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "driver {name_a} never had a deploy under way: {shown}"
        );
        if under_way(&shown).is_some() {
            signal("-STOP");
            if let Some((client, done, run)) =
                read_stopped(&["rollout", "show", "1"]).and_then(|s| under_way(&s))
                && read_stopped(&["runs", "show", &run.to_string()])
                    .is_some_and(|r| r["run"]["status"] == "running")
            {
                a.0.kill().unwrap();
                a.0.wait().unwrap();
                break (client, done);
            }
            signal("-CONT");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(done_before < n, "killed before the end");

    // b carries it out, taking over a's deploy.
    let waited = std::time::Instant::now();
    let status = loop {
        if let Some(s) = b.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(120),
            "driver b did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "driver b: {status}");
    let shown = cli.json(&["rollout", "show", "1"]);
    assert_eq!(shown["status"], "succeeded", "{shown}");
    let clients = shown["clients"].as_array().unwrap();
    assert!(
        clients.iter().all(|c| c["status"] == "succeeded"),
        "{shown}"
    );
    let taken_over = clients
        .iter()
        .find(|c| c["client"] == json!(killed_in))
        .unwrap();
    // a was deploying it when killed; b took the deploy over.
    assert_eq!(
        taken_over["driver"],
        json!(format!("{host}:{}:cli", b.0.id())),
        "{killed_in} was taken over: {shown}"
    );
    // Each client deployed once by the rollout: its first deploy, then one revision.
    for i in 1..=n {
        let history = cli.json(&["history", &format!("C{i}"), "-n", "default"]);
        let images: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["image"].as_str().unwrap())
            .collect();
        assert_eq!(
            images,
            ["registry.test/lms:1", "registry.test/lms:2"],
            "C{i}: {history}"
        );
    }
}

/// A child process killed when the test ends, even on a failed assertion.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
