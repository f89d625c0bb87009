//! API semantics kubectl relies on, through kubectl: server-side apply's field
//! ownership, every container of a pod simulated, finalizers, `rollout undo`.

use super::*;

/// `kubectl apply --server-side` against fields another manager owns: a conflict naming
/// the manager and the field, taken over with `--force-conflicts`; fields dropped from the
/// manifest go; `managedFields` say who owns what.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_keeps_field_ownership_as_kubectl_expects() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl against kubesim") else {
        return;
    };
    let sim = sim_with(|c| c.token = None).await;
    let kc = Kubectl::new(kubectl, "kubectl-ssa", &sim);
    let dir = kc.dir.clone();
    let k = |args: &[&str]| kc.run(args);
    let ok = |args: &[&str]| kc.ok(args);
    let get = || -> Value {
        serde_json::from_str(&ok(&[
            "get",
            "deployment/web",
            "-o",
            "json",
            "--show-managed-fields",
        ]))
        .unwrap()
    };
    let manifest = |replicas: u32, labels: Value, env: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "labels": labels},
               "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "env": env}]}}}})
    };
    ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    let created = get();
    assert_eq!(
        created["metadata"]["managedFields"][0]["manager"],
        json!("kubectl-create")
    );
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        json!("Update")
    );

    // Another manager's replicas: a conflict, named as kubectl shows it.
    let env = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]);
    let first = write(
        &dir,
        "first.json",
        &manifest(5, json!({"app": "web", "tier": "front"}), env.clone()),
    );
    let refused = k(&["apply", "--server-side", "-f", &first, "--validate=false"]);
    let said = text(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("conflict with \"kubectl-create\"") && said.contains(".spec.replicas"),
        "{said}"
    );
    assert_eq!(
        get()["spec"]["replicas"],
        json!(2),
        "a refused apply changes nothing"
    );

    ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &first,
        "--validate=false",
    ]);
    let taken = get();
    assert_eq!(taken["spec"]["replicas"], json!(5));
    let entries = taken["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .clone();
    let applier = entries
        .iter()
        .find(|e| e["operation"] == "Apply")
        .expect("an Apply entry");
    assert_eq!(applier["manager"], json!("kubectl"));
    assert_eq!(applier["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    let creator = entries
        .iter()
        .find(|e| e["manager"] == "kubectl-create")
        .unwrap();
    assert!(
        creator["fieldsV1"]["f:spec"].get("f:replicas").is_none(),
        "{creator}"
    );

    // Dropped from the manifest: the label and the env var go.
    let second = write(
        &dir,
        "second.json",
        &manifest(
            5,
            json!({"app": "web"}),
            json!([{"name": "A", "value": "1"}]),
        ),
    );
    ok(&["apply", "--server-side", "-f", &second, "--validate=false"]);
    let now = get();
    assert_eq!(now["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        now["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );

    // `kubectl scale` takes replicas over; the next apply of another count conflicts again.
    ok(&["scale", "deployment/web", "--replicas=3"]);
    let third = write(
        &dir,
        "third.json",
        &manifest(
            4,
            json!({"app": "web"}),
            json!([{"name": "A", "value": "1"}]),
        ),
    );
    let refused = k(&["apply", "--server-side", "-f", &third, "--validate=false"]);
    assert!(
        !refused.status.success() && text(&refused).contains(".spec.replicas"),
        "{}",
        text(&refused)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Pods with several containers: every container has its status; the pod is ready when
/// all are (`2/2`), and a crashing sidecar is the one that restarts and keeps it unready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_container_of_a_pod_is_simulated_not_only_the_first() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl against kubesim") else {
        return;
    };
    let sim = sim_with(|c| {
        c.token = None;
        c.scenarios.crash_image = vec!["*crash*".into()];
    })
    .await;
    let kc = Kubectl::new(kubectl, "kubectl-multi", &sim);
    let dir = kc.dir.clone();
    let ok = |args: &[&str]| kc.ok(args);
    let deployment = |name: &str, sidecar: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [{"name": "lms", "image": "lms:1"},
                                                             {"name": "proxy", "image": sidecar}]}}}})
    };
    let both = write(&dir, "both.json", &deployment("both", "envoy:1"));
    ok(&["create", "-f", &both, "--validate=false"]);
    ok(&["rollout", "status", "deployment/both", "--timeout=60s"]);
    let pods = ok(&["get", "pods", "-l", "app=both", "--no-headers"]);
    assert!(pods.contains(" 2/2 ") && pods.contains("Running"), "{pods}");
    let names = ok(&[
        "get",
        "pods",
        "-l",
        "app=both",
        "-o",
        "jsonpath={.items[0].status.containerStatuses[*].name}",
    ]);
    assert_eq!(names, "lms proxy");

    let crashing = write(
        &dir,
        "crashing.json",
        &deployment("crashing", "crash-proxy:1"),
    );
    ok(&["create", "-f", &crashing, "--validate=false"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let pod: Value = loop {
        let list: Value =
            serde_json::from_str(&ok(&["get", "pods", "-l", "app=crashing", "-o", "json"]))
                .unwrap();
        let pod = list["items"][0].clone();
        let restarted = pod["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c["restartCount"].as_u64() > Some(0)));
        if restarted {
            break pod;
        }
        assert!(std::time::Instant::now() < deadline, "no restart: {pod}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let statuses = pod["status"]["containerStatuses"].as_array().unwrap();
    let by_name = |n: &str| statuses.iter().find(|c| c["name"] == n).unwrap();
    assert_eq!(by_name("lms")["restartCount"], json!(0), "{pod}");
    assert!(by_name("lms")["state"].get("running").is_some(), "{pod}");
    assert!(by_name("proxy")["restartCount"].as_u64() > Some(0), "{pod}");
    let ready = pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "ContainersReady")
        .unwrap();
    assert_eq!(ready["status"], json!("False"));
    assert!(
        ready["message"].as_str().unwrap().contains("[proxy]"),
        "{ready}"
    );
    // The crash is in the sidecar's log, not the app's.
    let pod_name = pod["metadata"]["name"].as_str().unwrap();
    let proxy_log = ok(&["logs", pod_name, "-c", "proxy", "--previous"]);
    assert!(proxy_log.contains("crashes on start"), "{proxy_log}");
    assert_eq!(ok(&["logs", pod_name, "-c", "lms"]), "");
    std::fs::remove_dir_all(&dir).ok();
}

/// A finalizer holds a deleted object (with its `deletionTimestamp`) until it is removed;
/// `kubectl rollout undo` (a JSON patch of the template) brings the previous image back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_hold_a_deleted_object_and_rollout_undo_goes_back() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl against kubesim") else {
        return;
    };
    let sim = sim_with(|c| c.token = None).await;
    let kc = Kubectl::new(kubectl, "kubectl-final", &sim);
    let held = write(
        &kc.dir,
        "held.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "held", "finalizers": ["example.com/cleanup"]}, "data": {"k": "v"}}),
    );
    kc.ok(&["create", "-f", &held, "--validate=false"]);
    kc.ok(&["delete", "configmap/held", "--wait=false"]);
    let since = kc.ok(&[
        "get",
        "configmap/held",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}",
    ]);
    assert!(
        since.starts_with("20"),
        "still there, being deleted: {since:?}"
    );
    kc.ok(&[
        "patch",
        "configmap/held",
        "--type",
        "json",
        "-p",
        r#"[{"op": "remove", "path": "/metadata/finalizers"}]"#,
    ]);
    let gone = kc.run(&["get", "configmap/held"]);
    assert!(
        !gone.status.success() && text(&gone).contains("NotFound"),
        "{}",
        text(&gone)
    );

    kc.ok(&["create", "deployment", "web", "--image=nginx:1.26"]);
    kc.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    kc.ok(&["set", "image", "deployment/web", "nginx=nginx:1.27"]);
    kc.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    kc.ok(&["rollout", "undo", "deployment/web"]);
    kc.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let image = kc.ok(&[
        "get",
        "deployment/web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.26");
}
