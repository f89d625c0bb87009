//! Shapes: a template rendered with a mark in place of every macro's value, so that the
//! text around the marks can be matched against what the cluster holds — to tell a
//! client id from an object's name, or a generated password from a DSN.

use std::collections::BTreeMap;

use crate::param::Generator;

const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

/// The mark standing for the value of macro number `i` of a shape. Digits survive the
/// `lower` and `upper` filters; a value passed through `base64` cannot be matched and is
/// not looked for.
pub fn mark(i: usize) -> String {
    format!("{OPEN}{i}{CLOSE}")
}

/// What may stand in a hole of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    /// Any text, the shortest that lets the rest match (a value not looked for).
    Any,
    /// A client id: `C` or `c` and a number.
    Client,
    /// A generated value, by the characters its generator writes.
    Generated(Alphabet),
}

/// The characters a generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// Letters and digits (passwords).
    AlphaNum,
    /// Hex digits (seeds).
    Hex,
    /// Base64 (a PEM key encoded for a Secret's data).
    Base64,
}

impl Alphabet {
    pub fn of(g: Generator) -> Self {
        match g {
            Generator::Password { .. } => Self::AlphaNum,
            Generator::Hex { .. } => Self::Hex,
            Generator::RsaKey { .. } => Self::Base64,
        }
    }

    fn allows(self, c: char) -> bool {
        match self {
            Self::AlphaNum => c.is_ascii_alphanumeric(),
            Self::Hex => c.is_ascii_hexdigit(),
            Self::Base64 => c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='),
        }
    }
}

