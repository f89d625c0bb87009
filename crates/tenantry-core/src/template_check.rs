//! What is wrong with a template before it is saved: macros no parameter defines (with
//! the closest known name), an order that no longer resolves with the other templates,
//! secrets in paths or names, a body that is no Kubernetes object. Pure: the caller
//! gives the known macro names and the other templates.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::macros;
use crate::template::{
    Method, OrderError, Stage, Template, TemplateName, execution_order, visit_strings,
};

/// One problem found in a template about to be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateProblem {
    /// `{{name}}` is used at `at` (`path` or a JSON pointer into the body) but no
    /// parameter has that name; `suggestion` is a known name close to it.
    UnknownMacro {
        name: String,
        at: String,
        suggestion: Option<String>,
    },
    /// With this template, the templates' `after` lists no longer give an order.
    Order(OrderError),
    /// The secret `{{name}}` in a path, a name or a label (`at`).
    SecretInName { at: String, name: String },
    /// A request that creates or replaces an object lacks a field every object has.
    NotAnObject { field: &'static str },
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownMacro {
                name,
                at,
                suggestion,
            } => {
                write!(f, "unknown macro {{{{{name}}}}} at {at}")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean {{{{{s}}}}}?"),
                    None => write!(f, "; no parameter has this name: define it first"),
                }
            }
            Self::Order(e) => write!(f, "{e}"),
            Self::SecretInName { at, name } => write!(
                f,
                "{at} uses the secret {{{{{name}}}}}; secrets may not be part of a path, a name or a label, where anyone who sees the run could read them"
            ),
            Self::NotAnObject { field } => write!(
                f,
                "the body has no {field}: a request that creates or replaces an object must say it"
            ),
        }
    }
}

/// A problem and the template it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub template: TemplateName,
    pub problem: TemplateProblem,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template {}: {}", self.template, self.problem)
    }
}

/// The problems of `changed` if they replaced the templates of the same names among
/// `stored`. `known` holds every macro name a parameter defines; `is_secret` tells
/// which of them are secret.
pub fn check(
    changed: &[Template],
    known: &BTreeSet<String>,
    is_secret: &dyn Fn(&str) -> bool,
    stored: &[Template],
) -> Vec<Found> {
    let mut out = Vec::new();
    for t in changed {
        out.extend(
            check_one(t, known, is_secret)
                .into_iter()
                .map(|problem| Found {
                    template: t.name.clone(),
                    problem,
                }),
        );
    }
    let mut set: Vec<Template> = stored
        .iter()
        .filter(|s| !changed.iter().any(|c| c.name == s.name))
        .cloned()
        .collect();
    set.extend(changed.iter().cloned());
    for stage in [Stage::Deploy, Stage::Decommission] {
        let Some(first) = changed.iter().find(|c| c.stage == stage) else {
            continue;
        };
        let of_stage: Vec<Template> = set.iter().filter(|t| t.stage == stage).cloned().collect();
        if let Err(e) = execution_order(&of_stage) {
            out.push(Found {
                template: first.name.clone(),
                problem: TemplateProblem::Order(e),
            });
        }
    }
    out
}

fn check_one(
    template: &Template,
    known: &BTreeSet<String>,
    is_secret: &dyn Fn(&str) -> bool,
) -> Vec<TemplateProblem> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut look = |at: &str, text: &str| {
        for m in macros::macros_in(text).unwrap_or_default() {
            if !known.contains(&m.name) && seen.insert(m.name.clone()) {
                out.push(TemplateProblem::UnknownMacro {
                    suggestion: closest(&m.name, known),
                    name: m.name,
                    at: at.to_owned(),
                });
            }
        }
    };
    look("path", &template.path);
    if let Some(body) = &template.body {
        visit_strings(body, &mut String::new(), &mut |at, s| look(at, s));
    }
    if matches!(template.method, Method::Post | Method::Put)
        && let Some(body) = &template.body
    {
        for (field, pointer) in [("apiVersion", "/apiVersion"), ("kind", "/kind")] {
            if !body.pointer(pointer).is_some_and(Value::is_string) {
                out.push(TemplateProblem::NotAnObject { field });
            }
        }
        let named = ["/metadata/name", "/metadata/generateName"]
            .iter()
            .any(|p| body.pointer(p).is_some_and(Value::is_string));
        if !named {
            out.push(TemplateProblem::NotAnObject {
                field: "metadata.name",
            });
        }
    }
    out.extend(
        template
            .secret_uses(is_secret)
            .into_iter()
            .map(|(at, name)| TemplateProblem::SecretInName { at, name }),
    );
    out
}

