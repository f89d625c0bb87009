//! schemathesis (PyPI) fuzzes a running `tenantry serve` from its OpenAPI document
//! (generated from the handlers' types): no request may meet a server error; every
//! answer must match the document (status codes, content types, response schemas);
//! requests the document forbids must be refused; and requests it allows must not be
//! refused as malformed (`positive_data_acceptance`). What a schema cannot say (a phone
//! valid for its country, a strong password, …) the document names as string formats,
//! and `tests/schemathesis/tenantry_formats.py` teaches schemathesis to write valid
//! ones; `tests/schemathesis/schemathesis.toml` says which statuses count as accepted
//! and the four operations whose cross-field rules keep them out of that one check.
//! `./scripts/test` installs schemathesis and sets TENANTRY_TEST_SCHEMATHESIS.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::Cli;
use tenantry_testkit::TestDb;

#[test]
fn the_api_matches_its_openapi_document_and_never_fails_with_a_server_error() {
    let Ok(schemathesis) = std::env::var("TENANTRY_TEST_SCHEMATHESIS") else {
        tenantry_testkit::skipped("schemathesis (run ./scripts/test, which installs it)");
        return;
    };
    let db = TestDb::sqlite();
    let cli = Cli::new(&db);
    // Something to find: a namespace (its cluster unreachable) and a client.
    cli.ok(&[
        "namespace",
        "add",
        "default",
        "--api-root-url",
        "http://127.0.0.1:9/",
        "--token",
        "t",
    ]);
    cli.ok(&[
        "client",
        "create",
        "--name",
        "Acme",
        "--phone",
        "+7 916 555-12-34",
    ]);
    let token = cli.api_token("fuzz", "admin");
    let mut server = cli
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("serving the web UI at ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        })
        .expect("the server says where it listens");
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis");
    let out = Command::new(schemathesis)
        .args([
            "--config-file",
            &format!("{config}/schemathesis.toml"),
            "run",
            &format!("{url}/api/v1/openapi.json"),
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--no-color",
        ])
        .env("PYTHONPATH", config)
        .current_dir(db.dir())
        .output()
        .expect("schemathesis runs");
    let _ = server.kill();
    let _ = server.wait();
    let server_log = log.join().unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server_log.join("\n")
    );
    assert!(
        !server_log.iter().any(|l| l.contains("request failed")),
        "{server_log:?}"
    );
}
