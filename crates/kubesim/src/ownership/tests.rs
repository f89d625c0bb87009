use serde_json::{Value, json};

use super::*;

fn w(manager: &str) -> Writer {
    Writer {
        manager: manager.to_owned(),
        api_version: "apps/v1".to_owned(),
        now: "2026-12-01T00:00:00Z".to_owned(),
        status: false,
    }
}

fn deployment(replicas: i64, image: &str, env: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
           "spec": {"replicas": replicas, "template": {"spec": {"containers": [
               {"name": "web", "image": image, "env": env}]}}}})
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap().to_owned(),
                        e["operation"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn paths_name_list_items_by_merge_key_and_atomic_lists_whole() {
    let d = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "args": ["a", "b"], "ports": [{"containerPort": 80}]}]}}},
        "metadata": {"name": "x", "finalizers": ["f1"], "labels": {"app": "web"}}});
    let shown: Vec<String> = paths("Deployment", &d, false)
        .iter()
        .map(|p| p.join("/"))
        .collect();
    assert_eq!(
        shown,
        vec![
            "f:metadata/f:finalizers/v:\"f1\"",
            "f:metadata/f:labels/f:app",
            "f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/.",
            "f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/f:args",
            "f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/f:name",
            "f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/f:ports/k:{\"containerPort\":80}/.",
            "f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/f:ports/k:{\"containerPort\":80}/f:containerPort",
        ]
    );
}

#[test]
fn an_apply_conflicts_with_another_managers_field_it_would_change_unless_forced() {
    let mut created = deployment(2, "lms:1", json!([]));
    record_update("Deployment", None, &mut created, &w("kubectl-create"));
    assert_eq!(
        managers(&created),
        vec![("kubectl-create".into(), "Update".into())]
    );

    // Same values: shared, no conflict.
    let same = apply(
        "Deployment",
        Some(&created),
        &deployment(2, "lms:1", json!([])),
        &w("ops"),
        false,
    )
    .unwrap();
    assert_eq!(managers(&same).len(), 2);

    let err = apply(
        "Deployment",
        Some(&same),
        &deployment(5, "lms:2", json!([])),
        &w("ops"),
        false,
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 2 conflicts: conflict with \"kubectl-create\" using apps/v1: .spec.replicas\nconflict with \"kubectl-create\" using apps/v1: .spec.template.spec.containers[name=\"web\"].image"
    );
    let forced = apply(
        "Deployment",
        Some(&same),
        &deployment(5, "lms:2", json!([])),
        &w("ops"),
        true,
    )
    .unwrap();
    assert_eq!(forced["spec"]["replicas"], json!(5));
    let create_fields = &forced["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(
        create_fields["f:spec"].get("f:replicas").is_none(),
        "{create_fields}"
    );
    // Now ops owns them: applying again with other values is no conflict.
    apply(
        "Deployment",
        Some(&forced),
        &deployment(6, "lms:3", json!([])),
        &w("ops"),
        false,
    )
    .unwrap();
}

#[test]
fn fields_an_applier_stops_applying_are_removed_unless_someone_else_owns_them() {
    let env = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]);
    let first = apply(
        "Deployment",
        None,
        &deployment(1, "lms:1", env),
        &w("ops"),
        false,
    )
    .unwrap();
    let mut second_cfg = deployment(1, "lms:1", json!([{"name": "A", "value": "1"}]));
    second_cfg["metadata"]["labels"] = json!({"app": "web"});
    let second = apply("Deployment", Some(&first), &second_cfg, &w("ops"), false).unwrap();
    assert_eq!(second["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        second["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );

    // A label someone else also set stays when the applier drops it.
    let mut edited = second.clone();
    edited["metadata"]["labels"]["owner"] = json!("team");
    record_update(
        "Deployment",
        Some(&second),
        &mut edited,
        &w("kubectl-label"),
    );
    let mut third_cfg = second_cfg.clone();
    third_cfg["metadata"]["labels"]["owner"] = json!("team");
    let third = apply("Deployment", Some(&edited), &third_cfg, &w("ops"), false).unwrap();
    let fourth = apply("Deployment", Some(&third), &second_cfg, &w("ops"), false).unwrap();
    assert_eq!(fourth["metadata"]["labels"]["owner"], json!("team"));
}

#[test]
fn an_update_takes_over_what_it_changed_and_drops_what_went_away() {
    let applied = apply(
        "Deployment",
        None,
        &deployment(1, "lms:1", json!([])),
        &w("ops"),
        false,
    )
    .unwrap();
    let mut scaled = applied.clone();
    scaled["spec"]["replicas"] = json!(4);
    scaled["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("tier");
    record_update(
        "Deployment",
        Some(&applied),
        &mut scaled,
        &w("kubectl-scale"),
    );
    let entries = scaled["metadata"]["managedFields"].as_array().unwrap();
    let ops = &entries[0]["fieldsV1"];
    assert!(ops["f:spec"].get("f:replicas").is_none());
    assert!(ops["f:metadata"]["f:labels"].get("f:tier").is_none());
    assert_eq!(entries[1]["manager"], json!("kubectl-scale"));
    assert_eq!(
        entries[1]["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    // The applier now conflicts on replicas it no longer owns.
    assert!(
        apply(
            "Deployment",
            Some(&scaled),
            &deployment(1, "lms:1", json!([])),
            &w("ops"),
            false
        )
        .is_err()
    );
}
