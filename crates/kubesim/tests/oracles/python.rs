//! The official Python client: its everyday calls, and its own e2e suite.

use super::*;

#[tokio::test]
async fn the_official_python_client_creates_lists_and_watches() {
    let Some(python) = oracle("TENANTRY_TEST_PYTHON", "the Python client against kubesim") else {
        return;
    };
    let sim = sim_with(|_| {}).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client_check.py");
    let url = sim.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(url)
            .arg(common::TOKEN)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("python client: ok"));
}

/// `kubernetes-client/python`'s e2e suite (tag v36.0.3, vendored unchanged in
/// `tests/python-client-e2e`), run by pytest against kubesim behind a Rancher-style path
/// prefix with a bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_clients_own_e2e_suite_passes_but_for_exec_and_port_forward() {
    let Some(pytest) = oracle("TENANTRY_TEST_PYTEST", "the Python client's e2e suite") else {
        return;
    };
    let sim = sim_with(|_| {}).await;
    let (dir, kubeconfig) = scratch_with_kubeconfig("py-e2e", &sim.url(), Some(common::TOKEN));
    let (report, passed, failed) = pytest_e2e(
        pytest.clone(),
        kubeconfig.clone(),
        vec!["kubernetes/e2e_test".to_owned()],
    )
    .await;
    assert!(
        report.contains("Running test against"),
        "the suite did not reach kubesim (is kubernetes.e2e_test importable? ./scripts/test links it):\n{report}"
    );
    let unexpected: Vec<&String> = failed
        .iter()
        .filter(|f| !PYTHON_E2E_EXPECTED_FAILURES.iter().any(|(t, _)| t == f))
        .collect();
    let (races, unexpected): (Vec<&String>, Vec<&String>) = unexpected
        .into_iter()
        .partition(|f| PYTHON_E2E_CLIENT_RACES.iter().any(|(t, _)| t == f));
    assert!(
        unexpected.is_empty(),
        "unexpected failures {unexpected:?}:\n{report}"
    );
    if !races.is_empty() {
        eprintln!("the client raced in {races:?}; running them again once");
        let again = races
            .iter()
            .map(|t| format!("kubernetes/e2e_test/{t}"))
            .collect();
        let (rerun, _, still) = pytest_e2e(pytest, kubeconfig, again).await;
        assert!(
            still.is_empty() && rerun.contains(" passed"),
            "failed again: {still:?}:\n{rerun}\nfirst run:\n{report}"
        );
    }
    let now_passing: Vec<&str> = PYTHON_E2E_EXPECTED_FAILURES
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !failed.iter().any(|f| f == t))
        .collect();
    assert!(
        now_passing.is_empty(),
        "expected to fail but did not: {now_passing:?}:\n{report}"
    );
    assert!(passed.len() >= 38, "{} passed:\n{report}", passed.len());
    std::fs::remove_dir_all(&dir).ok();
}