/// The known name closest to `name`, when it is close enough to be a typo.
pub fn closest(name: &str, known: &BTreeSet<String>) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        [
            "client-id",
            "namespace-id",
            "service-type",
            "docker-image",
            "db-password",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }

    fn template(text: &str) -> Template {
        Template::parse(text).unwrap()
    }

    fn problems(
        t: &Template,
        secret: &dyn Fn(&str) -> bool,
        stored: &[Template],
    ) -> Vec<TemplateProblem> {
        check(std::slice::from_ref(t), &known(), secret, stored)
            .into_iter()
            .map(|f| f.problem)
            .collect()
    }

    const SERVICE: &str = r#"{"name": "service", "method": "POST",
        "path": "api/v1/namespaces/{{namespace-id}}/services",
        "body": {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "lms-{{client-id}}"},
                 "spec": {"type": "{{service-tipe}}"}}}"#;

    #[test]
    fn a_typo_in_a_macro_is_named_with_the_closest_known_name() {
        let p = problems(&template(SERVICE), &|_| false, &[]);
        assert_eq!(
            p,
            [TemplateProblem::UnknownMacro {
                name: "service-tipe".into(),
                at: "/spec/type".into(),
                suggestion: Some("service-type".into()),
            }]
        );
        assert_eq!(
            p[0].to_string(),
            "unknown macro {{service-tipe}} at /spec/type; did you mean {{service-type}}?"
        );
    }

    #[test]
    fn a_name_nothing_like_a_known_one_gets_no_suggestion() {
        let text = SERVICE.replace("service-tipe", "frobnicator");
        let p = problems(&template(&text), &|_| false, &[]);
        assert!(matches!(
            &p[..],
            [TemplateProblem::UnknownMacro {
                suggestion: None,
                ..
            }]
        ));
        assert!(p[0].to_string().contains("no parameter has this name"));
    }

    #[test]
    fn a_known_template_is_clean() {
        let text = SERVICE.replace("service-tipe", "service-type");
        assert_eq!(problems(&template(&text), &|_| false, &[]), []);
    }

    #[test]
    fn an_order_that_becomes_a_cycle_with_the_others_is_refused() {
        let a = template(r#"{"name": "a", "method": "GET", "path": "api/v1", "after": ["b"]}"#);
        let b = template(r#"{"name": "b", "method": "GET", "path": "api/v1"}"#);
        let b2 = template(r#"{"name": "b", "method": "GET", "path": "api/v1", "after": ["a"]}"#);
        assert_eq!(problems(&b, &|_| false, &[a.clone(), b.clone()]), []);
        let p = problems(&b2, &|_| false, &[a, b]);
        assert!(
            matches!(&p[..], [TemplateProblem::Order(OrderError::Cycle(_))]),
            "{p:?}"
        );
        let c = template(r#"{"name": "c", "method": "GET", "path": "api/v1", "after": ["nope"]}"#);
        assert!(matches!(
            &problems(&c, &|_| false, &[])[..],
            [TemplateProblem::Order(_)]
        ));
    }

    #[test]
    fn a_created_object_needs_api_version_kind_and_name_and_no_secret_in_the_name() {
        let t = template(
            r#"{"name": "cm", "method": "POST", "path": "api/v1/namespaces/{{namespace-id}}/configmaps",
                "body": {"metadata": {"name": "x-{{db-password}}"}}}"#,
        );
        let p = problems(&t, &|m| m == "db-password", &[]);
        assert_eq!(
            p[..2],
            [
                TemplateProblem::NotAnObject {
                    field: "apiVersion"
                },
                TemplateProblem::NotAnObject { field: "kind" },
            ]
        );
        assert!(
            matches!(&p[2], TemplateProblem::SecretInName { name, .. } if name == "db-password")
        );
        assert_eq!(p.len(), 3);
    }
}
