//! Contact data: people, phone numbers and e-mail addresses, each parsed and normalised once.

use std::fmt;
use std::str::FromStr;

use phonenumber::{Mode, country};
use serde::Serialize;

/// A phone number, normalised to E.164 (`+74951234567`).
///
/// Numbers without a country code are read as Russian ones (`8 495 …`), since the
/// operators' customers are in Russia; any other country needs its `+` code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone {input:?} {problem}; write it with its country code, e.g. +7 495 123-45-67")]
pub struct PhoneError {
    input: String,
    problem: &'static str,
}

impl Phone {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let err = |problem| PhoneError {
            input: input.to_owned(),
            problem,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("is empty"));
        }
        if let Some(c) = trimmed.chars().find(|c| {
            !(c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
        }) {
            return Err(match c {
                'a'..='z' | 'A'..='Z' | 'а'..='я' | 'А'..='Я' => err("contains letters"),
                _ => {
                    err("contains characters other than digits, spaces, '+', '-', '(', ')' and '.'")
                }
            });
        }
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        if digits < 7 {
            return Err(err("has too few digits"));
        }
        if digits > 15 {
            return Err(err("has more than 15 digits"));
        }
        let number = phonenumber::parse(Some(country::Id::RU), trimmed)
            .map_err(|_| err("is not a phone number"))?;
        if !phonenumber::is_valid(&number) {
            return Err(err("is not a valid number for its country"));
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// The E.164 form, `+74951234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a phone from its stored E.164 form.
    pub fn from_e164(stored: &str) -> Result<Self, PhoneError> {
        Self::parse(stored)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An e-mail address: trimmed, domain in lower case, with a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("e-mail {input:?} {problem}; expected an address like ivanov@example.ru")]
pub struct EmailError {
    input: String,
    problem: String,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let err = |problem: &str| EmailError {
            input: input.to_owned(),
            problem: problem.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("is empty"));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(err("contains spaces"));
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(err("has no '@'"));
        };
        if local.is_empty() {
            return Err(err("has nothing before '@'"));
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(err("has no valid domain after '@' (like example.ru)"));
        }
        if labels
            .iter()
            .any(|l| l.starts_with('-') || l.ends_with('-'))
        {
            return Err(err("has a domain part that starts or ends with '-'"));
        }
        let normalised = format!("{local}@{domain}");
        email_address::EmailAddress::from_str(&normalised)
            .map_err(|e| err(&format!("is not valid ({e})")))?;
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A contact person's name: trimmed, non-empty, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ContactName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactNameError {
    #[error("the contact person's name is empty: give a name, e.g. --name \"Иванова Мария\"")]
    Empty,
    #[error("the contact person's name is {0} characters long; at most 200 are allowed")]
    TooLong(usize),
}

impl ContactName {
    pub fn parse(input: &str) -> Result<Self, ContactNameError> {
        let name = input.trim();
        if name.is_empty() || name.contains('\0') {
            return Err(ContactNameError::Empty);
        }
        let n = name.chars().count();
        if n > 200 {
            return Err(ContactNameError::TooLong(n));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContactName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text beside a contact (role, note): trimmed; empty means none.
pub fn optional_text(input: Option<&str>) -> Option<String> {
    input
        .map(|s| s.trim().replace('\0', ""))
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_to_e164() {
        let cases = [
            ("+7 495 123-45-67", "+74951234567"),
            ("8 (495) 123-45-67", "+74951234567"),
            ("+7 (916) 555 12 34", "+79165551234"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+1 (212) 555-0100", "+12125550100"),
        ];
        for (input, want) in cases {
            assert_eq!(Phone::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn bad_phones_say_what_is_wrong() {
        let cases = [
            ("", "is empty"),
            ("call me", "contains letters"),
            ("+7 495 12", "too few digits"),
            ("+7 495 123 45 67 89 01 23 4", "more than 15 digits"),
            ("+7 000 000-00-00", "is not a"),
            ("12#45678", "characters other than"),
        ];
        for (input, want) in cases {
            let msg = Phone::parse(input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input}: {msg}");
            assert!(msg.contains("+7 495 123-45-67"), "{input}: {msg}");
        }
    }

    #[test]
    fn emails_keep_the_local_part_and_lower_the_domain() {
        assert_eq!(
            Email::parse(" Ivan.Petrov@Example.RU ").unwrap().as_str(),
            "Ivan.Petrov@example.ru"
        );
        assert_eq!(
            Email::parse("ops+lms@mail.example.com").unwrap().as_str(),
            "ops+lms@mail.example.com"
        );
    }

    #[test]
    fn bad_emails_say_what_is_wrong() {
        let cases = [
            ("", "is empty"),
            ("ivan", "no '@'"),
            ("@example.ru", "nothing before"),
            ("ivan@localhost", "no valid domain"),
            ("ivan@example..ru", "no valid domain"),
            ("iv an@example.ru", "spaces"),
            ("ivan@-example.ru", "starts or ends with '-'"),
        ];
        for (input, want) in cases {
            let msg = Email::parse(input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input}: {msg}");
        }
    }

    #[test]
    fn contact_names_are_required() {
        assert_eq!(ContactName::parse("  "), Err(ContactNameError::Empty));
        assert_eq!(ContactName::parse(" Мария ").unwrap().as_str(), "Мария");
        assert_eq!(optional_text(Some("  ")), None);
        assert_eq!(optional_text(Some(" CTO ")).as_deref(), Some("CTO"));
    }
}
