//! A real kubectl against kubesim: create, apply, wait, roll out, delete; over TLS
//! with a CA and a token; everyday commands on workloads, nodes and patches; the
//! protobuf bodies `kubectl create` sends.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kubectl_creates_applies_waits_rolls_out_and_deletes() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl against kubesim") else {
        return;
    };
    // kubectl sends no bearer token over plain http, so this simulator lets everyone in.
    let sim = sim_with(|c| c.token = None).await;
    let (dir, kubeconfig) = scratch_with_kubeconfig("kubectl", &sim.url(), None);
    let k = |args: &[&str]| kubectl_with(&kubectl, &kubeconfig, args);
    let bad = write(
        &dir,
        "bad.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lms-config-C42"}}),
    );
    let out = k(&["create", "-f", &bad, "--validate=false"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("The ConfigMap \"lms-config-C42\" is invalid: metadata.name: Invalid value: \"lms-config-C42\": a lowercase RFC 1123 subdomain"),
        "{}",
        text(&out)
    );
    let job = write(
        &dir,
        "job.json",
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "setup"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox",
        "command": ["/bin/sh", "-c"], "args": ["echo \"hello $WHO\""], "env": [{"name": "WHO", "value": "kubectl"}]}]}}}}),
    );
    let out = k(&["create", "-f", &job, "--validate=false"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&[
        "wait",
        "--for=condition=complete",
        "job/setup",
        "--timeout=20s",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["logs", "job/setup"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello kubectl\n");
    // A JSON patch (RFC 6902), as `kubectl patch --type json` sends it.
    let out = k(&[
        "patch",
        "job/setup",
        "--type",
        "json",
        "-p",
        r#"[{"op": "add", "path": "/metadata/labels", "value": {"tier": "gold"}}]"#,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["get", "job/setup", "-o", "jsonpath={.metadata.labels.tier}"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "gold",
        "{}",
        text(&out)
    );
    let out = k(&[
        "patch",
        "job/setup",
        "--type",
        "json",
        "-p",
        r#"[{"op": "test", "path": "/metadata/labels/tier", "value": "silver"}]"#,
    ]);
    assert!(!out.status.success(), "a failed test op was accepted");

    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}}, "template": {"metadata": {"labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    let dep_file = write(&dir, "dep.json", &dep);
    let out = k(&[
        "apply",
        "--server-side",
        "-f",
        &dep_file,
        "--validate=false",
    ]);
    assert!(text(&out).contains("serverside-applied"), "{}", text(&out));
    let out = k(&["rollout", "status", "deployment/web", "--timeout=20s"]);
    assert!(
        out.status.success() && text(&out).contains("successfully rolled out"),
        "{}",
        text(&out)
    );
    let mut dep2 = dep.clone();
    dep2["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let dep_file = write(&dir, "dep.json", &dep2);
    let out = k(&[
        "apply",
        "--server-side",
        "-f",
        &dep_file,
        "--validate=false",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["rollout", "status", "deployment/web", "--timeout=20s"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["get", "pods", "-l", "app=w"]);
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        table.starts_with("NAME")
            && table.contains("READY")
            && table.contains("STATUS")
            && table.contains("Running"),
        "{table}"
    );
    let out = k(&["get", "deployment", "web", "-o", "json"]);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    assert_eq!(got["metadata"]["generation"], 2);
    // The /scale subresource, as kubectl scale uses it; replicas below zero are refused
    // in the API server's words.
    let out = k(&["scale", "deployment/web", "--replicas=3"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["rollout", "status", "deployment/web", "--timeout=20s"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}/{.status.readyReplicas}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3/3",
        "{}",
        text(&out)
    );
    let out = k(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ]);
    let scale: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            scale["kind"].as_str(),
            scale["spec"]["replicas"].as_i64(),
            scale["status"]["selector"].as_str()
        ),
        (Some("Scale"), Some(3), Some("app=w")),
        "{scale}"
    );
    // Server-side dry runs change nothing.
    let out = k(&[
        "scale",
        "deployment/web",
        "--replicas=5",
        "--dry-run=server",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["delete", "job/setup", "--dry-run=server"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3");
    let out = k(&["get", "job", "setup", "-o", "name"]);
    assert!(
        out.status.success(),
        "a dry-run delete deleted: {}",
        text(&out)
    );
    let out = k(&["scale", "deployment/web", "--replicas=0"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0");
    let out = k(&["delete", "deployment", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = k(&["get", "deployment", "web"]);
    assert!(
        text(&out).contains("NotFound") || text(&out).contains("not found"),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reaches_kubesim_over_tls_with_the_ca_and_a_bearer_token() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl over TLS") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("kubesim-tls-{}", std::process::id()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = kubesim::Config {
        token: Some("tls-token".into()),
        path_prefix: common::PREFIX.into(),
        ..kubesim::Config::default()
    };
    let sim = kubesim::spawn_tls(config, listener, &dir, &[]).unwrap();
    assert!(sim.url().starts_with("https://"));
    let ca = dir.join("ca.crt");
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let kubeconfig = |token: &str, with_ca: bool| {
        let ca_line = if with_ca {
            format!("    certificate-authority: {}\n", ca.display())
        } else {
            String::new()
        };
        let path = dir.join(format!("config-{token}-{with_ca}"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {}\n{ca_line}  name: sim\ncontexts:\n- context:\n    cluster: sim\n    user: u\n  name: sim\ncurrent-context: sim\nusers:\n- name: u\n  user:\n    token: {token}\n",
                sim.url()
            ),
        )
        .unwrap();
        path
    };
    let k = |cfg: PathBuf| {
        tokio::task::block_in_place(|| {
            Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(cfg)
                .args(["get", "namespaces", "-o", "name"])
                .output()
                .unwrap()
        })
    };
    let out = k(kubeconfig("tls-token", true));
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/default"));
    let out = k(kubeconfig("wrong", true));
    assert!(
        !out.status.success() && text(&out).contains("Unauthorized"),
        "{}",
        text(&out)
    );
    let out = k(kubeconfig("tls-token", false));
    assert!(
        !out.status.success() && text(&out).contains("certificate"),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Everyday kubectl commands on what kubesim v2 added: nodes, `get all`, DaemonSets and
/// StatefulSets rolling out, `scale rc`, `top`, `events --for`, a client-side apply that
/// drops a container, server-side dry runs, NodePorts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyday_kubectl_commands_on_workloads_nodes_and_patches() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl against kubesim") else {
        return;
    };
    let sim = sim_with(|c| c.token = None).await;
    let (dir, kubeconfig) = scratch_with_kubeconfig("kubectl2", &sim.url(), None);
    let k = |args: &[&str]| kubectl_with(&kubectl, &kubeconfig, args);
    // kubesim serves no OpenAPI document, so kubectl's client-side validation is off.
    let ok = |args: &[&str]| {
        let mut args = args.to_vec();
        if matches!(args[0], "apply" | "create") {
            args.push("--validate=false");
        }
        let out = k(&args);
        assert!(out.status.success(), "kubectl {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let template = |app: &str, image: &str| {
        json!({"metadata": {"labels": {"app": app}},
               "spec": {"containers": [{"name": "c", "image": image}]}})
    };

    // Nodes, with the columns `-o wide` shows.
    let nodes = ok(&["get", "nodes", "-o", "wide"]);
    assert!(
        nodes.contains("kubesim-node-1") && nodes.contains("Ready"),
        "{nodes}"
    );
    assert!(nodes.contains("10.0.0.10"), "{nodes}");

    // A DaemonSet puts one pod on each node; a StatefulSet makes web-0, web-1 in order.
    let ds = write(
        &dir,
        "ds.json",
        &json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent", "agent:1")}}),
    );
    let sts = write(
        &dir,
        "sts.json",
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                         "template": template("db", "postgres:17")}}),
    );
    ok(&["apply", "-f", &ds, "-f", &sts]);
    ok(&["rollout", "status", "ds/agent", "--timeout=30s"]);
    ok(&["rollout", "status", "sts/db", "--timeout=30s"]);
    let pods = ok(&["get", "pods", "-o", "wide", "--no-headers"]);
    assert!(pods.contains("db-0") && pods.contains("db-1"), "{pods}");
    for node in ["kubesim-node-1", "kubesim-node-2"] {
        assert!(
            pods.lines()
                .any(|l| l.starts_with("agent-") && l.contains(node)),
            "no agent pod on {node}:\n{pods}"
        );
    }
    let all = ok(&["get", "all"]);
    for what in ["daemonset.apps/agent", "statefulset.apps/db", "pod/db-0"] {
        assert!(all.contains(what), "`get all` lacks {what}:\n{all}");
    }

    // A ReplicationController, scaled through its /scale subresource.
    let rc = write(
        &dir,
        "rc.json",
        &json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old"},
                "spec": {"replicas": 1, "template": template("old", "nginx:1")}}),
    );
    ok(&["create", "-f", &rc]);
    ok(&["scale", "rc/old", "--replicas=3"]);
    ok(&[
        "wait",
        "--for=jsonpath={.status.readyReplicas}=3",
        "rc/old",
        "--timeout=30s",
    ]);

    // `top` reads metrics.k8s.io; `events --for` selects on involvedObject.apiVersion.
    let top = ok(&["top", "pod", "db-0"]);
    assert!(top.contains("db-0"), "{top}");
    let events = ok(&["events", "--for", "pod/db-0"]);
    assert!(events.contains("Scheduled"), "{events}");

    // Client-side apply of a Deployment that then drops a container: the directive
    // kubectl sends ($setElementOrder) is obeyed, not stored, and the container goes.
    let two = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
    let mut one = two.clone();
    one["spec"]["template"]["spec"]["containers"] = json!([{"name": "a", "image": "a:2"}]);
    ok(&["apply", "-f", &write(&dir, "two.json", &two)]);
    ok(&["apply", "-f", &write(&dir, "one.json", &one)]);
    let stored = ok(&["get", "deploy/web", "-o", "json"]);
    assert!(!stored.contains("$setElementOrder"), "{stored}");
    let stored: Value = serde_json::from_str(&stored).unwrap();
    let containers = &stored["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(1), "{containers}");
    assert_eq!(containers[0]["image"], "a:2");

    // Server-side dry runs change nothing and refuse what a real request would.
    ok(&["scale", "deploy/web", "--replicas=5", "--dry-run=server"]);
    assert_eq!(
        ok(&["get", "deploy/web", "-o", "jsonpath={.spec.replicas}"]),
        "1"
    );
    // (From files: kubectl sends `create configmap …` as protobuf, which kubesim refuses.)
    let exists = write(
        &dir,
        "cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup"}, "data": {"a": "1"}}),
    );
    ok(&["create", "-f", &exists, "--dry-run=server"]);
    assert!(
        !k(&["get", "cm/dup"]).status.success(),
        "a dry run created it"
    );
    ok(&["create", "-f", &exists]);
    let out = k(&[
        "create",
        "-f",
        &exists,
        "--dry-run=server",
        "--validate=false",
    ]);
    assert!(
        !out.status.success() && text(&out).contains("already exists"),
        "{}",
        text(&out)
    );

    // Logs: followed until the Job's container ends, tailed, stamped, cut to a byte limit.
    let talk = write(
        &dir,
        "talk.json",
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "talk"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox",
        "command": ["/bin/sh", "-c"], "args": ["echo one\necho two\necho three"]}]}}}}),
    );
    ok(&["create", "-f", &talk]);
    let followed = ok(&["logs", "-f", "job/talk", "--pod-running-timeout=20s"]);
    assert_eq!(followed, "one\ntwo\nthree\n");
    assert_eq!(ok(&["logs", "job/talk", "--tail=1"]), "three\n");
    assert_eq!(ok(&["logs", "job/talk", "--limit-bytes=6"]), "one\ntw");
    let stamped = ok(&["logs", "job/talk", "--timestamps"]);
    let first = stamped.lines().next().unwrap_or("");
    assert!(
        first.ends_with(" one") && first.starts_with("20"),
        "{stamped}"
    );

    // `auth can-i` answers as for a cluster-admin.
    assert_eq!(
        ok(&["auth", "can-i", "create", "deployments"]).trim(),
        "yes"
    );
    let rules = ok(&["auth", "can-i", "--list"]);
    assert!(rules.contains("*.*"), "{rules}");

    // A NodePort service gets its port from the node-port range.
    let np = write(
        &dir,
        "np.json",
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    );
    ok(&["create", "-f", &np]);
    let port: u32 = ok(&["get", "svc/np", "-o", "jsonpath={.spec.ports[0].nodePort}"])
        .parse()
        .unwrap();
    assert!((30000..=32767).contains(&port), "{port}");
    std::fs::remove_dir_all(&dir).ok();
}

