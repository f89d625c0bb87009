//! How requests are judged: Status errors with the real reasons and codes, required
//! and immutable fields, dry runs, boolean query values, YAML bodies.

use super::*;

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
