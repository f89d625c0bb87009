//! The templates as shapes: rendered with a mark in place of every macro's value.

use std::collections::BTreeMap;

use serde_json::Value;

use super::pattern::{Alphabet, Hole, mark};
use crate::param::Generator;
use crate::render::{Secrets, Values, render, render_text};
use crate::template::Template;

/// One template as adoption sees it: the kind it makes and its body with marks.
#[derive(Debug, Clone)]
pub struct Shape {
    pub template: String,
    pub kind: String,
    pub api_version: String,
    pub body: Value,
}

impl Shape {
    pub(crate) fn name(&self) -> &str {
        self.body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A Job runs once and may be cleaned up: an environment is complete without it.
    pub fn required(&self) -> bool {
        self.kind != "Job"
    }
}

/// What the marks of the shapes stand for.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    /// The macro each mark stands for, by number.
    pub names: Vec<String>,
    /// The generated values, by mark, with the characters they are made of.
    pub generated: BTreeMap<usize, Alphabet>,
    /// The mark of `client-id`.
    pub client: usize,
}

impl Marks {
    pub(crate) fn hole(&self, i: usize) -> Hole {
        if i == self.client {
            Hole::Client
        } else if let Some(a) = self.generated.get(&i) {
            Hole::Generated(*a)
        } else {
            Hole::Any
        }
    }
}

/// The templates that make objects (a POST with a body naming its kind) as shapes, env
/// vars merged where a template takes them; `generated` names the generated parameters.
/// Every macro the templates and env vars use gets a mark.
pub fn shapes(
    templates: &[&Template],
    env: &[(String, String)],
    generated: &BTreeMap<String, Generator>,
) -> (Vec<Shape>, Marks) {
    let mut names: Vec<String> = vec!["client-id".to_owned()];
    for t in templates {
        names.extend(t.macros_used());
    }
    for (_, v) in env {
        if let Ok(ms) = crate::macros::macros_in(v) {
            names.extend(ms.into_iter().map(|m| m.name));
        }
    }
    names.sort();
    names.dedup();
    let mut values = Values::new();
    let mut marks = Marks::default();
    for (i, n) in names.iter().enumerate() {
        values.plain(n, mark(i));
        if n == "client-id" {
            marks.client = i;
        }
        if let Some(g) = generated.get(n) {
            marks.generated.insert(i, Alphabet::of(*g));
        }
    }
    marks.names = names;
    let mut out = Vec::new();
    for t in templates {
        let Some(body) = &t.body else { continue };
        if t.method != crate::template::Method::Post {
            continue;
        }
        let Ok(mut body) = render(body, &values, Secrets::Reveal) else {
            continue;
        };
        if let Some(at) = &t.env_at
            && let Some(Value::Object(target)) = body.pointer_mut(at)
        {
            for (n, v) in env {
                if let Ok(v) = render_text(v, &values, Secrets::Reveal, n) {
                    target.insert(n.clone(), Value::String(v));
                }
            }
        }
        let (Some(kind), Some(api_version)) = (body["kind"].as_str(), body["apiVersion"].as_str())
        else {
            continue;
        };
        out.push(Shape {
            template: t.name.to_string(),
            kind: kind.to_owned(),
            api_version: api_version.to_owned(),
            body,
        });
    }
    (out, marks)
}
