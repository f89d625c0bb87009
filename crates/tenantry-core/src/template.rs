//! Request templates (R3): what is sent (method, path, JSON body with macros), what the
//! engine waits for after sending it, and which templates must be done before it.
//!
//! A template is written as one JSON file (the export/import format, also what an
//! operator edits); parsing it is the only way to get a `Template`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::macros::{self, MacroSyntaxError, is_macro_name};
use crate::render::JsonSyntaxError;

/// A template's name: lower-case letters, digits and dashes, e.g. `clickhouse-setup`.
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
)]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TemplateName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "template name {0:?} is invalid: use lower-case letters, digits and dashes, e.g. clickhouse-setup"
)]
pub struct TemplateNameError(String);

impl TemplateName {
    pub fn parse(input: &str) -> Result<Self, TemplateNameError> {
        if is_macro_name(input) && input.len() <= 63 {
            Ok(Self(input.to_owned()))
        } else {
            Err(TemplateNameError(input.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TemplateName {
    type Err = TemplateNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for TemplateName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn needs_body(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine waits for after a template's request succeeded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WaitFor {
    /// Nothing: the object exists.
    #[default]
    None,
    /// The Job it created has the `Complete` condition.
    JobComplete,
    /// The Deployment it created is rolled out and all its replicas are ready.
    RolloutReady,
    /// Every pod the request selects is running and ready.
    PodsReady,
}

/// Which operation a template belongs to: the deploy's plan (the default), or the
/// teardown a decommission with `--drop-databases` runs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    #[default]
    Deploy,
    Decommission,
}

impl Stage {
    pub fn is_deploy(&self) -> bool {
        *self == Self::Deploy
    }
}

/// A template as written in its file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: TemplateName,
    #[serde(default)]
    pub description: String,
    pub method: Method,
    /// Path below the namespace's API root; may use macros.
    pub path: String,
    #[serde(default)]
    pub wait: WaitFor,
    /// Templates that must be done (sent, and waited for) before this one.
    #[serde(default)]
    pub after: Vec<TemplateName>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Breaks ties between templates whose dependencies allow either order.
    #[serde(default)]
    pub order: i64,
    /// A JSON pointer into `body` where the namespace's env vars are merged (the
    /// ConfigMap's `/data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// The operation it belongs to (omitted in files: deploy).
    #[serde(default, skip_serializing_if = "Stage::is_deploy")]
    pub stage: Stage,
}

fn yes() -> bool {
    true
}

/// What is wrong with a template file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{0}")]
    Json(JsonSyntaxError),
    #[error("{0}")]
    Invalid(Invalid),
}

/// A template that parses as JSON but cannot be one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The path is absolute or empty.
    PathNotRelative(String),
    PathMacro(MacroSyntaxError),
    NeedsBody(Method),
    TakesNoBody(Method),
    /// Macros that do not parse, by where in the body.
    BodyMacros(Vec<(String, MacroSyntaxError)>),
    /// `env_at` points at no object in the body.
    EnvAt(String),
    AfterItself(TemplateName),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PathNotRelative(p) => write!(
                f,
                "path {p:?} must be relative to the API root, e.g. api/v1/namespaces/{{{{namespace-id}}}}/configmaps"
            ),
            Self::PathMacro(e) => write!(f, "path: {e}"),
            Self::NeedsBody(m) => write!(f, "a {m} request needs a \"body\""),
            Self::TakesNoBody(m) => write!(f, "a {m} request takes no \"body\""),
            Self::BodyMacros(errors) => {
                let parts: Vec<String> = errors
                    .iter()
                    .map(|(at, e)| format!("body at {at}: {e}"))
                    .collect();
                f.write_str(&parts.join("; "))
            }
            Self::EnvAt(at) => write!(
                f,
                "\"env_at\": {at:?} does not point at an object in the body"
            ),
            Self::AfterItself(n) => write!(f, "template {n} cannot come after itself"),
        }
    }
}

