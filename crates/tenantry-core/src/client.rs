//! Client identity: the system-made id `C<N>` and the organisation's name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A client's id, `C<N>` with N ≥ 1. Made by the catalog; parsed from user input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a client id: expected `C` and a number without leading zeros, e.g. C42")]
pub struct ClientIdError {
    input: String,
}

impl ClientId {
    /// The id for the N-th client. N starts at 1.
    pub fn from_number(n: u64) -> Option<Self> {
        (n >= 1).then_some(Self(n))
    }

    pub fn number(self) -> u64 {
        self.0
    }

    /// Parses `C42` (a lower-case `c` is accepted too).
    pub fn parse(input: &str) -> Result<Self, ClientIdError> {
        let err = || ClientIdError {
            input: input.to_owned(),
        };
        let trimmed = input.trim();
        let digits = trimmed
            .strip_prefix('C')
            .or_else(|| trimmed.strip_prefix('c'))
            .ok_or_else(err)?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        digits
            .parse::<u64>()
            .ok()
            .and_then(Self::from_number)
            .ok_or_else(err)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C{}", self.0)
    }
}

impl FromStr for ClientId {
    type Err = ClientIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ClientId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In the API's document: `C` and a number from 1, as it is written.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ClientId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^C[1-9][0-9]{0,8}$"))
            .description(Some("a client id, C<N>"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ClientId {}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Longest organisation name, in characters.
pub const ORG_NAME_MAX_CHARS: usize = 300;

/// An organisation's name: trimmed, non-empty, at most 300 characters, any Unicode.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrgName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgNameError {
    #[error(
        "the organisation name is empty: give the client's organisation name, e.g. ООО Ромашка"
    )]
    Empty,
    #[error(
        "the organisation name is {0} characters long; at most {ORG_NAME_MAX_CHARS} are allowed"
    )]
    TooLong(usize),
    #[error("the organisation name contains a NUL character, which cannot be stored; remove it")]
    Nul,
}

impl OrgName {
    pub fn parse(input: &str) -> Result<Self, OrgNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(OrgNameError::Empty);
        }
        if name.contains('\0') {
            return Err(OrgNameError::Nul);
        }
        let chars = name.chars().count();
        if chars > ORG_NAME_MAX_CHARS {
            return Err(OrgNameError::TooLong(chars));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_c_and_a_positive_number() {
        assert_eq!(ClientId::parse("C42").unwrap().to_string(), "C42");
        assert_eq!(ClientId::parse(" c7 ").unwrap().number(), 7);
        for bad in [
            "",
            "C",
            "C0",
            "C042",
            "42",
            "C-1",
            "C4x",
            "D4",
            "C99999999999999999999999",
        ] {
            let err = ClientId::parse(bad).unwrap_err().to_string();
            assert!(err.contains("e.g. C42"), "{bad}: {err}");
        }
    }

    #[test]
    fn client_ids_round_trip_through_json() {
        let id = ClientId::from_number(5).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"C5\"");
        assert_eq!(serde_json::from_str::<ClientId>(&json).unwrap(), id);
    }

    #[test]
    fn organisation_names_are_trimmed_and_bounded() {
        assert_eq!(
            OrgName::parse("  ООО «Ромашка» 🌼 ").unwrap().as_str(),
            "ООО «Ромашка» 🌼"
        );
        assert_eq!(OrgName::parse(" \t\n"), Err(OrgNameError::Empty));
        assert!(OrgName::parse(&"я".repeat(300)).is_ok());
        assert_eq!(
            OrgName::parse(&"я".repeat(301)),
            Err(OrgNameError::TooLong(301))
        );
        assert_eq!(OrgName::parse("a\0b"), Err(OrgNameError::Nul));
        assert!(OrgName::parse("O\"Brien \\ \", \"x\": \"").is_ok());
    }
}
