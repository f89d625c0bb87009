//! Pods fail the ways real pods fail when a scenario says so, with the kubelet's reasons,
//! messages and Events, and recover when the cause goes away.

mod common;

use common::{Api, container_state, s, sim, sim_with};
use kubesim::{FaultConfig, Scenarios};
use serde_json::{Value, json};

fn pod(name: &str, image: &str, extra: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": image}]}});
    if let Some(m) = extra.as_object() {
        for (k, v) in m {
            if k == "envFrom" {
                p["spec"]["containers"][0]["envFrom"] = v.clone();
            } else {
                p["spec"][k] = v.clone();
            }
        }
    }
    p
}

const PODS: &str = "/api/v1/namespaces/default/pods";

async fn events_for(api: &Api, pod: &str) -> Vec<(String, String)> {
    let (_, ev) = api
        .get(&format!(
            "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D{pod}"
        ))
        .await;
    ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(e, "/reason").to_owned(), s(e, "/message").to_owned()))
        .collect()
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_goes_err_image_pull_then_back_off() {
    let sim =
        sim_with(|c| c.scenarios.fail_image_pull = vec!["registry.test/missing*".into()]).await;
    let api = Api::new(&sim);
    api.post(PODS, &pod("p", "registry.test/missing:1", json!({})))
        .await;
    let p = api
        .wait_for(&format!("{PODS}/p"), "ErrImagePull", |p| {
            container_state(p).1 == "ErrImagePull"
        })
        .await;
    let (state, _, message) = container_state(&p);
    assert_eq!(state, "waiting");
    assert!(message.contains("not found"), "{message}");
    api.wait_for(&format!("{PODS}/p"), "ImagePullBackOff", |p| {
        container_state(p).1 == "ImagePullBackOff"
    })
    .await;
    let ev = events_for(&api, "p").await;
    assert!(
        ev.iter()
            .any(|(r, m)| r == "Failed" && m.contains("Failed to pull image")),
        "{ev:?}"
    );
    assert!(ev.iter().any(|(r, _)| r == "BackOff"), "{ev:?}");
}

#[tokio::test]
async fn a_crashing_image_loops_with_rising_restarts_and_a_log_line() {
    let sim = sim_with(|c| c.scenarios.crash_image = vec!["*crash*".into()]).await;
    let api = Api::new(&sim);
    api.post(PODS, &pod("p", "registry.test/crash:1", json!({})))
        .await;
    let p = api
        .wait_for(&format!("{PODS}/p"), "CrashLoopBackOff", |p| {
            container_state(p).1 == "CrashLoopBackOff"
                && p.pointer("/status/containerStatuses/0/restartCount")
                    .and_then(Value::as_i64)
                    >= Some(2)
        })
        .await;
    assert_eq!(
        p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        1
    );
    // The current log: the crashed instance's while it waits to restart, or the new
    // instance's (empty so far) once it has.
    let (_, log) = api.get(&format!("{PODS}/p/log")).await;
    let log = log.as_str().unwrap();
    assert!(
        log.contains("panic: kubesim: image registry.test/crash:1 crashes") || log.is_empty(),
        "{log}"
    );
    // `previous` reads the instance that crashed last, as `kubectl logs --previous` does.
    let (code, previous) = api.get(&format!("{PODS}/p/log?previous=true")).await;
    assert_eq!(code, 200, "{previous}");
    assert_eq!(
        previous.as_str().unwrap().matches("panic: kubesim").count(),
        1,
        "one instance's log, not all of them: {previous}"
    );
    // A pod that never restarted has no previous log.
    api.post(PODS, &pod("calm", "registry.test/app:1", json!({})))
        .await;
    api.wait_for(&format!("{PODS}/calm"), "running", |p| {
        container_state(p).0 == "running"
    })
    .await;
    let (code, err) = api.get(&format!("{PODS}/calm/log?previous=true")).await;
    assert_eq!(code, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("previous terminated container \"c\" in pod \"calm\" not found"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_config_map_or_secret_blocks_the_pod_until_it_appears() {
    let sim = sim().await;
    let api = Api::new(&sim);
    api.post(
        PODS,
        &pod(
            "needs-cm",
            "app:1",
            json!({"envFrom": [{"configMapRef": {"name": "lms-config-c1"}}]}),
        ),
    )
    .await;
    api.post(
        PODS,
        &pod(
            "needs-secret",
            "app:1",
            json!({"volumes": [{"name": "key", "secret": {"secretName": "rsa-secret-c1"}}]}),
        ),
    )
    .await;
    let p = api
        .wait_for(&format!("{PODS}/needs-cm"), "config error", |p| {
            container_state(p).1 == "CreateContainerConfigError"
        })
        .await;
    assert_eq!(
        container_state(&p).2,
        "configmap \"lms-config-c1\" not found"
    );
    api.wait_for(&format!("{PODS}/needs-secret"), "FailedMount", |_| true)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let p = api.get(&format!("{PODS}/needs-secret")).await.1;
    assert_eq!(container_state(&p).1, "ContainerCreating");
    let ev = events_for(&api, "needs-secret").await;
    assert!(
        ev.iter()
            .any(|(r, m)| r == "FailedMount" && m.contains("secret \"rsa-secret-c1\" not found")),
        "{ev:?}"
    );

    api.post(
        "/api/v1/namespaces/default/configmaps",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lms-config-c1"}}),
    )
    .await;
    api.post("/api/v1/namespaces/default/secrets", &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rsa-secret-c1"}, "data": {"rsa_key": "a2V5"}})).await;
    for name in ["needs-cm", "needs-secret"] {
        api.wait_for(&format!("{PODS}/{name}"), "ready", |p| {
            p["status"]["containerStatuses"][0]["ready"] == true
        })
        .await;
    }
}

#[tokio::test]
async fn a_failing_job_command_fails_the_job_after_its_backoff_limit() {
    let sim = sim_with(|c| c.scenarios.fail_job_command = vec!["*psql*".into()]).await;
    let api = Api::new(&sim);
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pg"}, "spec": {"backoffLimit": 1, "template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "postgres:latest", "command": ["/bin/bash", "-c"], "args": ["psql -c 'select 1'"]}]}}}});
    api.post("/apis/batch/v1/namespaces/default/jobs", &job)
        .await;
    let j = api
        .wait_for("/apis/batch/v1/namespaces/default/jobs/pg", "failed", |j| {
            j["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Failed"))
        })
        .await;
    let failed = j["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap()
        .clone();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(j["status"]["failed"], 2);
    let pods = api
        .get("/api/v1/namespaces/default/pods?labelSelector=job-name%3Dpg")
        .await
        .1;
    let name = s(&pods["items"][0], "/metadata/name").to_owned();
    let (_, log) = api.get(&format!("{PODS}/{name}/log")).await;
    assert!(
        log.as_str().unwrap().contains("ERROR: setup failed"),
        "{log}"
    );
}

