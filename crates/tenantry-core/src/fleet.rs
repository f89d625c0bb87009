//! The fleet view's pure half: what a cache keeps of a live object ([`slim`]), and an
//! environment judged from what it should be (its last revision's manifests) and what
//! the cluster has ([`assess`]): the health of each object and of the whole, in the
//! gitops-engine manner, and its drift, field by field. No IO, no clock.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::drift::{FieldDiff, differences};
use crate::health::{EnvHealth, Health, ObjectHealth, PodRules, is_terminating, pod_health};
use crate::health::{environment, object_health};

/// An object in the cluster and its kind (list items do not say it).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    pub kind: String,
    pub object: Value,
}

impl LiveObject {
    pub fn name(&self) -> &str {
        name(&self.object)
    }
}

fn name(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The annotation kubectl's client-side apply writes: the whole object again.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What the fleet cache keeps of an object: everything health and drift read, nothing
/// they do not (managed fields, kubectl's copy of the object, most of a pod's spec), so
/// ten thousand environments fit in little memory.
pub fn slim(kind: &str, obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove(LAST_APPLIED);
        }
    }
    if kind == "Pod" {
        let containers: Vec<Value> = o
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| serde_json::json!({"name": c["name"], "image": c["image"]}))
            .collect();
        let mut spec = Map::new();
        spec.insert("containers".into(), Value::Array(containers));
        if let Some(n) = o.pointer("/spec/nodeName") {
            spec.insert("nodeName".into(), n.clone());
        }
        o["spec"] = Value::Object(spec);
    }
    if let Some(m) = o.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    o
}

/// Whether an object is in step with what was rendered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    InSync,
    /// Some field differs from the rendered object.
    Drifted,
    /// Rendered, and not in the cluster.
    Missing,
    /// Labelled as the client's, and not rendered: added by hand.
    Extra,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InSync => "insync",
            Self::Drifted => "drifted",
            Self::Missing => "missing",
            Self::Extra => "extra",
        }
    }
}

/// One object of an environment: its health and its drift.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ObjectView {
    pub kind: String,
    pub name: String,
    pub health: EnvHealth,
    /// Empty when healthy.
    pub reason: String,
    pub sync: SyncState,
    /// The fields that differ, when drifted.
    pub diff: Vec<FieldDiff>,
}

/// An environment as the cluster has it, against what it should be.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EnvView {
    pub health: EnvHealth,
    /// Why, naming the object that decides it; empty when healthy.
    pub reason: String,
    /// The object that decides the health (`Deployment lms-dev/lms-deployment-c1`).
    pub decided_by: String,
    /// Some object differs from its rendering, is missing or was added.
    pub drifted: bool,
    pub objects: Vec<ObjectView>,
    /// The environment's pods, as kept by [`slim`].
    #[serde(skip)]
    pub pods: Vec<Value>,
}

impl EnvView {
    /// The objects not in step with their rendering (drifted, missing or extra).
    pub fn out_of_sync(&self) -> impl Iterator<Item = &ObjectView> {
        self.objects.iter().filter(|o| o.sync != SyncState::InSync)
    }
}

/// What the environment should be: its last revision's objects, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Deployed as rendered.
    Deployed,
    /// Deployed, and scaled to zero on purpose: the Deployment's replicas are 0.
    Suspended,
    /// Nothing of it should be in the cluster.
    Absent,
    /// No deploy of it has succeeded and no operation recorded it: there is nothing to
    /// compare with, so its objects are judged for health only.
    Unrecorded,
}

/// Whether a pod is one of the environment's: selected by one of its Deployments'
/// `matchLabels`, or one of its Jobs' (`job-name`).
pub fn pods_of<'a>(live: &[LiveObject], pods: &'a [Value]) -> Vec<&'a Value> {
    let selectors: Vec<&Map<String, Value>> = live
        .iter()
        .filter(|o| o.kind == "Deployment")
        .filter_map(|o| o.object.pointer("/spec/selector/matchLabels")?.as_object())
        .filter(|s| !s.is_empty())
        .collect();
    let jobs: Vec<&str> = live
        .iter()
        .filter(|o| o.kind == "Job")
        .map(LiveObject::name)
        .collect();
    pods.iter()
        .filter(|p| {
            let labels = p.pointer("/metadata/labels").and_then(Value::as_object);
            let Some(labels) = labels else { return false };
            selectors
                .iter()
                .any(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)))
                || labels
                    .get("job-name")
                    .and_then(Value::as_str)
                    .is_some_and(|j| jobs.contains(&j))
        })
        .collect()
}

