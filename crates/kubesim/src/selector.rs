//! Label selectors (`a=b,c!=d,e in (f,g),h notin (i),j,!k`) and field selectors.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Req>);

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a set in parentheses, found {s:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top(s)
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let req = if let Some((k, v)) = part.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once(" notin ") {
                Req::NotIn(k.trim().into(), set(v)?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                Req::In(k.trim().into(), set(v)?)
            } else if let Some(k) = part.strip_prefix('!') {
                Req::NotExists(k.trim().into())
            } else if part.contains(char::is_whitespace) || part.contains('(') {
                return Err(format!("unable to parse requirement: {part:?}"));
            } else {
                Req::Exists(part.into())
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// From a `matchLabels` map (a Deployment's selector).
    pub fn from_match_labels(labels: &Value) -> Self {
        Self(
            labels
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| Req::Eq(k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
        )
    }

    /// From a `LabelSelector` object (`matchLabels` and `matchExpressions`), as a
    /// Deployment's or a ReplicaSet's `spec.selector`; the problems of its expressions
    /// come back as (field below `at`, reason, detail) in the API server's words.
    pub fn from_object(sel: &Value, at: &str) -> Result<Self, Vec<(String, &'static str, String)>> {
        let mut reqs = Self::from_match_labels(sel.get("matchLabels").unwrap_or(&Value::Null)).0;
        let mut problems = Vec::new();
        let exprs = sel.get("matchExpressions").and_then(Value::as_array);
        for (i, e) in exprs.into_iter().flatten().enumerate() {
            let field = |f: &str| format!("{at}.matchExpressions[{i}].{f}");
            let key = e["key"].as_str().unwrap_or_default().to_owned();
            let values: Vec<String> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            let op = e["operator"].as_str().unwrap_or_default();
            match op {
                "In" | "NotIn" if values.is_empty() => problems.push((
                    field("values"),
                    "required",
                    "must be specified when `operator` is 'In' or 'NotIn'".to_owned(),
                )),
                "Exists" | "DoesNotExist" if !values.is_empty() => problems.push((
                    field("values"),
                    "forbidden",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_owned(),
                )),
                "In" => reqs.push(Req::In(key, values)),
                "NotIn" => reqs.push(Req::NotIn(key, values)),
                "Exists" => reqs.push(Req::Exists(key)),
                "DoesNotExist" => reqs.push(Req::NotExists(key)),
                other => problems.push((
                    field("operator"),
                    "invalid",
                    format!("{other:?}: not a valid selector operator"),
                )),
            }
        }
        if problems.is_empty() {
            Ok(Self(reqs))
        } else {
            Err(problems)
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A field selector: `metadata.name=x,status.phase!=Running`.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

const FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.name",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "type",
    "reason",
    "source",
    "reportingComponent",
];

/// Where a selectable field's value is, when that is not its own path.
fn pointer_of(field: &str) -> String {
    match field {
        // An Event's `source` selects on its component.
        "source" => "/source/component".to_owned(),
        f => format!("/{}", f.replace('.', "/")),
    }
}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!("invalid field selector: {part:?}"));
            };
            let field = field.trim();
            if !FIELDS.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            out.push((field.to_owned(), eq, value.trim().to_owned()));
        }
        Ok(Self(out))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, value)| {
            let actual = obj
                .pointer(&pointer_of(field))
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn label_selectors_support_every_operator() {
        let pod = json!({"metadata": {"labels": {"app": "C42-lms", "tier": "web"}}});
        let cases = [
            ("app=C42-lms", true),
            ("app==C42-lms", true),
            ("app!=C42-lms", false),
            ("tier in (web, db)", true),
            ("tier notin (web)", false),
            ("tier,app", true),
            ("!tier", false),
            ("missing", false),
            ("!missing", true),
            ("app=C42-lms,tier in (db)", false),
            ("", true),
        ];
        for (s, want) in cases {
            assert_eq!(LabelSelector::parse(s).unwrap().matches(&pod), want, "{s}");
        }
        assert!(LabelSelector::parse("tier in web").is_err());
    }

    #[test]
    fn field_selectors_match_names_and_involved_objects() {
        let ev = json!({"metadata": {"name": "e1"}, "involvedObject": {"name": "pod-a"}});
        assert!(
            FieldSelector::parse("involvedObject.name=pod-a")
                .unwrap()
                .matches(&ev)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=e1")
                .unwrap()
                .matches(&ev)
        );
        assert!(FieldSelector::parse("spec.whatever=x").is_err());
        // What `kubectl events --for pod/pod-a` sends.
        let ev = json!({"involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "pod-a"},
                        "source": {"component": "kubelet"}});
        let sel = FieldSelector::parse(
            "involvedObject.apiVersion=v1,involvedObject.kind=Pod,involvedObject.name=pod-a,source=kubelet",
        )
        .unwrap();
        assert!(sel.matches(&ev));
    }
}