impl Hole {
    fn allows(self, c: char) -> bool {
        match self {
            Self::Any => true,
            Self::Client => c.is_ascii_digit() || c == 'c' || c == 'C',
            Self::Generated(a) => a.allows(c),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    /// The macro's number in the shape.
    Hole(usize),
}

/// A text with marks, ready to match: literal text and holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Piece>);

impl Pattern {
    /// The pieces of a marked text; `None` when it has no mark.
    pub fn of(marked: &str) -> Option<Self> {
        let mut pieces = Vec::new();
        let mut rest = marked;
        while let Some(start) = rest.find(OPEN) {
            let Some(len) = rest[start..].find(CLOSE) else {
                break;
            };
            let Ok(i) = rest[start + 1..start + len].parse::<usize>() else {
                break;
            };
            if start > 0 {
                pieces.push(Piece::Lit(rest[..start].to_owned()));
            }
            pieces.push(Piece::Hole(i));
            rest = &rest[start + len + 1..];
        }
        if pieces.is_empty() {
            return None;
        }
        if !rest.is_empty() {
            pieces.push(Piece::Lit(rest.to_owned()));
        }
        Some(Self(pieces))
    }

    /// The macros whose values stand in the text.
    pub fn holes(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().filter_map(|p| match p {
            Piece::Hole(i) => Some(*i),
            Piece::Lit(_) => None,
        })
    }

    /// The values of the holes when `text` is this pattern filled in; `kind` says what
    /// each hole may hold (`Any` for those it does not name).
    pub fn captures(
        &self,
        text: &str,
        kind: &dyn Fn(usize) -> Hole,
    ) -> Option<BTreeMap<usize, String>> {
        let mut out = BTreeMap::new();
        matches(&self.0, text, kind, &mut out).then_some(out)
    }

    /// The pattern cut after the first character that follows its last hole of interest
    /// (`interest`): a DSN written by an older template with other options after the
    /// password still gives the password. `None` when no hole is of interest.
    pub fn up_to_last(&self, interest: &dyn Fn(usize) -> bool) -> Option<Self> {
        let last = self
            .0
            .iter()
            .rposition(|p| matches!(p, Piece::Hole(i) if interest(*i)))?;
        let mut pieces = self.0[..=last].to_vec();
        match self.0.get(last + 1) {
            Some(Piece::Lit(l)) => {
                let first: String = l.chars().take(1).collect();
                pieces.push(Piece::Lit(first));
                pieces.push(Piece::Hole(usize::MAX));
            }
            Some(Piece::Hole(_)) => pieces.push(Piece::Hole(usize::MAX)),
            None => {}
        }
        Some(Self(pieces))
    }
}

/// Whether `text` is `pieces` filled in, holes by `kind`; captures each hole's value
/// (the same hole twice must hold the same value).
fn matches(
    pieces: &[Piece],
    text: &str,
    kind: &dyn Fn(usize) -> Hole,
    out: &mut BTreeMap<usize, String>,
) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    match first {
        Piece::Lit(l) => text
            .strip_prefix(l.as_str())
            .is_some_and(|t| matches(rest, t, kind, out)),
        Piece::Hole(i) => {
            let hole = if *i == usize::MAX {
                Hole::Any
            } else {
                kind(*i)
            };
            // Shortest first for free text; a generated value or an id takes all its
            // characters it can, then gives back.
            let ends: Vec<usize> = text
                .char_indices()
                .map(|(at, _)| at)
                .skip(1)
                .chain([text.len()])
                .filter(|&end| end > 0)
                .take_while(|&end| text[..end].chars().all(|c| hole.allows(c)))
                .collect();
            let mut candidates: Vec<usize> = if hole == Hole::Any {
                std::iter::once(0).chain(ends).collect()
            } else {
                ends.into_iter().rev().collect()
            };
            if hole == Hole::Any && rest.is_empty() {
                candidates = vec![text.len()];
            }
            for end in candidates {
                let value = &text[..end];
                if let Some(prev) = out.get(i)
                    && prev != value
                    && *i != usize::MAX
                {
                    continue;
                }
                let had = out.insert(*i, value.to_owned());
                if matches(rest, &text[end..], kind, out) {
                    return true;
                }
                match had {
                    Some(h) => out.insert(*i, h),
                    None => out.remove(i),
                };
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(i: usize) -> Hole {
        match i {
            0 => Hole::Client,
            1 => Hole::Generated(Alphabet::AlphaNum),
            _ => Hole::Any,
        }
    }

    #[test]
    fn a_name_gives_the_client_id_in_either_case() {
        let p = Pattern::of(&format!("lms-config-{}", mark(0))).unwrap();
        assert_eq!(p.captures("lms-config-c42", &kinds).unwrap()[&0], "c42");
        assert_eq!(p.captures("lms-config-C7", &kinds).unwrap()[&0], "C7");
        assert!(p.captures("lms-config-main", &kinds).is_none());
        assert!(p.captures("lms-configs-c42", &kinds).is_none());
        assert!(Pattern::of("no marks").is_none());
    }

    #[test]
    fn a_dsn_gives_its_password_and_an_older_one_too() {
        let dsn = format!(
            "postgres://{}:{}@{}:5432/{}?sslmode=disable",
            mark(0),
            mark(1),
            mark(2),
            mark(0)
        );
        let p = Pattern::of(&dsn).unwrap();
        let got = p
            .captures(
                "postgres://c42:Ab3dE@db.example:5432/c42?sslmode=disable",
                &kinds,
            )
            .unwrap();
        assert_eq!(got[&1], "Ab3dE");
        assert_eq!(got[&2], "db.example");
        // The same hole must hold the same value.
        assert!(
            p.captures("postgres://c42:Ab3dE@db:5432/c43?sslmode=disable", &kinds)
                .is_none()
        );
        // Written by an older template: the upper-case role, no options.
        let old = "postgres://C42:Xy9@db:5432/C42";
        assert!(p.captures(old, &kinds).is_none());
        let cut = p.up_to_last(&|i| i == 1).unwrap();
        assert_eq!(cut.captures(old, &kinds).unwrap()[&1], "Xy9");
        // A password holds letters and digits only: a colon ends it.
        assert!(cut.captures("postgres://c42:a:b@db", &kinds).is_none());
    }

    #[test]
    fn a_value_that_is_the_whole_text() {
        let p = Pattern::of(&mark(1)).unwrap();
        assert_eq!(p.captures("Zz09", &kinds).unwrap()[&1], "Zz09");
        assert!(p.captures("", &kinds).is_none());
        assert!(p.captures("not a password", &kinds).is_none());
    }
}
