//! The simulated controllers: Deployments roll out, Jobs complete with logs, /scale,
//! the Events kubectl describe shows, CronJobs on their schedule.

use super::*;

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
