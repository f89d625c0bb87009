//! Deletion: owners take what they own unless orphaned, finalizers hold an object,
//! the garbage collector leaves a dependent with finalizers terminating.

use super::*;

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
