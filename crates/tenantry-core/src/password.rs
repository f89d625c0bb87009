//! Which passwords operators may choose (ASVS 6.2): at least 10 characters, not a
//! common password, not made of the user's own name or the product's, and not a run of
//! a few repeated characters.
//!
//! The common passwords are those of at least 10 characters from the 20,000-password
//! list Django ships (`django/contrib/auth/common-passwords.txt.gz`, BSD-3-Clause,
//! compiled by Royce Williams); shorter ones are refused by length already.

use std::fmt;

/// The shortest password accepted, in characters.
pub const MIN_LENGTH: usize = 10;
/// The longest password accepted, in characters (argon2 would hash any length, but
/// nobody types more, and a cap bounds the work an anonymous caller can ask for).
pub const MAX_LENGTH: usize = 128;

const COMMON: &str = include_str!("common-passwords.txt");

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
    TooFewDistinct,
    ContainsContext(String),
}

impl fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => write!(
                f,
                "the password is shorter than {MIN_LENGTH} characters; choose a longer one"
            ),
            Self::TooLong => write!(
                f,
                "the password is longer than {MAX_LENGTH} characters; choose a shorter one"
            ),
            Self::Common => write!(
                f,
                "the password is one of the most common passwords; choose one nobody else would"
            ),
            Self::TooFewDistinct => write!(
                f,
                "the password repeats a few characters; use more different ones"
            ),
            Self::ContainsContext(word) => write!(
                f,
                "the password contains {word:?}; do not build it from the user name or the product's name"
            ),
        }
    }
}

impl std::error::Error for PasswordProblem {}

fn is_common(lower: &str) -> bool {
    COMMON.lines().any(|l| l == lower)
}

/// Checks `password` for a user whose name (and other context words, like the
/// product's name) are `context`.
pub fn check(password: &str, context: &[&str]) -> Result<(), PasswordProblem> {
    let count = password.chars().count();
    if count < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if count > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err(PasswordProblem::TooFewDistinct);
    }
    let lower = password.to_lowercase();
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if is_common(&lower) || is_common(&squeezed) {
        return Err(PasswordProblem::Common);
    }
    for word in context.iter().chain(&["tenantry"]) {
        let w = word.trim().to_lowercase();
        if w.chars().count() >= 3 && squeezed.contains(&w) {
            return Err(PasswordProblem::ContainsContext((*word).to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_review_found_accepted() {
        assert_eq!(
            check("1234567890", &["admin"]),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check("          ", &["admin"]),
            Err(PasswordProblem::TooFewDistinct)
        );
        assert_eq!(
            check("operator42x", &["operator42x"]),
            Err(PasswordProblem::ContainsContext("operator42x".into()))
        );
        assert_eq!(check("QWERTYUIOP", &[]), Err(PasswordProblem::Common));
        assert_eq!(check("short", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(
            check(&"ab1!x".repeat(30), &[]),
            Err(PasswordProblem::TooLong)
        );
        assert!(matches!(
            check("my tenantry pass", &[]),
            Err(PasswordProblem::ContainsContext(_))
        ));
    }

    #[test]
    fn accepts_a_long_uncommon_password() {
        assert_eq!(check("correct horse battery", &["admin"]), Ok(()));
        assert_eq!(check("Полевой-цветок-1987", &["ivan"]), Ok(()));
    }
}