impl Template {
    /// Parses and checks a template file: JSON syntax (line and column), fields, macros.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        crate::render::parse_json(text).map_err(TemplateError::Json)?;
        let t: Self = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let problem = full
                .rfind(" at line ")
                .map_or(full.clone(), |i| full[..i].to_owned());
            TemplateError::Json(JsonSyntaxError {
                line: e.line(),
                column: e.column(),
                problem,
            })
        })?;
        t.check()?;
        Ok(t)
    }

    /// The file form: pretty JSON with a final newline, as exported.
    pub fn to_file(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    fn check(&self) -> Result<(), TemplateError> {
        let bad = |i: Invalid| Err(TemplateError::Invalid(i));
        if self.path.contains("://") || self.path.trim().is_empty() {
            return bad(Invalid::PathNotRelative(self.path.clone()));
        }
        if let Err(e) = macros::parse(&self.path) {
            return bad(Invalid::PathMacro(e));
        }
        match (&self.body, self.method.needs_body()) {
            (None, true) => return bad(Invalid::NeedsBody(self.method)),
            (Some(_), false) => return bad(Invalid::TakesNoBody(self.method)),
            _ => {}
        }
        if let Some(body) = &self.body {
            let mut errors = Vec::new();
            visit_strings(body, &mut String::new(), &mut |at, s| {
                if let Err(e) = macros::parse(s) {
                    errors.push((at.to_owned(), e));
                }
            });
            if !errors.is_empty() {
                return bad(Invalid::BodyMacros(errors));
            }
        }
        if let Some(at) = &self.env_at {
            let target = self.body.as_ref().and_then(|b| b.pointer(at));
            if !target.is_some_and(Value::is_object) {
                return bad(Invalid::EnvAt(at.clone()));
            }
        }
        if self.after.contains(&self.name) {
            return bad(Invalid::AfterItself(self.name.clone()));
        }
        Ok(())
    }

    /// Where the template puts a secret into a request's path or an object's name,
    /// namespace or labels: there the value would be shown in URLs, run records, the
    /// cluster's error messages and logs, so it is refused. `is_secret` tells which
    /// macro names are secret.
    pub fn secrets_in_names(&self, is_secret: &dyn Fn(&str) -> bool) -> Vec<String> {
        self.secret_uses(is_secret)
            .into_iter()
            .map(|(at, name)| format!(
                "{at} uses the secret {{{{{name}}}}}; secrets may not be part of a path, a name or a label, where anyone who sees the run could read them"
            ))
            .collect()
    }

    /// [`Template::secrets_in_names`] as (where, macro name) pairs.
    pub fn secret_uses(&self, is_secret: &dyn Fn(&str) -> bool) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = |at: &str, text: &str| {
            for m in macros::macros_in(text).unwrap_or_default() {
                if is_secret(&m.name) {
                    out.push((at.to_owned(), m.name));
                }
            }
        };
        check("path", &self.path);
        if let Some(body) = &self.body {
            for at in [
                "/metadata/name",
                "/metadata/generateName",
                "/metadata/namespace",
            ] {
                if let Some(Value::String(s)) = body.pointer(at) {
                    check(&format!("body at {at}"), s);
                }
            }
            for at in [
                "/metadata/labels",
                "/spec/selector/matchLabels",
                "/spec/template/metadata/labels",
            ] {
                if let Some(Value::Object(m)) = body.pointer(at) {
                    for (k, v) in m {
                        check(&format!("body at {at}"), k);
                        if let Value::String(v) = v {
                            check(&format!("body at {at}/{k}"), v);
                        }
                    }
                }
            }
        }
        out
    }

    /// Every macro name the template uses (path and body), sorted.
    pub fn macros_used(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |s: &str| {
            if let Ok(ms) = macros::macros_in(s) {
                out.extend(ms.into_iter().map(|m| m.name));
            }
        };
        add(&self.path);
        if let Some(body) = &self.body {
            visit_strings(body, &mut String::new(), &mut |_, s| add(s));
        }
        out
    }
}

