//! The fleet through the server: the API and the pages show an environment's live
//! health, its drift after a hand edit with the field-level diff, filters find it, the
//! Sync button clears it; `/metrics` is parsed by the official Prometheus client's
//! parser.

use super::*;

/// A strategic merge patch straight to kubesim, as `kubectl scale` or `set image` do.
async fn by_hand(srv: &Server, path: &str, body: Value) {
    let r = http()
        .patch(format!("{}/{path}", srv.sim.url()))
        .bearer_auth("sim-token")
        .header("content-type", "application/strategic-merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Waits until `/api/v1/fleet` says `ok` of its first row.
async fn fleet_until(s: &Session, query: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (code, v) = s
            .api(reqwest::Method::GET, &format!("/fleet{query}"), None)
            .await;
        assert_eq!(code, 200, "{v}");
        if ok(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: the fleet says {last}");
}

#[tokio::test]
async fn the_fleet_shows_drift_made_by_hand_with_its_diff_and_a_sync_clears_it() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let op = login(&srv.url, "operator").await;
    let (_, c) = op.acme().await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (code, run) = op
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    assert_eq!(code, 202, "{run}");
    assert_eq!(
        wait_run(&op, run["id"].as_i64().unwrap()).await["status"],
        "succeeded"
    );
    let fleet = fleet_until(&op, "", "healthy", |v| {
        v["rows"][0]["health"] == "Healthy" && v["rows"][0]["revision"] == 1
    })
    .await;
    assert_eq!(fleet["counts"]["total"], 1);
    assert_eq!(fleet["rows"][0]["organisation"], "Acme");
    assert_eq!(fleet["namespaces"][0]["synced"], true, "{fleet}");
    // The home page is the fleet.
    let home = op
        .http
        .get(format!("{}/", srv.url))
        .header("cookie", &op.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        home.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/fleet")
    );

    // kubectl scale, and an image set by hand.
    by_hand(
        &srv,
        "apis/apps/v1/namespaces/demo/deployments/lms-deployment-c1",
        json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c1", "image": "registry.test/lms:hand"}]}}}}),
    )
    .await;
    let drifted = fleet_until(&op, "?drifted=true", "drift seen", |v| v["matched"] == 1).await;
    assert_eq!(drifted["rows"][0]["client"], id.as_str());
    assert_eq!(drifted["counts"]["drifted"], 1);
    let (_, none) = op
        .api(reqwest::Method::GET, "/fleet?health=degraded", None)
        .await;
    assert_eq!(none["matched"], 0, "{none}");
    let (_, found) = op.api(reqwest::Method::GET, "/fleet?q=acme", None).await;
    assert_eq!(found["matched"], 1, "{found}");
    let (code, bad) = op
        .api(reqwest::Method::GET, "/fleet?health=sideways", None)
        .await;
    assert_eq!(
        (code, bad["field"].as_str()),
        (400, Some("health")),
        "{bad}"
    );

    let (code, env) = op
        .api(
            reqwest::Method::GET,
            &format!("/clients/{id}/environments/demo"),
            None,
        )
        .await;
    assert_eq!(code, 200, "{env}");
    let dep = env["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    assert_eq!(dep["sync"], "drifted");
    let paths: Vec<&str> = dep["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["spec.replicas", "spec.template.spec.containers[0].image"]
    );
    // The ConfigMap holds the client's database passwords: masked in the view.
    let secrets = srv
        .catalog
        .client_secrets(
            tenantry_core::ClientId::parse(&id).unwrap(),
            &NamespaceName::parse("demo").unwrap(),
        )
        .await
        .unwrap();
    for s in &secrets {
        use secrecy::ExposeSecret;
        assert!(!env.to_string().contains(s.value.expose_secret()));
    }

    // The pages, in Russian: the fleet filtered to drifted, the environment with its
    // diff, pods, Events and logs, and the Sync button.
    let (code, page) = op.get("/fleet?drifted=true&lang=ru").await;
    assert_eq!(code, 200);
    assert!(page.contains(&format!("data-client=\"{id}\"")), "{page}");
    assert!(page.contains("Парк окружений") && page.contains("расходится"));
    let (code, page) = op
        .get(&format!("/clients/{id}/environments/demo?lang=ru"))
        .await;
    assert_eq!(code, 200, "{page}");
    for shown in [
        "spec.template.spec.containers[0].image",
        "registry.test/lms:hand",
        "Синхронизировать",
        "События",
        "Журналы",
        "data-pod=",
    ] {
        assert!(page.contains(shown), "no {shown:?} on the environment page");
    }
    // Sync: the same form as the card's deploy.
    let r = op
        .post(&format!("/clients/{id}/deploy"), &[("namespace", "demo")])
        .await;
    assert_eq!(r.status(), 303);
    fleet_until(&op, "", "in sync after the sync", |v| {
        v["rows"][0]["drifted"] == false && v["rows"][0]["revision"] == 2
    })
    .await;
    let (_, page) = op.get(&format!("/clients/{id}/environments/demo")).await;
    assert!(page.contains("The cluster is as the last revision."));
    // A client without an environment there: 404, in the API as on the page.
    let (code, _) = op
        .api(
            reqwest::Method::GET,
            "/clients/C999/environments/demo",
            None,
        )
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn metrics_parse_with_the_prometheus_parser_and_count_what_happened() {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let op = login(&srv.url, "operator").await;
    let (_, c) = op.acme().await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (_, run) = op
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    wait_run(&op, run["id"].as_i64().unwrap()).await;
    fleet_until(&op, "", "healthy", |v| v["rows"][0]["health"] == "Healthy").await;
    // Anonymous scrapes are refused; a viewer's API token reads it.
    let anon = http()
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .unwrap();
    assert!(
        anon.status() == 401 || anon.status() == 303,
        "{}",
        anon.status()
    );
    let (code, text) = op.get("/metrics").await;
    assert_eq!(code, 200);
    let Some(python) = std::env::var_os("TENANTRY_TEST_PYTHON") else {
        eprintln!(
            "SKIPPED the Prometheus parser: set TENANTRY_TEST_PYTHON (./scripts/test installs it)"
        );
        return;
    };
    // The official client's OpenMetrics parser reads every family; print them flat.
    let script = r#"
import sys, json
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<(String, Value, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    let value = |name: &str, labels: Value| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name && labels.as_object().unwrap().iter().all(|(k, v)| &l[k] == v)
            })
            .map(|s| s.2)
    };
    assert_eq!(
        value(
            "tenantry_environments",
            json!({"namespace": "demo", "health": "Healthy"})
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            "tenantry_environments_drifted",
            json!({"namespace": "demo"})
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            "tenantry_runs_total",
            json!({"kind": "deploy", "outcome": "succeeded"})
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            "tenantry_run_duration_seconds_count",
            json!({"kind": "deploy", "outcome": "succeeded"})
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            "tenantry_cluster_requests_total",
            json!({"method": "POST", "code": "2xx"})
        )
        .unwrap_or(0.0)
            >= 8.0,
        "{text}"
    );
    assert!(
        value(
            "tenantry_fleet_watch_reconnects_total",
            json!({"kind": "relisted"})
        )
        .is_some()
    );
}

#[tokio::test]
async fn self_heal_deploys_a_drifted_environment_once_audited_and_only_where_asked_and_drift_is_told_once()
 {
    let db = TestDb::sqlite();
    let srv = server(&db).await;
    let admin = login(&srv.url, "admin").await;
    let (_, c) = admin.acme().await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (_, run) = admin
        .api(
            reqwest::Method::POST,
            &format!("/clients/{id}/deploy"),
            Some(json!({"namespace": "demo"})),
        )
        .await;
    wait_run(&admin, run["id"].as_i64().unwrap()).await;
    fleet_until(&admin, "", "healthy", |v| {
        v["rows"][0]["health"] == "Healthy"
    })
    .await;
    let scale = |n: i64| {
        by_hand(
            &srv,
            "apis/apps/v1/namespaces/demo/deployments/lms-deployment-c1",
            json!({"spec": {"replicas": n}}),
        )
    };
    scale(3).await;
    fleet_until(&admin, "?drifted=true", "drift seen", |v| v["matched"] == 1).await;
    // The webhooks are told of it once (the catalog keeps the notice).
    assert_eq!(srv.state.tell_drift_once().await.unwrap(), 1);
    assert_eq!(srv.state.tell_drift_once().await.unwrap(), 0, "told once");
    // Off by default: drift is shown, not corrected.
    assert!(srv.state.heal_once().await.unwrap().is_empty());

    let (code, ns) = admin
        .api(
            reqwest::Method::PATCH,
            "/namespaces/demo",
            Some(json!({"self_heal": true})),
        )
        .await;
    assert_eq!((code, &ns["self_heal"]), (200, &json!(true)), "{ns}");
    let healed = srv.state.heal_once().await.unwrap();
    assert_eq!(healed.len(), 1, "one deploy started");
    assert_eq!(wait_run(&admin, healed[0]).await["status"], "succeeded");
    fleet_until(&admin, "", "healed", |v| {
        v["rows"][0]["drifted"] == false && v["rows"][0]["revision"] == 2
    })
    .await;
    let (_, audit) = admin.api(reqwest::Method::GET, "/audit", None).await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "self-heal")
        .unwrap_or_else(|| panic!("no self-heal in {audit}"));
    assert_eq!(entry["target"], format!("{id} in demo"));
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("Deployment lms-deployment-c1 (spec.replicas)"),
        "{entry}"
    );
    // In sync: nothing to do. Drifted again within the gap: left for later, and shown.
    assert!(srv.state.heal_once().await.unwrap().is_empty());
    scale(4).await;
    fleet_until(&admin, "?drifted=true", "drift seen again", |v| {
        v["matched"] == 1
    })
    .await;
    assert_eq!(
        srv.state.tell_drift_once().await.unwrap(),
        1,
        "a drift of the new revision is told"
    );
    assert!(
        srv.state.heal_once().await.unwrap().is_empty(),
        "rate-limited"
    );
}