#[tokio::test]
async fn scenarios_change_at_run_time_through_the_admin_endpoint() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let s = Scenarios {
        crash_image: vec!["x*".into()],
        ..Scenarios::default()
    };
    let (code, back) = api
        .call(
            "PUT",
            "/kubesim/scenarios",
            Some(&serde_json::to_value(&s).unwrap()),
            "application/json",
        )
        .await;
    assert_eq!((code, back["crash_image"].clone()), (200, json!(["x*"])));
    assert_eq!(sim.scenarios().crash_image, ["x*"]);
}

#[tokio::test]
async fn injected_faults_are_the_same_for_the_same_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = sim().await;
        sim.set_faults(FaultConfig {
            seed: 42,
            error_rate: 0.3,
            throttle_rate: 0.2,
            retry_after_seconds: 3,
            ..FaultConfig::default()
        });
        let api = Api::new(&sim);
        let mut codes = Vec::new();
        for _ in 0..30 {
            let resp = api
                .http
                .get(format!("{}/api/v1/namespaces", api.base))
                .bearer_auth(common::TOKEN)
                .send()
                .await
                .unwrap();
            if resp.status() == 429 {
                assert_eq!(resp.headers()["retry-after"], "3");
            }
            codes.push(resp.status().as_u16());
        }
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1]);
    for code in [200, 429] {
        assert!(runs[0].contains(&code), "{:?}", runs[0]);
    }
    assert!(
        runs[0].iter().any(|c| *c == 500 || *c == 503),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn a_rollout_that_never_gets_ready_exceeds_its_progress_deadline() {
    let sim = sim_with(|c| c.scenarios.fail_image_pull = vec!["missing/*".into()]).await;
    let api = Api::new(&sim);
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "stuck"},
        "spec": {"progressDeadlineSeconds": 20, "selector": {"matchLabels": {"app": "s"}}, "template": {"metadata": {"labels": {"app": "s"}},
        "spec": {"containers": [{"name": "c", "image": "missing/app:1"}]}}}});
    api.post("/apis/apps/v1/namespaces/default/deployments", &dep)
        .await;
    let d = api
        .wait_for(
            "/apis/apps/v1/namespaces/default/deployments/stuck",
            "deadline",
            |d| {
                d["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["reason"] == "ProgressDeadlineExceeded"))
            },
        )
        .await;
    let p = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap()
        .clone();
    assert_eq!(p["status"], "False");
    assert!(
        s(&p, "/message").ends_with("has timed out progressing."),
        "{p}"
    );
}

#[tokio::test]
async fn a_job_past_its_active_deadline_fails_with_deadline_exceeded() {
    let sim = sim_with(|c| c.timings.job_run = std::time::Duration::from_secs(60)).await;
    let api = Api::new(&sim);
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "slow"}, "spec": {"activeDeadlineSeconds": 10, "template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}}});
    api.post("/apis/batch/v1/namespaces/default/jobs", &job)
        .await;
    let j = api
        .wait_for(
            "/apis/batch/v1/namespaces/default/jobs/slow",
            "deadline",
            |j| {
                j["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Failed"))
            },
        )
        .await;
    assert!(
        j["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"] == "DeadlineExceeded")
    );
}

#[tokio::test]
async fn a_dropped_connection_is_an_error_without_an_answer() {
    let sim = sim().await;
    sim.set_faults(FaultConfig {
        drop_rate: 1.0,
        ..FaultConfig::default()
    });
    let api = Api::new(&sim);
    let result = api
        .http
        .get(format!("{}/api/v1/namespaces", api.base))
        .bearer_auth(common::TOKEN)
        .send()
        .await;
    let failed = match result {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "a dropped request got a complete answer");
}
