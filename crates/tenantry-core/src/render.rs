//! The macro renderer: JSON templates in, JSON out, values substituted inside strings.
//!
//! A template is parsed as JSON before anything is substituted, and values only ever land
//! inside JSON strings (or object keys) of the parsed tree. Serialising the tree escapes
//! them, so no value can change the structure of a request body.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::macros::{self, Filter, MacroSyntaxError, Segment};
use crate::secret::MASK;

/// A template body that is valid JSON, with the position of the first error otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {problem}")]
pub struct JsonSyntaxError {
    pub line: usize,
    pub column: usize,
    pub problem: String,
}

/// Parses a template body; invalid JSON is reported with its line and column.
pub fn parse_json(text: &str) -> Result<Value, JsonSyntaxError> {
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let problem = match full.rfind(" at line ") {
            Some(i) => full[..i].to_owned(),
            None => full,
        };
        JsonSyntaxError {
            line: e.line(),
            column: e.column(),
            problem,
        }
    })
}

/// A value a macro can take.
#[derive(Debug, Clone)]
pub enum MacroValue {
    Plain(String),
    Secret(SecretString),
}

/// The values of one rendering: client, namespace and global parameters merged.
#[derive(Debug, Clone, Default)]
pub struct Values(BTreeMap<String, MacroValue>);

impl Values {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn plain(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.0
            .insert(name.to_owned(), MacroValue::Plain(value.into()));
        self
    }

    pub fn secret(&mut self, name: &str, value: SecretString) -> &mut Self {
        self.0.insert(name.to_owned(), MacroValue::Secret(value));
        self
    }

    pub fn get(&self, name: &str) -> Option<&MacroValue> {
        self.0.get(name)
    }
}

/// Whether secret values appear in the output or are masked (dry runs, logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    Reveal,
    Mask,
}

/// A macro that has no value, and where it is used (a JSON pointer into the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Every macro without a value, not just the first.
    #[error("{}", missing_text(.0))]
    Missing(Vec<Missing>),
    #[error("at {at}: {error}")]
    Syntax { at: String, error: MacroSyntaxError },
}

fn missing_text(missing: &[Missing]) -> String {
    let list = missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "{} macro use(s) have no value: {list}; set them with `tenantry param set`",
        missing.len()
    )
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{{}}}}} at {}", self.name, self.at)
    }
}

/// Renders a parsed template: every string and key has its macros replaced.
pub fn render(template: &Value, values: &Values, secrets: Secrets) -> Result<Value, RenderError> {
    let mut missing = Vec::new();
    let out = walk(template, values, secrets, &mut String::new(), &mut missing)?;
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(RenderError::Missing(missing))
    }
}

/// Renders one text (an env var value, a URL path).
pub fn render_text(
    text: &str,
    values: &Values,
    secrets: Secrets,
    at: &str,
) -> Result<String, RenderError> {
    let mut missing = Vec::new();
    let out = substitute(text, values, secrets, at, &mut missing)?;
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(RenderError::Missing(missing))
    }
}

