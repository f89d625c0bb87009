//! kubesim answers as the real API server does: status codes, `Status` bodies, server-set
//! metadata, selectors, paging, watches, conflicts, immutability, cascading deletes.

mod common;

use common::{Api, PREFIX, s, sim, sim_with};
use serde_json::{Value, json};

fn cm(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn errors_are_status_objects_with_the_real_reasons_and_codes() {
    let sim = sim().await;
    let mut api = Api::new(&sim);
    let (code, created) = api.post(CMS, &cm("lms-config-c42", json!({}))).await;
    assert_eq!(code, 201);
    assert!(!s(&created, "/metadata/uid").is_empty());
    assert!(
        s(&created, "/metadata/resourceVersion")
            .parse::<u64>()
            .is_ok()
    );
    assert!(s(&created, "/metadata/creationTimestamp").ends_with('Z'));

    let (code, e) = api.post(CMS, &cm("lms-config-c42", json!({}))).await;
    assert_eq!(
        (code, s(&e, "/reason"), s(&e, "/kind")),
        (409, "AlreadyExists", "Status")
    );
    assert_eq!(e["message"], "configmaps \"lms-config-c42\" already exists");
    assert_eq!(
        e["details"],
        json!({"name": "lms-config-c42", "kind": "configmaps"})
    );

    let (code, e) = api.get(&format!("{CMS}/nope")).await;
    assert_eq!(
        (code, s(&e, "/reason"), s(&e, "/message")),
        (404, "NotFound", "configmaps \"nope\" not found")
    );

    let (code, e) = api
        .post(CMS, &cm("lms-config-C42", json!({"app": "C42-lms"})))
        .await;
    assert_eq!(
        (code, s(&e, "/reason"), s(&e, "/status")),
        (422, "Invalid", "Failure")
    );
    assert!(s(&e, "/message").starts_with("ConfigMap \"lms-config-C42\" is invalid: metadata.name: Invalid value: \"lms-config-C42\": a lowercase RFC 1123 subdomain"));
    assert_eq!(e["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(
        e["details"]["causes"].as_array().unwrap().len(),
        1,
        "label value C42-lms is valid"
    );

    let bad_label = cm("x", json!({"app": "-bad-"}));
    let (code, e) = api.post(CMS, &bad_label).await;
    assert_eq!(
        (code, e["details"]["causes"][0]["field"].clone()),
        (422, json!("metadata.labels"))
    );

    let mut wrong_ns = cm("y", json!({}));
    wrong_ns["metadata"]["namespace"] = json!("other");
    assert_eq!(api.post(CMS, &wrong_ns).await.0, 400);
    let (code, e) = api
        .post("/api/v1/namespaces/nope/configmaps", &cm("z", json!({})))
        .await;
    assert_eq!(
        (code, s(&e, "/message")),
        (404, "namespaces \"nope\" not found")
    );

    // A stale resourceVersion is a conflict.
    let mut stale = created.clone();
    stale["data"]["k"] = json!("v2");
    assert_eq!(
        api.put(&format!("{CMS}/lms-config-c42"), &stale).await.0,
        200
    );
    let (code, e) = api.put(&format!("{CMS}/lms-config-c42"), &stale).await;
    assert_eq!((code, s(&e, "/reason")), (409, "Conflict"));

    // Outside the prefix there is nothing; without the token nothing either.
    let bare = reqwest::get(format!("http://{}/api/v1/namespaces", sim.addr))
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 404);
    api.token = None;
    let (code, e) = api.get(CMS).await;
    assert_eq!((code, s(&e, "/reason")), (401, "Unauthorized"));
    api.token = Some("wrong".into());
    assert_eq!(api.get(CMS).await.0, 401);
    assert!(PREFIX.starts_with("/k8s"));
}

#[tokio::test]
async fn required_fields_selectors_and_immutable_fields_are_enforced() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "b"}},
        "spec": {"containers": [{"name": "C42"}]}}}});
    let (code, e) = api
        .post("/apis/apps/v1/namespaces/default/deployments", &dep)
        .await;
    assert_eq!(code, 422);
    let fields: Vec<&str> = e["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "spec.template.metadata.labels",
            "spec.template.spec.containers[0].name",
            "spec.template.spec.containers[0].image"
        ]
    );
    assert!(s(&e, "/message").starts_with("Deployment.apps \"d\" is invalid: ["));

    let svc =
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {}});
    let (code, e) = api.post("/api/v1/namespaces/default/services", &svc).await;
    assert_eq!(
        (code, e["details"]["causes"][0]["field"].clone()),
        (422, json!("spec.ports"))
    );

    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}});
    let (code, created) = api
        .post("/apis/batch/v1/namespaces/default/jobs", &job)
        .await;
    assert_eq!(code, 201);
    assert_eq!(created["spec"]["backoffLimit"], 6);
    assert_eq!(
        created["spec"]["template"]["metadata"]["labels"]["job-name"],
        "j"
    );
    let mut changed = created.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:2");
    let (code, e) = api
        .put("/apis/batch/v1/namespaces/default/jobs/j", &changed)
        .await;
    assert_eq!(code, 422);
    assert!(
        s(&e, "/message").contains("spec.template: Invalid value")
            && s(&e, "/message").contains("field is immutable"),
        "{e}"
    );
}

