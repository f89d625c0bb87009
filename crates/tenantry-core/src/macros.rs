//! The macro syntax of templates and env var values: `{{name}}` and `{{name | filter}}`.
//! This module only reads the syntax; substituting values is the renderer's job.

use std::fmt;

/// A filter that turns a value into the form a place needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Lower-case, for Kubernetes names and PostgreSQL identifiers.
    Lower,
    /// Upper-case.
    Upper,
    /// Standard base64 with padding, for a Secret's `data`.
    Base64,
}

impl Filter {
    pub const ALL: [Filter; 3] = [Filter::Lower, Filter::Upper, Filter::Base64];

    pub fn name(self) -> &'static str {
        match self {
            Filter::Lower => "lower",
            Filter::Upper => "upper",
            Filter::Base64 => "base64",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// One `{{…}}` in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroRef {
    pub name: String,
    pub filters: Vec<Filter>,
    /// Byte offset of the opening `{{` in the text.
    pub offset: usize,
}

/// A piece of a text: literal text or a macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Macro(MacroRef),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MacroSyntaxError {
    /// Byte offset of the `{{` that starts the faulty macro.
    pub offset: usize,
    pub problem: MacroProblem,
}

/// What is wrong with a macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroProblem {
    /// `{{` without `}}`.
    Unclosed,
    /// What is between the braces is no parameter name.
    BadName {
        inner: String,
    },
    UnknownFilter {
        filter: String,
        inner: String,
    },
}

impl fmt::Display for MacroProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unclosed => f.write_str("`{{` is not closed by `}}`"),
            Self::BadName { inner } => write!(
                f,
                "{{{{{inner}}}}} does not name a parameter: names are lower-case letters, digits and dashes, e.g. {{{{client-id}}}}"
            ),
            Self::UnknownFilter { filter, inner } => {
                let known: Vec<_> = Filter::ALL.iter().map(|f| f.name()).collect();
                write!(
                    f,
                    "unknown filter {filter:?} in {{{{{inner}}}}}; known filters: {}",
                    known.join(", ")
                )
            }
        }
    }
}

impl fmt::Display for MacroSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "macro at character {}: {}",
            self.offset + 1,
            self.problem
        )
    }
}

/// Whether `name` may name a macro: lower-case letters, digits and inner dashes.
pub fn is_macro_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Splits a text into literal pieces and macros.
pub fn parse(text: &str) -> Result<Vec<Segment<'_>>, MacroSyntaxError> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let start = rest + found;
        if start > rest {
            out.push(Segment::Text(&text[rest..start]));
        }
        let inner_start = start + 2;
        let Some(len) = text[inner_start..].find("}}") else {
            return Err(MacroSyntaxError {
                offset: start,
                problem: MacroProblem::Unclosed,
            });
        };
        let inner = &text[inner_start..inner_start + len];
        out.push(Segment::Macro(parse_inner(inner, start)?));
        rest = inner_start + len + 2;
    }
    if rest < text.len() {
        out.push(Segment::Text(&text[rest..]));
    }
    Ok(out)
}

fn parse_inner(inner: &str, offset: usize) -> Result<MacroRef, MacroSyntaxError> {
    let err = |problem: MacroProblem| MacroSyntaxError { offset, problem };
    let mut parts = inner.split('|').map(str::trim);
    let name = parts.next().unwrap_or_default();
    if !is_macro_name(name) {
        return Err(err(MacroProblem::BadName {
            inner: inner.to_owned(),
        }));
    }
    let filters = parts
        .map(|f| {
            Filter::parse(f).ok_or_else(|| {
                err(MacroProblem::UnknownFilter {
                    filter: f.to_owned(),
                    inner: inner.to_owned(),
                })
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(MacroRef {
        name: name.to_owned(),
        filters,
        offset,
    })
}

/// The macros a text uses, in order.
pub fn macros_in(text: &str) -> Result<Vec<MacroRef>, MacroSyntaxError> {
    Ok(parse(text)?
        .into_iter()
        .filter_map(|s| match s {
            Segment::Macro(m) => Some(m),
            Segment::Text(_) => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_split_into_literals_and_macros() {
        let segs = parse("postgres://{{client-id | lower}}:{{postgres-user-password}}@h").unwrap();
        assert_eq!(segs.len(), 5);
        assert_eq!(segs[0], Segment::Text("postgres://"));
        let Segment::Macro(m) = &segs[1] else {
            panic!()
        };
        assert_eq!(
            (m.name.as_str(), m.filters.as_slice(), m.offset),
            ("client-id", &[Filter::Lower][..], 11)
        );
        assert_eq!(segs[4], Segment::Text("@h"));
        assert_eq!(
            parse("no macros }} here").unwrap(),
            vec![Segment::Text("no macros }} here")]
        );
    }

    #[test]
    fn broken_macros_are_reported_with_their_position() {
        let cases = [
            ("ab{{client-id", 2, "not closed"),
            ("{{client-\nid}}", 0, "does not name a parameter"),
            ("x{{Client-ID}}", 1, "does not name a parameter"),
            ("{{client-id | shout}}", 0, "unknown filter \"shout\""),
            ("{{}}", 0, "does not name"),
        ];
        for (text, offset, want) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text}");
            assert!(
                e.problem.to_string().contains(want),
                "{text}: {}",
                e.problem
            );
        }
    }
}
