//! Parameters: the named values macros refer to, and how each gets its value.

use std::fmt;

use serde::Serialize;

use crate::macros::is_macro_name;

/// A parameter's name as macros use it: `clickhouse-host`.
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
)]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ParamName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "parameter name {0:?} is invalid: use lower-case letters, digits and dashes, e.g. clickhouse-host"
)]
pub struct ParamNameError(pub String);

impl ParamName {
    pub fn parse(input: &str) -> Result<Self, ParamNameError> {
        if is_macro_name(input) && input.len() <= 100 {
            Ok(Self(input.to_owned()))
        } else {
            Err(ParamNameError(input.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ParamName {
    type Err = ParamNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// How a value is made once per client (R9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generator {
    /// Letters and digits only, safe in shell, SQL and URLs.
    Password { length: u16 },
    /// `bytes` random bytes written as lower-case hex.
    Hex { bytes: u16 },
    /// An RSA private key in PEM, base64-encoded for a Secret's `data`.
    RsaKey { bits: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "generator {input:?} is invalid: {problem}; use password[:24-128], hex[:16-1024] or rsa[:2048|3072|4096]"
)]
pub struct GeneratorError {
    input: String,
    problem: String,
}

impl Generator {
    pub fn parse(input: &str) -> Result<Self, GeneratorError> {
        let err = |problem: &str| GeneratorError {
            input: input.to_owned(),
            problem: problem.to_owned(),
        };
        let (kind, arg) = match input.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (input, None),
        };
        let num = |default: u16, lo: u16, hi: u16| -> Result<u16, GeneratorError> {
            let Some(a) = arg else { return Ok(default) };
            let n: u16 = a.parse().map_err(|_| err("the size is not a number"))?;
            if (lo..=hi).contains(&n) {
                Ok(n)
            } else {
                Err(err(&format!("the size must be between {lo} and {hi}")))
            }
        };
        match kind {
            "password" => Ok(Self::Password {
                length: num(32, 24, 128)?,
            }),
            "hex" => Ok(Self::Hex {
                bytes: num(64, 16, 1024)?,
            }),
            "rsa" => {
                let bits = num(2048, 2048, 4096)?;
                if ![2048, 3072, 4096].contains(&bits) {
                    return Err(err("RSA keys are 2048, 3072 or 4096 bits"));
                }
                Ok(Self::RsaKey { bits })
            }
            _ => Err(err("unknown kind")),
        }
    }
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password { length } => write!(f, "password:{length}"),
            Self::Hex { bytes } => write!(f, "hex:{bytes}"),
            Self::RsaKey { bits } => write!(f, "rsa:{bits}"),
        }
    }
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// Typed in by an operator, shown as is.
    Plain,
    /// Typed in by an operator, encrypted at rest and masked in output.
    Secret,
    /// Made once per client by a generator, encrypted at rest.
    Generated(Generator),
    /// Supplied by the system from the client or the namespace (`client-id`, `api-root-url`).
    Builtin,
}

impl ParamKind {
    /// The stored form: `plain`, `secret`, `generated`, `builtin`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Secret => "secret",
            Self::Generated(_) => "generated",
            Self::Builtin => "builtin",
        }
    }

    pub fn is_secret(self) -> bool {
        matches!(self, Self::Secret | Self::Generated(_))
    }

    /// Whether an operator sets its value (plain and secret parameters).
    pub fn is_settable(self) -> bool {
        matches!(self, Self::Plain | Self::Secret)
    }

    /// Rebuilds a kind from its stored tag and generator.
    pub fn from_stored(tag: &str, generator: Option<&str>) -> Option<Self> {
        match (tag, generator) {
            ("plain", _) => Some(Self::Plain),
            ("secret", _) => Some(Self::Secret),
            ("builtin", _) => Some(Self::Builtin),
            ("generated", Some(g)) => Generator::parse(g).ok().map(Self::Generated),
            _ => None,
        }
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Generated(g) => write!(f, "generated ({g})"),
            other => f.write_str(other.tag()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_parse_with_defaults_and_bounds() {
        assert_eq!(
            Generator::parse("password").unwrap(),
            Generator::Password { length: 32 }
        );
        assert_eq!(
            Generator::parse("hex:64").unwrap(),
            Generator::Hex { bytes: 64 }
        );
        assert_eq!(
            Generator::parse("rsa").unwrap(),
            Generator::RsaKey { bits: 2048 }
        );
        for bad in ["password:8", "hex:x", "rsa:1024", "rsa:2500", "uuid"] {
            assert!(Generator::parse(bad).is_err(), "{bad}");
        }
        for g in ["password:40", "hex:16", "rsa:4096"] {
            assert_eq!(Generator::parse(g).unwrap().to_string(), g);
        }
    }

    #[test]
    fn kinds_round_trip_through_their_stored_form() {
        for kind in [
            ParamKind::Plain,
            ParamKind::Secret,
            ParamKind::Builtin,
            ParamKind::Generated(Generator::Hex { bytes: 64 }),
        ] {
            let generator = match kind {
                ParamKind::Generated(g) => Some(g.to_string()),
                _ => None,
            };
            assert_eq!(
                ParamKind::from_stored(kind.tag(), generator.as_deref()),
                Some(kind)
            );
        }
    }

    #[test]
    fn parameter_names_are_macro_names() {
        assert!(ParamName::parse("sms4b-token").is_ok());
        for bad in ["", "Sms", "a_b", "-a", "a b"] {
            assert!(ParamName::parse(bad).is_err(), "{bad}");
        }
    }
}