#[tokio::test]
async fn lists_filter_by_labels_and_fields_and_page_with_continue() {
    let sim = sim().await;
    let api = Api::new(&sim);
    for (i, tier) in ["web", "web", "db", "cache", "db"].iter().enumerate() {
        assert_eq!(
            api.post(
                CMS,
                &cm(&format!("cm{i}"), json!({"tier": tier, "n": i.to_string()}))
            )
            .await
            .0,
            201
        );
    }
    let names = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| s(o, "/metadata/name").to_owned())
            .collect::<Vec<_>>()
    };
    let q = |sel: &str| format!("{CMS}?labelSelector={}", urlencode(sel));
    assert_eq!(names(&api.get(&q("tier=web")).await.1), ["cm0", "cm1"]);
    assert_eq!(
        names(&api.get(&q("tier in (db,cache)")).await.1),
        ["cm2", "cm3", "cm4"]
    );
    assert_eq!(
        names(&api.get(&q("tier notin (web),n!=4")).await.1),
        ["cm2", "cm3"]
    );
    assert_eq!(names(&api.get(&q("!tier")).await.1), Vec::<String>::new());
    assert_eq!(
        names(
            &api.get(&format!("{CMS}?fieldSelector=metadata.name%3Dcm3"))
                .await
                .1
        ),
        ["cm3"]
    );
    let list = api.get(CMS).await.1;
    assert_eq!(list["kind"], "ConfigMapList");
    assert!(
        list["items"][0].get("kind").is_none(),
        "list items carry no kind, as on a real server"
    );

    let mut seen = Vec::new();
    let mut cont = String::new();
    loop {
        let (_, page) = api.get(&format!("{CMS}?limit=2&continue={cont}")).await;
        seen.extend(names(&page));
        match page.pointer("/metadata/continue").and_then(Value::as_str) {
            Some(c) => cont = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["cm0", "cm1", "cm2", "cm3", "cm4"]);

    // Every page reads the first page's snapshot: what changes meanwhile is not seen, and
    // a list at that version (`Exact`) shows it whole.
    let (_, first) = api.get(&format!("{CMS}?limit=2")).await;
    let at = s(&first, "/metadata/resourceVersion").to_owned();
    let cont = s(&first, "/metadata/continue").to_owned();
    assert_eq!(
        api.post(CMS, &cm("cm1a", json!({"tier": "web"}))).await.0,
        201
    );
    assert_eq!(api.delete(&format!("{CMS}/cm4")).await.0, 200);
    let (code, _) = api
        .call(
            "PATCH",
            &format!("{CMS}/cm3"),
            Some(&json!({"metadata": {"labels": {"tier": "gone"}}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    let (_, rest) = api.get(&format!("{CMS}?limit=10&continue={cont}")).await;
    assert_eq!(names(&rest), ["cm2", "cm3", "cm4"]);
    assert_eq!(rest["items"][1]["metadata"]["labels"]["tier"], "cache");
    let (code, then) = api
        .get(&format!(
            "{CMS}?resourceVersion={at}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(code, 200, "{then}");
    assert_eq!(names(&then), ["cm0", "cm1", "cm2", "cm3", "cm4"]);
    assert_eq!(s(&then, "/metadata/resourceVersion"), at);
    let now = api.get(CMS).await.1;
    assert_eq!(names(&now), ["cm0", "cm1", "cm1a", "cm2", "cm3"]);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn read_watch(resp: reqwest::Response, n: usize) -> Vec<Value> {
    use futures_util_free::collect_lines;
    collect_lines(resp, n).await
}

mod futures_util_free {
    use serde_json::Value;

    pub async fn collect_lines(mut resp: reqwest::Response, n: usize) -> Vec<Value> {
        let mut buf = String::new();
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while out.len() < n {
            let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                .await
                .expect("watch timed out")
                .unwrap();
            let Some(chunk) = chunk else { break };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(i) = buf.find('\n') {
                let line: String = buf.drain(..=i).collect();
                let v: Value = serde_json::from_str(line.trim()).unwrap();
                if v["type"] != "BOOKMARK" {
                    out.push(v);
                }
            }
        }
        out
    }
}

#[tokio::test]
async fn watches_replay_from_a_resource_version_and_say_gone_when_too_old() {
    let sim = sim_with(|c| c.history = 5).await;
    let api = Api::new(&sim);
    let (_, a) = api.post(CMS, &cm("a", json!({"w": "1"}))).await;
    let rv = s(&a, "/metadata/resourceVersion").to_owned();
    let url = format!(
        "{}{CMS}?watch=true&resourceVersion={rv}&labelSelector=w%3D1",
        api.base
    );
    let resp = api
        .http
        .get(url)
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap();
    let mut b = cm("b", json!({"w": "1"}));
    api.post(CMS, &b).await;
    api.post(CMS, &cm("other", json!({"w": "2"}))).await;
    b["data"]["k"] = json!("changed");
    api.put(&format!("{CMS}/b"), &b).await;
    api.delete(&format!("{CMS}/b")).await;
    let events = read_watch(resp, 3).await;
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                s(e, "/type").to_owned(),
                s(e, "/object/metadata/name").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ADDED".into(), "b".into()),
            ("MODIFIED".into(), "b".into()),
            ("DELETED".into(), "b".into())
        ]
    );

    for i in 0..10 {
        api.post(CMS, &cm(&format!("f{i}"), json!({}))).await;
    }
    let url = format!("{}{CMS}?watch=true&resourceVersion={rv}", api.base);
    let resp = api
        .http
        .get(url)
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap();
    let events = read_watch(resp, 1).await;
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(
        (
            events[0]["object"]["code"].clone(),
            events[0]["object"]["reason"].clone()
        ),
        (json!(410), json!("Expired"))
    );
}

#[tokio::test]
async fn deleting_an_owner_takes_what_it_owns_unless_orphaned() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}}, "template": {"metadata": {"labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    api.post("/apis/apps/v1/namespaces/default/deployments", &dep)
        .await;
    api.wait_for(
        "/api/v1/namespaces/default/pods?labelSelector=app%3Dw",
        "two pods",
        |v| v["items"].as_array().is_some_and(|i| i.len() == 2),
    )
    .await;
    let (code, _) = api
        .delete("/apis/apps/v1/namespaces/default/deployments/web")
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        api.get("/apis/apps/v1/namespaces/default/replicasets")
            .await
            .1["items"],
        json!([])
    );
    assert_eq!(
        api.get("/api/v1/namespaces/default/pods").await.1["items"],
        json!([])
    );
}

#[tokio::test]
async fn a_deployment_rolls_out_with_the_status_the_real_controller_writes() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}}, "template": {"metadata": {"labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    api.post("/apis/apps/v1/namespaces/default/deployments", &dep)
        .await;
    let d = api
        .wait_for(
            "/apis/apps/v1/namespaces/default/deployments/web",
            "rollout",
            |d| d.pointer("/status/readyReplicas") == Some(&json!(2)),
        )
        .await;
    assert_eq!(d["status"]["observedGeneration"], 1);
    assert_eq!(d["status"]["updatedReplicas"], 2);
    let conds = d["status"]["conditions"].as_array().unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    );
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable")
    );
    let pods = api
        .get("/api/v1/namespaces/default/pods?labelSelector=app%3Dw")
        .await
        .1;
    for p in pods["items"].as_array().unwrap() {
        assert_eq!(p["status"]["phase"], "Running");
        assert!(p["metadata"]["labels"]["pod-template-hash"].is_string());
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    }
    // A status sent with the object is ignored: status belongs to controllers.
    let mut d2 = d.clone();
    d2["status"]["readyReplicas"] = json!(99);
    d2["spec"]["replicas"] = json!(1);
    let (_, updated) = api
        .put("/apis/apps/v1/namespaces/default/deployments/web", &d2)
        .await;
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_ne!(updated["status"]["readyReplicas"], 99);
}

