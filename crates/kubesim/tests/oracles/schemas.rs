//! Every kind of object kubesim returns, judged by the official OpenAPI schemas.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_object_kubesim_returns_passes_the_official_schemas() {
    let Some(validate) = oracle(
        "TENANTRY_TEST_KUBERNETES_VALIDATE",
        "kubernetes-validate of kubesim's objects",
    ) else {
        return;
    };
    let sim = sim_with(|c| c.scenarios.crash_image = vec!["*crash*".into()]).await;
    let api = Api::new(&sim);
    let ns = "/api/v1/namespaces/default";
    api.post(&format!("{ns}/configmaps"), &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"A": "1"}})).await;
    api.post(&format!("{ns}/secrets"), &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "data": {"k": "dg=="}})).await;
    api.post(&format!("{ns}/services"), &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 8080}], "selector": {"app": "w"}}})).await;
    api.post("/apis/networking.k8s.io/v1/namespaces/default/ingresses", &json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"},
        "spec": {"rules": [{"host": "a.test", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "svc", "port": {"number": 8080}}}}]}}]}})).await;
    api.post("/apis/apps/v1/namespaces/default/deployments", &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1", "ports": [{"containerPort": 80, "name": "http"}]}]}}}})).await;
    api.post("/apis/apps/v1/namespaces/default/deployments", &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "crash"},
        "spec": {"selector": {"matchLabels": {"app": "c"}}, "template": {"metadata": {"labels": {"app": "c"}}, "spec": {"containers": [{"name": "c", "image": "crash:1"}]}}}})).await;
    api.post("/apis/batch/v1/namespaces/default/jobs", &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}})).await;
    api.wait_for(
        "/apis/apps/v1/namespaces/default/deployments/web",
        "ready",
        |d| d.pointer("/status/readyReplicas").is_some(),
    )
    .await;
    api.wait_for(
        "/apis/batch/v1/namespaces/default/jobs/job",
        "complete",
        |j| j.pointer("/status/succeeded").is_some(),
    )
    .await;
    api.wait_for(&format!("{ns}/pods?labelSelector=app%3Dc"), "crash", |l| {
        l.pointer("/items/0/status/containerStatuses/0/restartCount")
            .and_then(Value::as_i64)
            >= Some(1)
    })
    .await;

    let dir = std::env::temp_dir().join(format!("kubesim-schemas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    let kinds = [
        ("v1", "Namespace", "/api/v1/namespaces"),
        ("v1", "ConfigMap", "/api/v1/namespaces/default/configmaps"),
        ("v1", "Secret", "/api/v1/namespaces/default/secrets"),
        ("v1", "Service", "/api/v1/namespaces/default/services"),
        ("v1", "Pod", "/api/v1/namespaces/default/pods"),
        ("v1", "Event", "/api/v1/namespaces/default/events"),
        (
            "apps/v1",
            "Deployment",
            "/apis/apps/v1/namespaces/default/deployments",
        ),
        (
            "apps/v1",
            "ReplicaSet",
            "/apis/apps/v1/namespaces/default/replicasets",
        ),
        ("batch/v1", "Job", "/apis/batch/v1/namespaces/default/jobs"),
        (
            "networking.k8s.io/v1",
            "Ingress",
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
        ),
    ];
    for (av, kind, path) in kinds {
        let (_, list) = api.get(path).await;
        let items = list["items"].as_array().unwrap();
        assert!(!items.is_empty(), "no {kind}");
        for (i, item) in items.iter().enumerate() {
            let name = s(item, "/metadata/name").to_owned();
            let (_, one) = api.get(&format!("{path}/{name}")).await;
            assert_eq!(
                (one["apiVersion"].as_str(), one["kind"].as_str()),
                (Some(av), Some(kind))
            );
            files.push(write(&dir, &format!("{kind}-{i}.json"), &one));
        }
    }
    let out = tokio::task::block_in_place(|| {
        Command::new(&validate)
            .args(["--strict", "--quiet", "-k", "1.33.0"])
            .args(&files)
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}
