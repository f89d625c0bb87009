//! Operators of the web UI and API: user names and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an operator may do. Each role can do everything the ones below it can.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads clients, runs and catalogs (never a secret).
    Viewer,
    /// Also creates and edits clients and deploys them.
    Operator,
    /// Also changes namespaces, parameters, env vars, templates and users; reveals secrets.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; use viewer, operator or admin")]
pub struct RoleError(pub String);

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            _ => Err(RoleError(s.to_owned())),
        }
    }
}

/// A user's login name: 1–64 characters of letters, digits, `.`, `_`, `-` or `@`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("user name {given:?} is not valid: {problem}")]
pub struct UserNameError {
    pub given: String,
    pub problem: UserNameProblem,
}

/// Why a user name is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserNameProblem {
    Empty,
    TooLong,
    Char(char),
}

impl std::fmt::Display for UserNameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong => f.write_str("it is longer than 64 characters"),
            Self::Char(c) => write!(
                f,
                "it contains {c:?}; use letters, digits, '.', '_', '-' or '@'"
            ),
        }
    }
}

impl UserName {
    pub fn parse(s: &str) -> Result<Self, UserNameError> {
        let t = s.trim();
        let problem = if t.is_empty() {
            Some(UserNameProblem::Empty)
        } else if t.chars().count() > 64 {
            Some(UserNameProblem::TooLong)
        } else {
            t.chars()
                .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
                .map(UserNameProblem::Char)
        };
        match problem {
            Some(problem) => Err(UserNameError {
                given: s.to_owned(),
                problem,
            }),
            None => Ok(Self(t.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UserName {
    type Err = UserNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long a new API token lives unless told otherwise, in days.
pub const TOKEN_DAYS_DEFAULT: i64 = 90;
/// The longest life a token may be given, in days.
pub const TOKEN_DAYS_MAX: i64 = 366;

/// A token's life in days, as `90d` or `90` (empty: the default).
pub fn token_days(s: &str) -> Result<i64, String> {
    let n = s.trim().trim_end_matches('d');
    if n.is_empty() {
        return Ok(TOKEN_DAYS_DEFAULT);
    }
    match n.parse::<i64>() {
        Ok(d) if (1..=TOKEN_DAYS_MAX).contains(&d) => Ok(d),
        _ => Err(format!(
            "{s:?} is not a token life in days from 1 to {TOKEN_DAYS_MAX}, e.g. 90d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!("Operator".parse::<Role>(), Ok(Role::Operator));
        assert!(
            "root"
                .parse::<Role>()
                .unwrap_err()
                .to_string()
                .contains("viewer, operator or admin")
        );
    }

    #[test]
    fn user_names() {
        assert_eq!(UserName::parse(" anna.k ").unwrap().as_str(), "anna.k");
        assert!(UserName::parse("").is_err());
        assert!(
            UserName::parse("a b")
                .unwrap_err()
                .to_string()
                .contains("' '")
        );
        assert!(UserName::parse(&"x".repeat(65)).is_err());
    }
}