fn deployment_pods<'a>(dep: &Value, pods: &[&'a Value]) -> Vec<&'a Value> {
    let Some(sel) = dep
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
    else {
        return Vec::new();
    };
    pods.iter()
        .copied()
        .filter(|p| {
            p.pointer("/metadata/labels")
                .and_then(Value::as_object)
                .is_some_and(|l| sel.iter().all(|(k, v)| l.get(k) == Some(v)))
        })
        .collect()
}

/// A Deployment's pods judged: a pod that will not start makes it Degraded; when some
/// of its replicas are still available, that is a new version failing while the
/// previous one serves, and said so.
fn deployment_with_pods(dep: &LiveObject, pods: &[&Value], mut h: ObjectHealth) -> ObjectHealth {
    if h.health >= EnvHealth::Degraded || h.health == EnvHealth::Suspended {
        return h;
    }
    let failing = deployment_pods(&dep.object, pods)
        .into_iter()
        .filter(|p| !is_terminating(p))
        .find_map(
            |p| match pod_health(p, std::time::Duration::ZERO, &PodRules::default()) {
                Health::Failed(f) => Some(f),
                _ => None,
            },
        );
    let Some(f) = failing else { return h };
    let available = dep
        .object
        .pointer("/status/availableReplicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    h.health = EnvHealth::Degraded;
    h.reason = if available > 0 {
        format!("new version failing, previous version still serving ({available} available): {f}")
    } else {
        f.to_string()
    };
    h
}

/// Judges an environment: every rendered object found or missing, healthy or not, as
/// rendered or drifted; objects labelled as the client's but not rendered are extra.
/// `desired` are the rendered objects (with `kind`); `live` the client's objects in the
/// cluster; `pods` the namespace's pods (those of the environment are picked out).
pub fn assess(
    desired: &[Value],
    expect: Expectation,
    live: &[LiveObject],
    pods: &[Value],
) -> EnvView {
    let desired: Vec<Value> = match expect {
        Expectation::Absent | Expectation::Unrecorded => Vec::new(),
        Expectation::Deployed => desired.to_vec(),
        Expectation::Suspended => desired
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if d["kind"] == "Deployment" {
                    d["spec"]["replicas"] = Value::from(0);
                }
                d
            })
            .collect(),
    };
    let mut by_key: BTreeMap<(&str, &str), &LiveObject> = live
        .iter()
        .map(|o| ((o.kind.as_str(), o.name()), o))
        .collect();
    let env_pods = pods_of(live, pods);
    let mut objects = Vec::new();
    let mut healths = Vec::new();
    for d in &desired {
        let kind = d["kind"].as_str().unwrap_or("");
        let n = name(d);
        let found = by_key.remove(&(kind, n));
        let mut h = object_health(kind, found.map(|o| &o.object), n);
        if let Some(o) = found
            && kind == "Deployment"
        {
            h = deployment_with_pods(o, &env_pods, h);
        }
        let (sync, diff) = match found {
            None => (SyncState::Missing, Vec::new()),
            Some(o) => {
                // The kind was matched; list items carry no `apiVersion`.
                let mut d = d.clone();
                if let Some(m) = d.as_object_mut() {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
                let diff = differences(&d, &o.object);
                let sync = if diff.is_empty() {
                    SyncState::InSync
                } else {
                    SyncState::Drifted
                };
                (sync, diff)
            }
        };
        objects.push(ObjectView {
            kind: kind.to_owned(),
            name: n.to_owned(),
            health: h.health,
            reason: h.reason.clone(),
            sync,
            diff,
        });
        healths.push(h);
    }
    for o in by_key.into_values() {
        let mut h = object_health(&o.kind, Some(&o.object), o.name());
        if o.kind == "Deployment" {
            h = deployment_with_pods(o, &env_pods, h);
        }
        objects.push(ObjectView {
            kind: o.kind.clone(),
            name: o.name().to_owned(),
            health: h.health,
            reason: h.reason.clone(),
            sync: if expect == Expectation::Unrecorded {
                SyncState::InSync
            } else {
                SyncState::Extra
            },
            diff: Vec::new(),
        });
        healths.push(h);
    }
    let drifted = objects.iter().any(|o| o.sync != SyncState::InSync);
    let whole = if healths.is_empty() && expect == Expectation::Absent {
        ObjectHealth {
            health: EnvHealth::Missing,
            object: String::new(),
            reason: "not deployed".into(),
        }
    } else {
        environment(&healths)
    };
    EnvView {
        health: whole.health,
        reason: whole.reason,
        decided_by: whole.object,
        drifted,
        objects,
        pods: env_pods.into_iter().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rendered() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "lms-config-c1", "namespace": "lms-dev", "labels": {"app": "c1"}},
                "data": {"A": "1"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "lms-deployment-c1", "namespace": "lms-dev", "labels": {"app": "C1-lms"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "C1-lms"}},
                    "template": {"metadata": {"labels": {"app": "C1-lms"}},
                        "spec": {"containers": [{"name": "lms", "image": "lms:1"}]}}}}),
        ]
    }

    /// The rendered objects as the API server keeps them, all ready.
    fn served(objects: &[Value]) -> Vec<LiveObject> {
        objects
            .iter()
            .map(|d| {
                let mut o = d.clone();
                o["metadata"]["uid"] = json!("u");
                o["metadata"]["generation"] = json!(1);
                if d["kind"] == "Deployment" {
                    let n = d["spec"]["replicas"].clone();
                    o["status"] = json!({"observedGeneration": 1, "replicas": n,
                        "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n});
                }
                LiveObject {
                    kind: d["kind"].as_str().unwrap().to_owned(),
                    object: slim(d["kind"].as_str().unwrap(), &o),
                }
            })
            .collect()
    }

    fn pod(name: &str, waiting: Option<&str>) -> Value {
        let state = match waiting {
            Some(r) => json!({"waiting": {"reason": r, "message": "back-off"}}),
            None => json!({"running": {}}),
        };
        json!({"metadata": {"name": name, "namespace": "lms-dev", "labels": {"app": "C1-lms"}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if waiting.is_none() {"True"} else {"False"}}],
                "containerStatuses": [{"name": "lms", "restartCount": 4, "state": state,
                    "lastState": {"terminated": {"exitCode": 1}}}]}})
    }

    #[test]
    fn an_environment_as_rendered_is_healthy_and_in_sync() {
        let v = assess(
            &rendered(),
            Expectation::Deployed,
            &served(&rendered()),
            &[pod("p1", None)],
        );
        assert_eq!((v.health, v.drifted), (EnvHealth::Healthy, false));
        assert_eq!(v.pods.len(), 1);
        assert!(v.objects.iter().all(|o| o.sync == SyncState::InSync));
    }

    #[test]
    fn each_kind_of_drift_is_named_with_its_field() {
        // A changed image and a scaled Deployment.
        let mut live = served(&rendered());
        live[1].object["spec"]["template"]["spec"]["containers"][0]["image"] = json!("lms:evil");
        live[1].object["spec"]["replicas"] = json!(3);
        let v = assess(&rendered(), Expectation::Deployed, &live, &[]);
        assert!(v.drifted);
        let paths: Vec<&str> = v.objects[1].diff.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            ["spec.replicas", "spec.template.spec.containers[0].image"]
        );
        assert_eq!(v.objects[1].diff[1].live, Some(json!("lms:evil")));
        // A removed label.
        let mut live = served(&rendered());
        live[0].object["metadata"]["labels"] = json!({});
        let v = assess(&rendered(), Expectation::Deployed, &live, &[]);
        assert_eq!(v.objects[0].sync, SyncState::Drifted);
        assert_eq!(v.objects[0].diff[0].path, "metadata.labels.app");
        // A deleted object: missing, and the environment with it.
        let live = served(&rendered()[1..]);
        let v = assess(&rendered(), Expectation::Deployed, &live, &[]);
        assert_eq!(v.objects[0].sync, SyncState::Missing);
        assert_eq!(
            (v.health, v.decided_by.as_str()),
            (EnvHealth::Missing, "ConfigMap lms-config-c1")
        );
        // An object added by hand with the client's label.
        let mut live = served(&rendered());
        live.push(LiveObject {
            kind: "Service".into(),
            object: json!({"metadata": {"name": "by-hand", "namespace": "lms-dev"}}),
        });
        let v = assess(&rendered(), Expectation::Deployed, &live, &[]);
        assert!(v.drifted);
        assert_eq!(
            (v.objects[2].name.as_str(), v.objects[2].sync),
            ("by-hand", SyncState::Extra)
        );
    }

    #[test]
    fn a_failing_new_version_beside_a_serving_old_one_is_said_so() {
        let mut live = served(&rendered());
        // The rollout of a new image: one old pod serves, the new one crashes.
        live[1].object["metadata"]["generation"] = json!(2);
        live[1].object["status"] = json!({"observedGeneration": 2, "replicas": 2,
            "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1});
        let pods = [pod("old", None), pod("new", Some("CrashLoopBackOff"))];
        let v = assess(&rendered(), Expectation::Deployed, &live, &pods);
        assert_eq!(v.health, EnvHealth::Degraded);
        assert!(
            v.reason
                .starts_with("new version failing, previous version still serving"),
            "{}",
            v.reason
        );
        assert!(v.reason.contains("CrashLoopBackOff"), "{}", v.reason);
        // With nothing serving, it is the pod's own failure.
        live[1].object["status"]["availableReplicas"] = json!(0);
        let v = assess(&rendered(), Expectation::Deployed, &live, &pods[1..]);
        assert_eq!(v.health, EnvHealth::Degraded);
        assert!(v.reason.starts_with("Pod lms-dev/new: CrashLoopBackOff"));
    }

    #[test]
    fn a_suspended_environment_expects_zero_replicas() {
        let mut zero = rendered();
        zero[1]["spec"]["replicas"] = json!(0);
        let live = served(&zero);
        let v = assess(&rendered(), Expectation::Suspended, &live, &[]);
        assert_eq!((v.health, v.drifted), (EnvHealth::Suspended, false));
        // Deployed, the same zero is drift.
        assert!(assess(&rendered(), Expectation::Deployed, &live, &[]).drifted);
        // Decommissioned, what is left is extra.
        let v = assess(&rendered(), Expectation::Absent, &live, &[]);
        assert!(v.drifted && v.objects.iter().all(|o| o.sync == SyncState::Extra));
        let v = assess(&rendered(), Expectation::Absent, &[], &[]);
        assert_eq!((v.health, v.drifted), (EnvHealth::Missing, false));
        // Never deployed successfully: judged for health, with nothing to drift from.
        let v = assess(&[], Expectation::Unrecorded, &live, &[]);
        assert_eq!((v.health, v.drifted), (EnvHealth::Suspended, false));
    }

    #[test]
    fn the_cache_keeps_what_health_and_drift_read() {
        let mut d = rendered()[1].clone();
        d["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        d["metadata"]["annotations"] = json!({LAST_APPLIED: "{…}", "keep": "me"});
        let s = slim("Deployment", &d);
        assert!(s["metadata"].get("managedFields").is_none());
        assert_eq!(s["metadata"]["annotations"], json!({"keep": "me"}));
        let mut p = pod("p", None);
        p["spec"] = json!({"containers": [{"name": "lms", "image": "i", "env": [{"name": "SECRET"}]}],
            "volumes": [{"name": "v"}], "nodeName": "n1"});
        let s = slim("Pod", &p);
        assert_eq!(
            s["spec"],
            json!({"containers": [{"name": "lms", "image": "i"}], "nodeName": "n1"})
        );
        assert_eq!(s["status"], p["status"]);
    }
}
