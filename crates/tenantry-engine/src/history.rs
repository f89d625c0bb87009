//! An environment's revisions as a person reads them: number, run, time, image, and what
//! changed since the previous one (the fields, never their values: manifests hold
//! secrets).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use tenantry_core::ClientId;
use tenantry_core::drift::differences;
use tenantry_store::{Catalog, StoreError};

/// One revision, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionSummary {
    pub number: i64,
    pub run: i64,
    pub created_at: String,
    pub image: String,
    /// `Deployment lms-deployment-c1: spec.template.spec.containers[0].image`, `added
    /// Service …`; empty when nothing changed.
    pub changes: Vec<String>,
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
    let mut out = Vec::with_capacity(revisions.len());
    let mut previous: Option<&[Value]> = None;
    for r in &revisions {
        out.push(RevisionSummary {
            number: r.number,
            run: r.run,
            created_at: r.created_at.clone(),
            image: r.image.clone(),
            changes: previous.map_or_else(Vec::new, |p| changes(p, &r.manifests)),
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
}
