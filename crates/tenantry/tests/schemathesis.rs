//! schemathesis (PyPI) fuzzes a running `tenantry serve` from its OpenAPI document: no
//! request may meet a server error, and every answer must match the document (status
//! codes, content types, response schemas), and requests the document forbids must be
//! refused. `./scripts/test` installs it and sets TENANTRY_TEST_SCHEMATHESIS.
//!
//! One check is left out: `positive_data_acceptance` (a schema-valid request must be
//! accepted). The document cannot say which strings are real phone numbers, e-mail
//! addresses or DNS names, so the server rightly refuses many schema-valid bodies with
//! a 400 that names the field.

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
    let out = Command::new(schemathesis)
        .args([
            "run",
            &format!("{url}/api/v1/openapi.json"),
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method",
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--no-color",
        ])
        .current_dir(db.dir())
        .output()
        .expect("schemathesis runs");
    // Reads take every value the document allows: a well-formed id or name is found
    // or not (404), never refused as malformed.
    let positive = Command::new(std::env::var("TENANTRY_TEST_SCHEMATHESIS").unwrap())
        .args([
            "run",
            &format!("{url}/api/v1/openapi.json"),
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--include-method",
            "GET",
            "--exclude-path",
            "/runs/{id}/events",
            "--checks",
            "positive_data_acceptance,not_a_server_error,status_code_conformance",
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--no-color",
        ])
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
        positive.status.success(),
        "schemathesis found reads refusing what the document allows:\n{}",
        String::from_utf8_lossy(&positive.stdout)
    );
    assert!(
        !server_log.iter().any(|l| l.contains("request failed")),
        "{server_log:?}"
    );
}