fn walk(
    v: &Value,
    values: &Values,
    secrets: Secrets,
    path: &mut String,
    missing: &mut Vec<Missing>,
) -> Result<Value, RenderError> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(s, values, secrets, pointer(path), missing)?),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                out.push(walk(item, values, secrets, path, missing)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, item) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                let key = substitute(k, values, secrets, pointer(path), missing)?;
                let rendered = walk(item, values, secrets, path, missing)?;
                out.insert(key, rendered);
                path.truncate(len);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn pointer(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn substitute(
    text: &str,
    values: &Values,
    secrets: Secrets,
    at: &str,
    missing: &mut Vec<Missing>,
) -> Result<String, RenderError> {
    let segments = macros::parse(text).map_err(|error| RenderError::Syntax {
        at: at.to_owned(),
        error,
    })?;
    let mut out = String::with_capacity(text.len());
    for seg in segments {
        match seg {
            Segment::Text(t) => out.push_str(t),
            Segment::Macro(m) => match values.get(&m.name) {
                None => missing.push(Missing {
                    name: m.name,
                    at: at.to_owned(),
                }),
                Some(MacroValue::Secret(_)) if secrets == Secrets::Mask => out.push_str(MASK),
                Some(value) => {
                    let raw = match value {
                        MacroValue::Plain(p) => p.as_str(),
                        MacroValue::Secret(s) => s.expose_secret(),
                    };
                    out.push_str(&apply(raw, &m.filters));
                }
            },
        }
    }
    Ok(out)
}

fn apply(value: &str, filters: &[Filter]) -> String {
    filters.iter().fold(value.to_owned(), |v, f| match f {
        Filter::Lower => v.to_lowercase(),
        Filter::Upper => v.to_uppercase(),
        Filter::Base64 => base64::engine::general_purpose::STANDARD.encode(v.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn values() -> Values {
        let mut v = Values::new();
        v.plain("client-id", "C42")
            .plain("namespace-id", "lms-dev")
            .secret("postgres-user-password", SecretString::from("pw123"));
        v
    }

    #[test]
    fn invalid_json_is_refused_with_line_and_column() {
        // The document's ConfigMap: no comma after LMS_KEYS_PRIVATE_KEY_PATH.
        let text = "{\n  \"data\": {\n    \"LMS_KEYS_PRIVATE_KEY_PATH\": \"{{keys-rsa-path}}\"\n\n    \"LMS_LOGS_DIRECTORY\": \"logs\"\n  }\n}";
        let e = parse_json(text).unwrap_err();
        assert_eq!((e.line, e.column), (5, 5), "{e}");
        assert!(e.problem.contains("expected `,` or `}`"), "{e}");
        // The document's Ingress: a trailing comma before `]`.
        let e = parse_json("{\"rules\": [\n  {\"host\": \"x\"},\n]}").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.problem.contains("trailing comma"), "{e}");
    }

    #[test]
    fn macros_are_replaced_inside_strings_with_filters() {
        let t = json!({
            "metadata": {"name": "lms-config-{{client-id | lower}}", "namespace": "{{namespace-id}}",
                          "labels": {"app": "{{client-id}}-lms"}},
            "data": {"DSN": "postgres://{{client-id|lower}}:{{postgres-user-password}}@h/{{client-id | lower}}",
                     "K": "{{client-id | base64}}"},
            "replicas": 1
        });
        let out = render(&t, &values(), Secrets::Reveal).unwrap();
        assert_eq!(out["metadata"]["name"], "lms-config-c42");
        assert_eq!(out["metadata"]["labels"]["app"], "C42-lms");
        assert_eq!(out["data"]["DSN"], "postgres://c42:pw123@h/c42");
        assert_eq!(out["data"]["K"], "QzQy");
        assert_eq!(out["replicas"], 1);
        let masked = render(&t, &values(), Secrets::Mask).unwrap();
        assert_eq!(masked["data"]["DSN"], "postgres://c42:••••••@h/c42");
    }

    #[test]
    fn every_missing_macro_is_named_with_where_it_is_used() {
        let t = json!({"a": "{{clickhouse-host}}", "b": ["{{public-dns}}", "{{client-id}}"]});
        match render(&t, &values(), Secrets::Reveal).unwrap_err() {
            RenderError::Missing(m) => assert_eq!(
                m,
                vec![
                    Missing {
                        name: "clickhouse-host".into(),
                        at: "/a".into()
                    },
                    Missing {
                        name: "public-dns".into(),
                        at: "/b/0".into()
                    },
                ]
            ),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn hostile_values_stay_inside_their_string() {
        for name in [
            "O\"Brien \\ \", \"x\": \"",
            "line1\nline2\t\u{0}",
            "ООО «Ромашка» 🚀",
            "{{client-id}}",
            "</script><b>",
        ] {
            let mut v = values();
            v.plain("organisation-name", name);
            let t = json!({"metadata": {"annotations": {"org": "{{organisation-name}}"}}});
            let out = render(&t, &v, Secrets::Reveal).unwrap();
            let text = serde_json::to_string(&out).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back["metadata"]["annotations"]["org"], name);
            assert_eq!(
                back["metadata"]["annotations"].as_object().unwrap().len(),
                1
            );
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z{}| -]{0,12}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z{}-]{0,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn rendering_never_panics_and_always_yields_valid_json(
            t in arb_json(),
            org in any::<String>(),
            id in any::<String>(),
        ) {
            let mut v = Values::new();
            v.plain("organisation-name", org).plain("client-id", id).plain("a", "x");
            if let Ok(out) = render(&t, &v, Secrets::Mask) {
                let text = serde_json::to_string(&out).unwrap();
                prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            }
        }
    }
}
