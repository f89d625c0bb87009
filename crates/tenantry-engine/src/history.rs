//! An environment's revisions as a person reads them: number, run, time, image, and what
//! changed since the previous one: the fields, and each changed object before and after
//! with every secret masked (a Secret's data always; elsewhere every value the
//! client's and namespace's secrets hold, e.g. a password inside a DSN).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use tenantry_core::drift::differences;
use tenantry_core::secret::MASK;
use tenantry_core::{ClientId, Redactor};
use tenantry_store::{Catalog, StoreError};

/// One revision, summarised.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RevisionSummary {
    pub number: i64,
    pub run: i64,
    pub created_at: String,
    pub image: String,
    /// `Deployment lms-deployment-c1: spec.template.spec.containers[0].image`, `added
    /// Service …`; empty when nothing changed.
    pub changes: Vec<String>,
    /// Each object that changed, as pretty JSON before and after, secrets masked.
    pub diffs: Vec<ObjectDiff>,
}

/// One object of a revision that differs from the revision before.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ObjectDiff {
    /// `Deployment lms-deployment-c1`.
    pub object: String,
    /// The masked object before (`None`: added).
    pub before: Option<String>,
    /// The masked object after (`None`: removed).
    pub after: Option<String>,
}

/// `m` as it may be shown: a Secret's data values masked, then every known secret.
pub fn masked(m: &Value, redactor: &Redactor) -> Value {
    let mut v = m.clone();
    if v["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(map) = v.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    *value = Value::String(MASK.to_owned());
                }
            }
        }
    }
    redactor.json(&v)
}

/// The objects that differ from `before` to `after`, masked.
pub fn diffs(before: &[Value], after: &[Value], redactor: &Redactor) -> Vec<ObjectDiff> {
    let old: BTreeMap<String, &Value> = before.iter().map(body).map(|m| (key(m), m)).collect();
    let new: BTreeMap<String, &Value> = after.iter().map(body).map(|m| (key(m), m)).collect();
    let show = |m: &Value| serde_json::to_string_pretty(&masked(m, redactor)).unwrap_or_default();
    let mut out = Vec::new();
    for (k, m) in &new {
        match old.get(k) {
            None => out.push(ObjectDiff {
                object: k.clone(),
                before: None,
                after: Some(show(m)),
            }),
            Some(o) if differences(m, o).is_empty() && differences(o, m).is_empty() => {}
            Some(o) => out.push(ObjectDiff {
                object: k.clone(),
                before: Some(show(o)),
                after: Some(show(m)),
            }),
        }
    }
    for (k, o) in &old {
        if !new.contains_key(k) {
            out.push(ObjectDiff {
                object: k.clone(),
                before: Some(show(o)),
                after: None,
            });
        }
    }
    out
}

fn key(m: &Value) -> String {
    format!(
        "{} {}",
        m["kind"].as_str().unwrap_or("object"),
        m.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

/// The object of a revision's entry (older revisions held the objects themselves).
fn body(entry: &Value) -> &Value {
    entry.get("body").unwrap_or(entry)
}

/// What changed from `before` to `after`, object by object, field by field.
pub fn changes(before: &[Value], after: &[Value]) -> Vec<String> {
    let old: BTreeMap<String, &Value> = before.iter().map(body).map(|m| (key(m), m)).collect();
    let new: BTreeMap<String, &Value> = after.iter().map(body).map(|m| (key(m), m)).collect();
    let mut out = Vec::new();
    for (k, m) in &new {
        match old.get(k) {
            None => out.push(format!("added {k}")),
            Some(o) => {
                let fields: BTreeSet<String> = differences(m, o)
                    .into_iter()
                    .chain(differences(o, m))
                    .map(|d| d.path)
                    .collect();
                out.extend(fields.into_iter().map(|f| format!("{k}: {f}")));
            }
        }
    }
    out.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| format!("removed {k}")),
    );
    out
}

/// The revisions of `client` in `ns`, oldest first.
pub async fn history(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<Vec<RevisionSummary>, StoreError> {
    let revisions = catalog.revisions(client, ns).await?;
    // Without the namespace (removed since), Secrets' data is still masked.
    let redactor = crate::plan::redactor(catalog, client, ns)
        .await
        .unwrap_or_default();
    let mut out = Vec::with_capacity(revisions.len());
    let mut previous: Option<&[Value]> = None;
    for r in &revisions {
        out.push(RevisionSummary {
            number: r.number,
            run: r.run,
            created_at: r.created_at.clone(),
            image: r.image.clone(),
            changes: previous.map_or_else(Vec::new, |p| changes(p, &r.manifests)),
            diffs: previous.map_or_else(Vec::new, |p| diffs(p, &r.manifests, &redactor)),
        });
        previous = Some(&r.manifests);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_name_objects_and_fields_but_not_values() {
        let dep = |image: &str| json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}});
        let secret =
            json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "c2VjcmV0"}});
        let svc = json!({"kind": "Service", "metadata": {"name": "v"}});
        let before = [dep("lms:1"), secret.clone()];
        let after = [dep("lms:2"), svc];
        let c = changes(&before, &after);
        assert_eq!(
            c,
            [
                "Deployment d: spec.template.spec.containers[0].image",
                "added Service v",
                "removed Secret s"
            ]
        );
        assert!(!c.join(" ").contains("c2VjcmV0"));
        assert!(changes(&before, &before).is_empty());
    }

    #[test]
    fn diffs_show_objects_before_and_after_with_secrets_masked() {
        let cm = |dsn: &str| json!({"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"DSN": dsn}});
        let secret =
            |k: &str| json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": k}});
        let r = Redactor::new(&[
            secrecy::SecretString::from("pw-one-secret"),
            secrecy::SecretString::from("pw-two-secret"),
        ]);
        let d = diffs(
            &[cm("postgres://u:pw-one-secret@h/db"), secret("c2VjcmV0")],
            &[cm("postgres://u:pw-two-secret@h/db"), secret("b3RoZXI=")],
            &r,
        );
        assert_eq!(d.len(), 2, "{d:?}");
        let all = serde_json::to_string(&d).unwrap();
        for leaked in ["pw-one-secret", "pw-two-secret", "c2VjcmV0", "b3RoZXI="] {
            assert!(!all.contains(leaked), "{leaked} in {all}");
        }
        assert!(
            d[0].before
                .as_deref()
                .unwrap()
                .contains("postgres://u:••••••@h/db")
        );
        assert!(diffs(&[cm("x")], &[cm("x")], &r).is_empty());
    }
}