#[tokio::test]
async fn a_job_completes_and_its_pod_log_shows_what_the_container_printed() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "setup"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "postgres:latest", "command": ["/bin/bash", "-c"],
        "args": ["set -e\necho \"database $USER_NAME is ready\""], "env": [{"name": "USER_NAME", "value": "c42"}]}]}}}});
    api.post("/apis/batch/v1/namespaces/default/jobs", &job)
        .await;
    let j = api
        .wait_for(
            "/apis/batch/v1/namespaces/default/jobs/setup",
            "complete",
            |j| {
                j["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Complete" && c["status"] == "True")
                })
            },
        )
        .await;
    assert_eq!(j["status"]["succeeded"], 1);
    let pods = api
        .get("/api/v1/namespaces/default/pods?labelSelector=job-name%3Dsetup")
        .await
        .1;
    let pod = s(&pods["items"][0], "/metadata/name").to_owned();
    assert_eq!(pods["items"][0]["status"]["phase"], "Succeeded");
    let (code, log) = api
        .get(&format!("/api/v1/namespaces/default/pods/{pod}/log"))
        .await;
    assert_eq!((code, log), (200, json!("database c42 is ready\n")));
}

#[tokio::test]
async fn the_scale_subresource_reads_and_writes_replicas_as_the_api_server_does() {
    let sim = common::sim().await;
    let api = common::Api::new(&sim);
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let (code, _) = api
        .post(deps, &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}}, "template": {"metadata": {"labels": {"app": "w"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}))
        .await;
    assert_eq!(code, 201);
    let (code, scale) = api.get(&format!("{deps}/web/scale")).await;
    assert_eq!(code, 200);
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 2);
    // A Scale for an older version of the object is a conflict.
    let mut stale = scale.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    stale["spec"]["replicas"] = json!(5);
    let (code, _) = api.put(&format!("{deps}/web/scale"), &stale).await;
    assert_eq!(code, 409);
    let (code, negative) = api
        .call(
            "PATCH",
            &format!("{deps}/web/scale"),
            Some(&json!({"spec": {"replicas": -1}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        negative["message"],
        "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    let (code, scaled) = api
        .call(
            "PATCH",
            &format!("{deps}/web/scale"),
            Some(&json!({"spec": {"replicas": 0}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200, "{scaled}");
    assert_eq!(scaled["spec"]["replicas"], 0);
    let (_, dep) = api.get(&format!("{deps}/web")).await;
    assert_eq!(dep["spec"]["replicas"], 0);
    assert_eq!(dep["metadata"]["generation"], 2);
    // Kinds without replicas have no /scale.
    let (code, _) = api
        .get("/api/v1/namespaces/default/configmaps/x/scale")
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn finalizers_hold_a_deleted_object_until_they_are_removed() {
    let sim = common::sim().await;
    let api = common::Api::new(&sim);
    let cms = "/api/v1/namespaces/default/configmaps";
    let (code, created) = api
        .post(
            cms,
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
        )
        .await;
    assert_eq!(code, 201);
    // A delete whose uid precondition names another object is refused.
    let (code, refused) = api
        .call(
            "DELETE",
            &format!("{cms}/held"),
            Some(&json!({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "not-its-uid"}})),
            "application/json",
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    assert!(
        s(&refused, "/message").contains("Precondition failed: UID in precondition: not-its-uid"),
        "{refused}"
    );
    let uid = s(&created, "/metadata/uid").to_owned();
    let (code, marked) = api
        .call(
            "DELETE",
            &format!("{cms}/held"),
            Some(&json!({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}})),
            "application/json",
        )
        .await;
    assert_eq!(code, 200);
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    let (code, still) = api.get(&format!("{cms}/held")).await;
    assert_eq!(code, 200);
    assert!(still["metadata"]["deletionTimestamp"].is_string());
    // No new finalizer once it is being deleted.
    let (code, forbidden) = api
        .call(
            "PATCH",
            &format!("{cms}/held"),
            Some(&json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 422, "{forbidden}");
    assert!(
        s(&forbidden, "/message").contains("no new finalizers can be added"),
        "{forbidden}"
    );
    // Removing the last finalizer lets it go.
    let (code, _) = api
        .call(
            "PATCH",
            &format!("{cms}/held"),
            Some(&json!({"metadata": {"finalizers": null}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api.get(&format!("{cms}/held")).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn the_garbage_collector_leaves_a_dependent_with_finalizers_terminating() {
    let sim = common::sim().await;
    let api = common::Api::new(&sim);
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let (code, _) = api
        .post(
            deps,
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}),
        )
        .await;
    assert_eq!(code, 201);
    let pods = "/api/v1/namespaces/default/pods";
    let list = api
        .wait_for(pods, "a pod of the Deployment", |l| {
            l["items"].as_array().is_some_and(|i| i.len() == 1)
        })
        .await;
    let pod = format!("{pods}/{}", s(&list["items"][0], "/metadata/name"));
    let hold = |on: bool| json!({"metadata": {"finalizers": if on { json!(["example.com/hold"]) } else { json!(null) }}});
    let (code, _) = api
        .call(
            "PATCH",
            &pod,
            Some(&hold(true)),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    // Deleting the Deployment takes its ReplicaSet; the held pod stays, terminating.
    let (code, _) = api.delete(&format!("{deps}/web")).await;
    assert_eq!(code, 200);
    let held = api
        .wait_for(&pod, "the pod marked for deletion", |p| {
            p["metadata"]["deletionTimestamp"].is_string()
        })
        .await;
    assert_eq!(held["metadata"]["finalizers"], json!(["example.com/hold"]));
    let (code, _) = api
        .call(
            "PATCH",
            &pod,
            Some(&hold(false)),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api.get(&pod).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn a_dry_run_checks_every_write_and_stores_none() {
    let sim = common::sim().await;
    let api = common::Api::new(&sim);
    let cms = "/api/v1/namespaces/default/configmaps";
    api.post(cms, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}))
        .await;
    let (code, would) = api
        .call(
            "PATCH",
            &format!("{cms}/c?dryRun=All"),
            Some(&json!({"data": {"a": "2"}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!((code, s(&would, "/data/a")), (200, "2"));
    let (_, now) = api.get(&format!("{cms}/c")).await;
    assert_eq!(s(&now, "/data/a"), "1");
    let mut put = now.clone();
    put["data"]["a"] = json!("3");
    let (code, _) = api
        .call(
            "PUT",
            &format!("{cms}/c?dryRun=All"),
            Some(&put),
            "application/json",
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api.delete(&format!("{cms}/c?dryRun=All")).await;
    assert_eq!(code, 200);
    let (code, now) = api.get(&format!("{cms}/c")).await;
    assert_eq!((code, s(&now, "/data/a")), (200, "1"));
    // A stale version is a conflict in a dry run too.
    put["metadata"]["resourceVersion"] = json!("1");
    let (code, _) = api
        .call(
            "PUT",
            &format!("{cms}/c?dryRun=All"),
            Some(&put),
            "application/json",
        )
        .await;
    assert_eq!(code, 409);
}

#[tokio::test]
async fn boolean_query_values_are_read_as_the_api_server_reads_them() {
    let sim = common::sim().await;
    let api = common::Api::new(&sim);
    // The Python client sends watch=True: a watch, not a list.
    let (code, body) = api
        .get("/api/v1/namespaces?watch=True&timeoutSeconds=1")
        .await;
    assert_eq!(code, 200);
    let text = match &body {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    assert!(text.contains("\"type\":\"ADDED\""), "{text}");
    assert!(!text.contains("NamespaceList"), "{text}");
}

/// The Events a namespace holds about `kind`/`name`: (reason, message, component).
async fn controller_events(api: &Api, kind: &str, name: &str) -> Vec<(String, String, String)> {
    let sel = format!("involvedObject.kind%3D{kind},involvedObject.name%3D{name}");
    let (_, evs) = api
        .get(&format!(
            "/api/v1/namespaces/default/events?fieldSelector={sel}"
        ))
        .await;
    evs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(e, "/reason").to_owned(),
                s(e, "/message").to_owned(),
                s(e, "/source/component").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_controllers_write_the_events_kubectl_describe_shows() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}},
                 "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
    api.post("/apis/apps/v1/namespaces/default/deployments", &dep)
        .await;
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}});
    api.post("/apis/batch/v1/namespaces/default/jobs", &job)
        .await;
    api.wait_for(
        "/apis/batch/v1/namespaces/default/jobs/once",
        "complete",
        |j| j.pointer("/status/succeeded").is_some(),
    )
    .await;
    let d = api
        .wait_for(
            "/apis/apps/v1/namespaces/default/deployments/web",
            "ready",
            |d| d.pointer("/status/readyReplicas") == Some(&json!(2)),
        )
        .await;
    let _ = d;
    let (_, rss) = api
        .get("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dw")
        .await;
    let rs = s(&rss["items"][0], "/metadata/name").to_owned();

    let dep_events = controller_events(&api, "Deployment", "web").await;
    assert_eq!(
        dep_events,
        [(
            "ScalingReplicaSet".to_owned(),
            format!("Scaled up replica set {rs} from 0 to 2"),
            "deployment-controller".to_owned()
        )]
    );
    let rs_events = controller_events(&api, "ReplicaSet", &rs).await;
    assert_eq!(rs_events.len(), 2, "{rs_events:?}");
    assert!(
        rs_events.iter().all(|(r, m, c)| r == "SuccessfulCreate"
            && m.starts_with(&format!("Created pod: {rs}-"))
            && c == "replicaset-controller"),
        "{rs_events:?}"
    );
    let job_events = controller_events(&api, "Job", "once").await;
    // A list is in name order (names carry a random suffix), not in time order.
    let mut reasons: Vec<&str> = job_events.iter().map(|(r, _, _)| r.as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["Completed", "SuccessfulCreate"], "{job_events:?}");

    // Scaled down by hand: the Deployment says so, the ReplicaSet names the pod it deleted.
    let mut d = api
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .await
        .1;
    d["spec"]["replicas"] = json!(1);
    api.put("/apis/apps/v1/namespaces/default/deployments/web", &d)
        .await;
    api.wait_for(
        &format!("/apis/apps/v1/namespaces/default/replicasets/{rs}"),
        "scaled down",
        |r| r.pointer("/status/replicas") == Some(&json!(1)),
    )
    .await;
    let dep_events = controller_events(&api, "Deployment", "web").await;
    assert!(
        dep_events
            .iter()
            .any(|(_, m, _)| m == &format!("Scaled down replica set {rs} from 2 to 1")),
        "{dep_events:?}"
    );
    let rs_events = controller_events(&api, "ReplicaSet", &rs).await;
    assert!(
        rs_events.iter().any(|(r, _, _)| r == "SuccessfulDelete"),
        "{rs_events:?}"
    );
}

#[tokio::test]
async fn a_cronjob_starts_jobs_on_its_schedule_keeps_its_history_and_stops_when_suspended() {
    // kubesim's schedule clock: a minute lasts 100 ms here.
    let sim = sim().await;
    let api = Api::new(&sim);
    let base = "/apis/batch/v1/namespaces/default";
    let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "* * * * *", "successfulJobsHistoryLimit": 2,
                 "jobTemplate": {"metadata": {"labels": {"from": "tick"}}, "spec": {"template": {"spec": {
                     "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}}}});
    let (code, made) = api.post(&format!("{base}/cronjobs"), &cj).await;
    assert_eq!(code, 201, "{made}");
    let uid = s(&made, "/metadata/uid").to_owned();
    let jobs = || async {
        api.get(&format!("{base}/jobs?labelSelector=from%3Dtick"))
            .await
            .1["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    // Jobs come, one per minute, named after the minute and owned by the CronJob; the
    // finished ones beyond the history limit go.
    let mut seen = std::collections::BTreeSet::new();
    let start = std::time::Instant::now();
    while seen.len() < 4 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "jobs: {seen:?}"
        );
        for j in jobs().await {
            let name = s(&j, "/metadata/name").to_owned();
            let minute: i64 = name.strip_prefix("tick-").unwrap().parse().unwrap();
            assert!(minute > 29_000_000, "a minute since 1970: {name}");
            assert_eq!(j["metadata"]["ownerReferences"][0]["uid"], json!(uid));
            seen.insert(name);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let cj = api
        .wait_for(&format!("{base}/cronjobs/tick"), "scheduled", |c| {
            c.pointer("/status/lastScheduleTime").is_some()
                && c.pointer("/status/lastSuccessfulTime").is_some()
        })
        .await;
    let _ = cj;
    let complete = |js: &[Value]| {
        js.iter()
            .filter(|j| j.pointer("/status/succeeded") == Some(&json!(1)))
            .count()
    };
    assert!(
        complete(&jobs().await) <= 2 + 1,
        "the history limit keeps 2 (one may be finishing)"
    );
    let evs = api
        .get("/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind%3DCronJob")
        .await
        .1;
    assert!(
        evs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "SuccessfulCreate"
                && s(e, "/message").starts_with("Created job tick-")),
        "{evs}"
    );

    // Suspended: no new Job.
    let mut c = api.get(&format!("{base}/cronjobs/tick")).await.1;
    c["spec"]["suspend"] = json!(true);
    let (code, _) = api.put(&format!("{base}/cronjobs/tick"), &c).await;
    assert_eq!(code, 200);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let before: std::collections::BTreeSet<String> = jobs()
        .await
        .iter()
        .map(|j| s(j, "/metadata/name").to_owned())
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after: std::collections::BTreeSet<String> = jobs()
        .await
        .iter()
        .map(|j| s(j, "/metadata/name").to_owned())
        .collect();
    assert!(
        after.is_subset(&before),
        "no new Job while suspended: {before:?} → {after:?}"
    );
}

/// A snapshot older than the change history is gone: 410, as the API server answers a
/// compacted version.
#[tokio::test]
async fn a_list_at_a_version_the_history_no_longer_reaches_is_gone() {
    let sim = common::sim_with(|c| c.history = 3).await;
    let api = Api::new(&sim);
    assert_eq!(api.post(CMS, &cm("first", json!({}))).await.0, 201);
    let at = s(&api.get(CMS).await.1, "/metadata/resourceVersion").to_owned();
    for i in 0..5 {
        assert_eq!(
            api.post(CMS, &cm(&format!("later{i}"), json!({}))).await.0,
            201
        );
    }
    let (code, body) = api
        .get(&format!(
            "{CMS}?resourceVersion={at}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(code, 410, "{body}");
    assert_eq!(body["reason"], "Expired");
}

/// YAML bodies, as `curl --data-binary @x.yaml` sends them: a create as
/// `application/yaml`, a server-side apply as `application/apply-patch+yaml`.
#[tokio::test]
async fn yaml_bodies_create_and_apply() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let send = |method: &str, path: String, ct: &'static str, body: &'static str| {
        let req = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{}{path}", sim.url()))
            .bearer_auth(common::TOKEN)
            .header("content-type", ct)
            .body(body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (code, created) = send(
        "POST",
        CMS.to_owned(),
        "application/yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  greeting: hello # a comment\n  port: \"8080\"\n",
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        created["data"],
        json!({"greeting": "hello", "port": "8080"})
    );

    let (code, applied) = send(
        "PATCH",
        format!("{CMS}/from-yaml?fieldManager=ops"),
        "application/apply-patch+yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  greeting: hi\n",
    )
    .await;
    assert_eq!(code, 409, "another manager's field: {applied}");
    let (code, applied) = send(
        "PATCH",
        format!("{CMS}/from-yaml?fieldManager=ops&force=true"),
        "application/apply-patch+yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  greeting: hi\n",
    )
    .await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(applied["data"]["greeting"], "hi");
    let (_, stored) = api.get(&format!("{CMS}/from-yaml")).await;
    assert!(
        stored["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["manager"] == "ops" && e["operation"] == "Apply"),
        "{stored}"
    );

    let (code, refused) = send(
        "POST",
        CMS.to_owned(),
        "application/yaml",
        "metadata: [unclosed\n",
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("not valid YAML"),
        "{refused}"
    );
}