/// Calls `f(pointer, text)` for every string and object key in a JSON tree.
pub fn visit_strings(v: &Value, path: &mut String, f: &mut dyn FnMut(&str, &str)) {
    match v {
        Value::String(s) => f(if path.is_empty() { "/" } else { path }, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                visit_strings(item, path, f);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                f(path, k);
                visit_strings(item, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Why templates cannot be put in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("template {template} comes after {missing}, which does not exist")]
    UnknownDependency {
        template: TemplateName,
        missing: TemplateName,
    },
    #[error("templates wait for each other in a cycle: {}", .0.iter().map(TemplateName::as_str).collect::<Vec<_>>().join(", "))]
    Cycle(Vec<TemplateName>),
}

/// Puts enabled templates in an order that respects `after`, ties broken by `order`
/// then name. Dependencies on disabled templates are dropped; unknown ones and cycles
/// are errors.
pub fn execution_order(templates: &[Template]) -> Result<Vec<&Template>, OrderError> {
    let enabled: BTreeMap<&TemplateName, &Template> = templates
        .iter()
        .filter(|t| t.enabled)
        .map(|t| (&t.name, t))
        .collect();
    let all: BTreeSet<&TemplateName> = templates.iter().map(|t| &t.name).collect();
    let mut waiting: BTreeMap<&TemplateName, BTreeSet<&TemplateName>> = BTreeMap::new();
    for t in enabled.values() {
        let mut deps = BTreeSet::new();
        for d in &t.after {
            if !all.contains(d) {
                return Err(OrderError::UnknownDependency {
                    template: t.name.clone(),
                    missing: d.clone(),
                });
            }
            if enabled.contains_key(d) {
                deps.insert(d);
            }
        }
        waiting.insert(&t.name, deps);
    }
    let mut out = Vec::with_capacity(enabled.len());
    while !waiting.is_empty() {
        let next = waiting
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(n, _)| enabled[n])
            .min_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
        let Some(next) = next else {
            return Err(OrderError::Cycle(
                waiting.keys().map(|n| (*n).clone()).collect(),
            ));
        };
        waiting.remove(&next.name);
        for deps in waiting.values_mut() {
            deps.remove(&next.name);
        }
        out.push(next);
    }
    Ok(out)
}

/// Groups items into waves: every item of a wave depends only on items of earlier
/// waves, so a wave's items can run at once. `items` must be in execution order.
pub fn waves_by<T>(
    items: &[T],
    name: impl Fn(&T) -> &TemplateName,
    after: impl Fn(&T) -> &[TemplateName],
) -> Vec<Vec<&T>> {
    let mut wave_of: BTreeMap<&TemplateName, usize> = BTreeMap::new();
    let mut waves: Vec<Vec<&T>> = Vec::new();
    for item in items {
        let w = after(item)
            .iter()
            .filter_map(|d| wave_of.get(d))
            .map(|w| w + 1)
            .max()
            .unwrap_or(0);
        wave_of.insert(name(item), w);
        if waves.len() <= w {
            waves.resize(w + 1, Vec::new());
        }
        waves[w].push(item);
    }
    waves
}

/// The templates of a plan in waves (see [`waves_by`]).
pub fn waves<'a>(ordered: &[&'a Template]) -> Vec<Vec<&'a Template>> {
    waves_by(ordered, |t| &t.name, |t| &t.after)
        .into_iter()
        .map(|w| w.into_iter().copied().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, after: &[&str], order: i64) -> Template {
        Template {
            stage: Stage::Deploy,
            name: TemplateName::parse(name).unwrap(),
            description: String::new(),
            method: Method::Get,
            path: "api/v1".into(),
            wait: WaitFor::None,
            after: after
                .iter()
                .map(|a| TemplateName::parse(a).unwrap())
                .collect(),
            enabled: true,
            order,
            env_at: None,
            body: None,
        }
    }

    #[test]
    fn template_files_report_json_errors_with_line_and_column() {
        let e =
            Template::parse("{\n  \"name\": \"x\",\n  \"method\": \"POST\"\n  \"path\": \"a\"\n}")
                .unwrap_err();
        match e {
            TemplateError::Json(j) => assert_eq!((j.line, j.column), (4, 3), "{j}"),
            other => panic!("{other}"),
        }
        let e = Template::parse(r#"{"name": "x", "method": "FETCH", "path": "a"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `FETCH`"), "{e}");
        let e = Template::parse(r#"{"name": "x", "method": "GET", "path": "a", "bodyy": {}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `bodyy`"), "{e}");
    }

    #[test]
    fn template_files_are_checked_for_what_a_request_needs() {
        let cases = [
            (
                r#"{"name": "x", "method": "POST", "path": "a"}"#,
                "needs a \"body\"",
            ),
            (
                r#"{"name": "x", "method": "GET", "path": "https://h/a"}"#,
                "relative to the API root",
            ),
            (
                r#"{"name": "x", "method": "POST", "path": "a", "body": {"k": "{{client-\nid}}"}}"#,
                "body at /k",
            ),
            (
                r#"{"name": "x", "method": "POST", "path": "a", "body": {}, "env_at": "/data"}"#,
                "env_at",
            ),
            (
                r#"{"name": "x", "method": "GET", "path": "a", "after": ["x"]}"#,
                "after itself",
            ),
            (
                r#"{"name": "X", "method": "GET", "path": "a"}"#,
                "template name",
            ),
        ];
        for (text, want) in cases {
            let e = Template::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn a_template_round_trips_through_its_file() {
        let text = r#"{"name": "cm", "method": "POST", "path": "api/v1/namespaces/{{namespace-id}}/configmaps",
                      "after": ["a"], "env_at": "/data", "body": {"data": {}, "metadata": {"name": "x-{{client-id | lower}}"}}}"#;
        let t = Template::parse(text).unwrap();
        assert_eq!(Template::parse(&t.to_file()).unwrap(), t);
        assert_eq!(
            t.macros_used().into_iter().collect::<Vec<_>>(),
            ["client-id", "namespace-id"]
        );
    }

    #[test]
    fn execution_order_follows_dependencies_then_order() {
        let ts = vec![
            t("deploy", &["cm", "svc"], 7),
            t("cm", &["ch", "pg"], 3),
            t("svc", &[], 5),
            t("pg", &[], 2),
            t("ch", &[], 1),
        ];
        let names: Vec<_> = execution_order(&ts)
            .unwrap()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        assert_eq!(names, ["ch", "pg", "cm", "svc", "deploy"]);
        let ordered = execution_order(&ts).unwrap();
        let w: Vec<Vec<String>> = waves(&ordered)
            .iter()
            .map(|w| w.iter().map(|t| t.name.to_string()).collect())
            .collect();
        assert_eq!(w, vec![vec!["ch", "pg", "svc"], vec!["cm"], vec!["deploy"]]);
    }

    #[test]
    fn cycles_and_unknown_dependencies_are_errors_and_disabled_ones_drop_out() {
        let e = execution_order(&[t("a", &["b"], 0), t("b", &["a"], 0)]).unwrap_err();
        assert!(e.to_string().contains("cycle: a, b"), "{e}");
        let e = execution_order(&[t("a", &["zz"], 0)]).unwrap_err();
        assert!(e.to_string().contains("zz, which does not exist"), "{e}");
        let mut off = t("b", &[], 0);
        off.enabled = false;
        let ts = [t("a", &["b"], 0), off];
        let names: Vec<_> = execution_order(&ts)
            .unwrap()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        assert_eq!(names, ["a"]);
    }
}
