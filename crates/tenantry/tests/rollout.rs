//! `tenantry rollout` against `tenantry sim`: a new image to every client, canary first,
//! carried out with --wait; shown, listed; undone to the revisions before; a rollout
//! over cannot be paused.

mod common;

use serde_json::json;

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
