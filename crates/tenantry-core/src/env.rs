//! Environment variables of a client environment (R5): they become the ConfigMap's data.

use std::fmt;

use serde::Serialize;

use crate::macros::{self, MacroSyntaxError};

/// An env var's name: a C identifier, since the kubelet skips ConfigMap keys that are not
/// when it fills a container's environment from `envFrom`.
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, pattern = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
)]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EnvVarName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "env var name {0:?} is invalid: use letters, digits and '_', not starting with a digit, e.g. LMS_SERVER_PORT"
)]
pub struct EnvVarNameError(pub String);

impl EnvVarName {
    pub fn parse(input: &str) -> Result<Self, EnvVarNameError> {
        let ok = !input.is_empty()
            && input.len() <= 253
            && !input.starts_with(|c: char| c.is_ascii_digit())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(EnvVarNameError(input.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvVarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EnvVarName {
    type Err = EnvVarNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An env var's value: a text that may hold macros, checked for macro syntax.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EnvValue(String);

/// Why an env var's value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvValueError {
    #[error(transparent)]
    Syntax(#[from] MacroSyntaxError),
    #[error(transparent)]
    TooLong(#[from] crate::limits::LimitError),
}

impl EnvValue {
    pub fn parse(input: &str) -> Result<Self, EnvValueError> {
        crate::limits::bytes("value", input, crate::limits::ENV_VALUE_BYTES)?;
        macros::parse(input)?;
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
