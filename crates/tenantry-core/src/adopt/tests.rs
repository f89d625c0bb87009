//! Adoption on fixtures: environments made by hand from the customer's templates.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::default_templates::default_templates;
use crate::defaults::{BUILTIN_PARAMS, DEFAULT_ENV};
use crate::param::ParamKind;
use crate::render::{Secrets, Values, render, render_text};
use crate::template::Template;

fn generated() -> BTreeMap<String, crate::Generator> {
    BUILTIN_PARAMS
        .iter()
        .filter_map(|p| match p.kind {
            ParamKind::Generated(g) => Some((p.name.to_owned(), g)),
            _ => None,
        })
        .collect()
}

fn env() -> Vec<(String, String)> {
    DEFAULT_ENV
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn the_shapes() -> (Vec<Shape>, Marks) {
    let ts = default_templates();
    let refs: Vec<&Template> = ts.iter().collect();
    shapes(&refs, &env(), &generated())
}

/// What an engineer made by hand for `id` with the customer's templates: the objects as
/// the API server keeps them (no tenantry labels; status, uid and versions added).
fn hand_made(id: &str, pg: &str, ch: &str, seed: &str, rsa: &str) -> Vec<Value> {
    let mut v = Values::new();
    for p in BUILTIN_PARAMS {
        v.plain(p.name, format!("<{}>", p.name));
    }
    v.plain("client-id", id)
        .plain("postgres-user-password", pg)
        .plain("clickhouse-user-password", ch)
        .plain("keys-secret-seed", seed)
        .plain("rsa-content", rsa)
        .plain("postgres-host", "pg.internal")
        .plain("clickhouse-host", "ch.internal");
    let mut out = Vec::new();
    for t in default_templates() {
        let Some(body) = &t.body else { continue };
        let mut b = render(body, &v, Secrets::Reveal).unwrap();
        if let Some(at) = &t.env_at {
            for (n, val) in DEFAULT_ENV {
                b.pointer_mut(at).unwrap()[*n] =
                    json!(render_text(val, &v, Secrets::Reveal, n).unwrap());
            }
        }
        let labels = b["metadata"]["labels"].as_object_mut().unwrap();
        labels.remove(MANAGED_BY.0);
        labels.remove(CLIENT_LABEL);
        b["metadata"]["uid"] = json!(format!("uid-{}", b["metadata"]["name"]));
        b["metadata"]["resourceVersion"] = json!("17");
        b["status"] = json!({"observedGeneration": 1});
        out.push(b);
    }
    out
}

const RSA: &str = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF==";

#[test]
fn environments_are_found_by_their_names_and_the_rest_is_reported() {
    let (shapes, marks) = the_shapes();
    let mut live = hand_made("C42", "Pw42", "Ch42", "ab12", RSA);
    live.extend(hand_made("C7", "Pw7", "Ch7", "cd34", RSA));
    // A partial one: a Deployment and its ConfigMap only.
    live.extend(
        hand_made("C9", "Pw9", "Ch9", "ef56", RSA)
            .into_iter()
            .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "ConfigMap"))),
    );
    live.push(json!({"kind": "Secret", "metadata": {"name": "tls"}, "type": "kubernetes.io/tls"}));
    live.push(json!({"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}}));
    live.push(json!({"kind": "Service", "metadata": {"name": "lms-service-staging"}}));
    let d = discover(&shapes, &marks, &live);
    let ids: Vec<String> = d.environments.keys().map(ToString::to_string).collect();
    assert_eq!(ids, ["C7", "C9", "C42"]);
    let c42 = &d.environments[&ClientId::parse("C42").unwrap()];
    assert_eq!(c42.written, "c42");
    assert!(c42.missing.is_empty(), "{:?}", c42.missing);
    assert_eq!(c42.objects.len(), 7, "two Jobs and five objects");
    assert!(!c42.managed(ClientId::parse("C42").unwrap()));
    let c9 = &d.environments[&ClientId::parse("C9").unwrap()];
    let missing: Vec<String> = c9.missing.iter().map(ToString::to_string).collect();
    assert_eq!(
        missing,
        [
            "Secret rsa-secret-c9",
            "Service lms-service-c9",
            "Ingress client-lms-ingress-c9"
        ]
    );
    let unmatched: Vec<String> = d.unmatched.iter().map(ToString::to_string).collect();
    assert_eq!(unmatched, ["Secret tls", "Service lms-service-staging"]);
}

#[test]
fn the_generated_values_are_read_where_the_templates_put_them() {
    let (shapes, marks) = the_shapes();
    let live = hand_made("C42", "Pw42x", "Ch42y", "ab12cd", RSA);
    let d = discover(&shapes, &marks, &live);
    let found = &d.environments[&ClientId::parse("C42").unwrap()];
    let x = extract(&shapes, &marks, found);
    let got: BTreeMap<&str, &str> = x
        .values
        .iter()
        .map(|(k, t)| (k.as_str(), t.value.as_str()))
        .collect();
    assert_eq!(got["postgres-user-password"], "Pw42x");
    assert_eq!(got["clickhouse-user-password"], "Ch42y");
    assert_eq!(got["keys-secret-seed"], "ab12cd");
    assert_eq!(got["rsa-content"], RSA);
    assert_eq!(got.len(), 4);
    assert!(
        x.values["postgres-user-password"]
            .from
            .starts_with("ConfigMap lms-config-c42 data."),
        "{}",
        x.values["postgres-user-password"].from
    );
    assert!(x.conflicts.is_empty(), "{:?}", x.conflicts);
}

#[test]
fn an_older_template_and_a_disagreeing_job_still_give_the_running_values() {
    let (shapes, marks) = the_shapes();
    let mut live = hand_made("C42", "Pw42", "Ch42", "ab12", RSA);
    for o in &mut live {
        if o["kind"] == "ConfigMap" {
            // The customer's first template: upper-case role, no options, other vars.
            let data = o["data"].as_object_mut().unwrap();
            data.insert(
                "LMS_STORAGE_POSTGRES_DSN".into(),
                json!("postgres://C42:Old42@pg:5432/C42"),
            );
            data.remove("LMS_STORAGE_CLICKHOUSE_DEMO");
            data.insert("LMS_LEGACY_FLAG".into(), json!("1"));
        }
    }
    let d = discover(&shapes, &marks, &live);
    let found = &d.environments[&ClientId::parse("C42").unwrap()];
    let x = extract(&shapes, &marks, found);
    assert_eq!(x.values["postgres-user-password"].value, "Old42");
    // The setup Job still says the password it set first; the ConfigMap wins.
    assert_eq!(x.conflicts.len(), 1, "{:?}", x.conflicts);
    assert!(x.conflicts[0].contains("postgres-user-password"));
    assert!(x.conflicts[0].contains("Job postgres-setup-c42"));
}

#[test]
fn ownership_is_labels_and_the_recorded_object_is_clean() {
    let (shapes, _) = the_shapes();
    let live = hand_made("C42", "Pw42", "Ch42", "ab12", RSA);
    let id = ClientId::parse("C42").unwrap();
    let dep = live.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let patch = ownership_patch(dep, id, Some("abc"));
    assert_eq!(patch["metadata"]["resourceVersion"], "17");
    assert_eq!(patch["metadata"]["labels"][CLIENT_LABEL], "C42");
    assert_eq!(patch["metadata"]["annotations"][ADOPTED_CONFIG_HASH], "abc");
    assert!(
        patch.pointer("/spec").is_none(),
        "the pod template is not touched"
    );

    let shape = shapes.iter().find(|s| s.kind == "Deployment").unwrap();
    let mut listed = dep.clone();
    listed.as_object_mut().unwrap().remove("kind");
    let rec = as_recorded(shape, &listed, id, Some("abc"));
    assert_eq!(rec["kind"], "Deployment");
    assert_eq!(rec["apiVersion"], "apps/v1");
    assert!(rec.get("status").is_none());
    assert!(rec.pointer("/metadata/uid").is_none());
    assert_eq!(rec["metadata"]["labels"][MANAGED_BY.0], MANAGED_BY.1);
    assert_eq!(rec["metadata"]["labels"]["app"], "C42-lms");
    // What was recorded is what the cluster now has: no drift.
    let mut now = dep.clone();
    crate::drift::differences(&rec, &now)
        .iter()
        .for_each(|d| assert!(d.path.starts_with("metadata."), "{d:?}"));
    now["metadata"]["labels"][MANAGED_BY.0] = json!(MANAGED_BY.1);
    now["metadata"]["labels"][CLIENT_LABEL] = json!("C42");
    now["metadata"]["annotations"] = json!({ADOPTED_CONFIG_HASH: "abc"});
    assert!(crate::drift::differences(&rec, &now).is_empty());

    let job_shape = shapes.iter().find(|s| s.kind == "Job").unwrap();
    let mut job = live.iter().find(|o| o["kind"] == "Job").unwrap().clone();
    job["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}});
    job["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] =
        json!("u");
    let rec = as_recorded(job_shape, &job, id, None);
    assert!(rec.pointer("/spec/selector").is_none());
    assert!(
        rec.pointer("/spec/template/metadata/labels/batch.kubernetes.io~1controller-uid")
            .is_none()
    );
}

#[test]
fn an_adopted_deployment_is_not_rolled_for_a_config_it_already_runs() {
    use crate::drift::{CONFIG_HASH, differences, settle_adopted};
    let desired = json!({"metadata": {"name": "d"},
        "spec": {"template": {"metadata": {"annotations": {CONFIG_HASH: "h1"}}}}});
    let adopted = json!({"metadata": {"name": "d", "annotations": {ADOPTED_CONFIG_HASH: "h1"}},
        "spec": {"template": {"metadata": {}}}});
    assert!(differences(&desired, &adopted).is_empty());
    assert!(
        settle_adopted(&desired, &adopted)
            .pointer("/spec/template/metadata/annotations/tenantry.io~1config-hash")
            .is_none()
    );
    // The config changed since: the hash goes on, and the pods roll.
    let changed = json!({"metadata": {"name": "d", "annotations": {ADOPTED_CONFIG_HASH: "h0"}},
        "spec": {"template": {"metadata": {}}}});
    assert_eq!(differences(&desired, &changed).len(), 1);
    // Not adopted: the hash is drift as before.
    let plain = json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {}}}});
    assert_eq!(differences(&desired, &plain).len(), 1);
}
