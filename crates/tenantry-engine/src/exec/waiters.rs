//! Which watches a wave's waits share. Steps that wait for the same kind of object in
//! the same place share one watch on the objects (by the labels they all carry) and one
//! on their pods (`key in (…)` when their pods differ by one label's value); a step that
//! cannot share watches its object by name and its pods by their labels. Every watch
//! starts without a version, so it first tells the current state: nothing that happened
//! between the request and the watch is missed, and nothing is listed first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tenantry_kube::{Expression, ListSpec, Selector};

use super::watch::{Feed, Pump, Shared, Watched, name_of};
use crate::step::{Action, Step, Until};

/// What a waiting step watches, shared with the wave's steps that wait for the same
/// kind of object: the objects' list and their pods' list.
pub(crate) struct Waiter {
    pub(crate) ns: String,
    pub(crate) name: String,
    /// The labels its pods carry (`job-name`, or the Deployment's `matchLabels`).
    pub(crate) pod_labels: BTreeMap<String, String>,
    objects: Feed,
    /// None when its pods cannot be told by labels (a selector of expressions only): the
    /// object's own status is all there is to judge, rather than every pod around.
    pods: Option<Feed>,
}

/// A Deployment's `matchLabels`: the labels its pods carry.
pub(crate) fn match_labels(dep: &Value) -> BTreeMap<String, String> {
    dep.pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn selector(labels: &BTreeMap<String, String>) -> Selector {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(crate) fn pods_list(ns: &str, labels: Selector) -> ListSpec {
    ListSpec::new(format!("api/v1/namespaces/{ns}/pods")).labels(labels)
}

fn has_labels(obj: &Value, labels: &BTreeMap<String, String>) -> bool {
    labels.iter().all(|(k, v)| {
        obj.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v)
    })
}

struct Want {
    collection: String,
    ns: String,
    name: String,
    labels: BTreeMap<String, String>,
    pod_labels: BTreeMap<String, String>,
}

fn want(step: &Step, object: &Value) -> Option<Want> {
    let (collection, name, labels) = match (&step.action, &step.target) {
        (Action::Apply { body, .. }, _) => {
            let name = body.pointer("/metadata/name").and_then(Value::as_str)?;
            let labels = body
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            (
                step.path.split('?').next().unwrap_or("").to_owned(),
                name.to_owned(),
                labels,
            )
        }
        (_, Some(target)) => (
            target.collection.clone(),
            target.name.clone(),
            BTreeMap::new(),
        ),
        (_, None) => return None,
    };
    let pod_labels = match step.until {
        Until::JobComplete => BTreeMap::from([("job-name".to_owned(), name.clone())]),
        Until::RolloutReady | Until::ScaledTo(_) => match_labels(object),
        Until::Nothing | Until::PodsReady | Until::Gone => return None,
    };
    Some(Want {
        collection,
        ns: step.namespace(),
        name,
        labels,
        pod_labels,
    })
}

/// The waiters of a wave's sent steps (`None` for a step that waits on no object) and
/// the pumps that keep their lists.
pub(crate) fn waiters(sent: &[(&Step, Value)]) -> (Vec<Option<Waiter>>, Vec<Pump>) {
    let wants: Vec<Option<Want>> = sent.iter().map(|(s, o)| want(s, o)).collect();
    let mut out: Vec<Option<Waiter>> = wants.iter().map(|_| None).collect();
    let mut pumps: Vec<Pump> = Vec::new();
    let mut share = |w: Watched| {
        let list = Shared::new(&w);
        pumps.push((list.clone(), w));
        list
    };
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, w) in wants.iter().enumerate() {
        if let Some(w) = w {
            groups
                .entry((w.collection.clone(), w.ns.clone()))
                .or_default()
                .push(i);
        }
    }
    let seed = |members: &[usize]| {
        members
            .iter()
            .map(|&i| sent[i].1.clone())
            .collect::<Vec<_>>()
    };
    for members in groups.into_values() {
        let ws: Vec<&Want> = members.iter().filter_map(|&i| wants[i].as_ref()).collect();
        // Labels every object of the group carries, and the one pod label they vary by.
        let common: BTreeMap<String, String> = ws[0]
            .labels
            .iter()
            .filter(|(k, v)| ws.iter().all(|w| w.labels.get(*k) == Some(v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let pod_key = ws[0].pod_labels.keys().next().cloned().filter(|k| {
            ws.iter()
                .all(|w| w.pod_labels.len() == 1 && w.pod_labels.contains_key(k))
        });
        match pod_key {
            Some(key) if ws.len() > 1 && !common.is_empty() => {
                let values: BTreeSet<String> =
                    ws.iter().map(|w| w.pod_labels[&key].clone()).collect();
                let objects = share(Watched::new(
                    ListSpec::new(ws[0].collection.as_str()).labels(selector(&common)),
                    seed(&members),
                ));
                let pods = share(Watched::new(
                    pods_list(&ws[0].ns, Expression::In(key, values).into()),
                    [],
                ));
                for (&i, w) in members.iter().zip(&ws) {
                    out[i] = Some(Waiter {
                        ns: w.ns.clone(),
                        name: w.name.clone(),
                        pod_labels: w.pod_labels.clone(),
                        objects: objects.feed(),
                        pods: Some(pods.feed()),
                    });
                }
            }
            _ => {
                for (&i, w) in members.iter().zip(&ws) {
                    let objects = share(Watched::new(
                        ListSpec::named(w.collection.as_str(), &w.name),
                        seed(&[i]),
                    ));
                    let pods = (!w.pod_labels.is_empty()).then(|| {
                        share(Watched::new(pods_list(&w.ns, selector(&w.pod_labels)), [])).feed()
                    });
                    out[i] = Some(Waiter {
                        ns: w.ns.clone(),
                        name: w.name.clone(),
                        pod_labels: w.pod_labels.clone(),
                        objects: objects.feed(),
                        pods,
                    });
                }
            }
        }
    }
    (out, pumps)
}

impl Waiter {
    /// The step's object (`None` once it is gone from the cluster) and its pods, as
    /// last seen (marked seen).
    pub(crate) fn state(&mut self) -> Result<(Option<Value>, Vec<Value>), String> {
        let objects = self.objects.snapshot()?;
        let pods = match &mut self.pods {
            Some(pods) => pods.snapshot()?,
            None => Arc::default(),
        };
        let object = objects.iter().find(|o| name_of(o) == self.name).cloned();
        let pods = pods
            .iter()
            .filter(|p| has_labels(p, &self.pod_labels))
            .cloned()
            .collect();
        Ok((object, pods))
    }

    /// Waits for a change of the object or of its pods, or a tick (time-based rules
    /// are looked at again).
    pub(crate) async fn changed(&mut self, tick: Duration) {
        let Self { objects, pods, .. } = self;
        objects.shared.wanted.notify_one();
        let pods_changed = async {
            match pods {
                Some(p) => {
                    p.shared.wanted.notify_one();
                    if p.rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = objects.rx.changed() => {
                if r.is_err() {
                    tokio::time::sleep(tick).await;
                }
            }
            () = pods_changed => {}
            () = tokio::time::sleep(tick) => {}
        }
    }
}