/// kubectl ≥ 1.31 sends `create configmap|secret|deployment|…` as protobuf: kubesim reads
/// each body into the object it means (data, images, ports, rules), and a review too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_sends_protobuf_and_kubesim_reads_what_it_means() {
    let Some(kubectl) = oracle("TENANTRY_TEST_KUBECTL", "kubectl against kubesim") else {
        return;
    };
    let sim = sim_with(|c| c.token = None).await;
    let kc = Kubectl::new(kubectl, "kubectl-pb", &sim);
    let dir = kc.dir.clone();
    let k = |args: &[&str]| kc.run(args);
    let ok = |args: &[&str]| kc.ok(args);
    let get =
        |what: &str| -> Value { serde_json::from_str(&ok(&["get", what, "-o", "json"])).unwrap() };

    // The body really is protobuf (so this test would notice kubectl going back to JSON).
    let verbose = k(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=a=1",
        "--from-literal=b=two words",
        "-v=8",
    ]);
    let log = text(&verbose);
    assert!(verbose.status.success(), "{log}");
    assert!(
        log.contains("Content-Type: application/vnd.kubernetes.protobuf"),
        "{log}"
    );
    let cm = get("configmap/settings");
    assert_eq!(cm["data"], json!({"a": "1", "b": "two words"}));
    assert!(cm["metadata"].get("generation").is_none(), "{cm}");

    ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=password=s3cret",
    ]);
    assert_eq!(get("secret/creds")["data"]["password"], json!("czNjcmV0"));

    ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=3",
        "--port=8080",
    ]);
    let d = get("deployment/web");
    assert_eq!(d["spec"]["replicas"], json!(3));
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], json!("nginx:1.27"));
    assert_eq!(c["ports"][0]["containerPort"], json!(8080));
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    // Zero replicas is zero, not "unset".
    ok(&[
        "create",
        "deployment",
        "idle",
        "--image=nginx:1.27",
        "--replicas=0",
    ]);
    assert_eq!(get("deployment/idle")["spec"]["replicas"], json!(0));

    ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    let svc = get("service/web");
    assert_eq!(svc["spec"]["ports"][0]["port"], json!(80));
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], json!(8080));
    assert_eq!(svc["spec"]["type"], json!("ClusterIP"));

    ok(&[
        "create",
        "ingress",
        "web",
        "--rule=lms.example.test/*=web:80",
    ]);
    let ing = get("ingress/web");
    let rule = &ing["spec"]["rules"][0];
    assert_eq!(rule["host"], json!("lms.example.test"));
    assert_eq!(rule["http"]["paths"][0]["pathType"], json!("Prefix"));
    assert_eq!(
        rule["http"]["paths"][0]["backend"]["service"]["port"]["number"],
        json!(80)
    );

    ok(&["create", "job", "once", "--image=busybox", "--", "true"]);
    assert_eq!(
        get("job/once")["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["true"])
    );
    ok(&[
        "create",
        "cronjob",
        "nightly",
        "--image=busybox",
        "--schedule=0 3 * * *",
    ]);
    assert_eq!(
        get("cronjob/nightly")["spec"]["schedule"],
        json!("0 3 * * *")
    );
    ok(&["create", "namespace", "team-a"]);
    ok(&["create", "serviceaccount", "robot", "-n", "team-a"]);
    ok(&[
        "create",
        "role",
        "reader",
        "--verb=get,list",
        "--resource=pods",
        "-n",
        "team-a",
    ]);
    let role: Value =
        serde_json::from_str(&ok(&["get", "role/reader", "-n", "team-a", "-o", "json"])).unwrap();
    assert_eq!(role["rules"][0]["verbs"], json!(["get", "list"]));
    ok(&[
        "create",
        "rolebinding",
        "robot-reads",
        "--role=reader",
        "--serviceaccount=team-a:robot",
        "-n",
        "team-a",
    ]);

    // A name taken, and a body that is not what it says, are refused as the API server does.
    let again = k(&["create", "configmap", "settings", "--from-literal=a=1"]);
    assert!(
        !again.status.success() && text(&again).contains("already exists"),
        "{}",
        text(&again)
    );
    let garbage = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/namespaces/default/configmaps",
            sim.url()
        ))
        .header("content-type", "application/vnd.kubernetes.protobuf")
        .body(b"k8s\0\x0a\xff".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let status: Value = garbage.json().await.unwrap();
    assert!(
        status["message"].as_str().unwrap().contains("envelope"),
        "{status}"
    );

    // kubectl's access review arrives as protobuf too, and is answered with its spec.
    assert_eq!(
        ok(&["auth", "can-i", "delete", "secrets", "-n", "team-a"]).trim(),
        "yes"
    );
    std::fs::remove_dir_all(&dir).ok();
}
