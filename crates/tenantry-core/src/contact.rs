//! Contact data: people, phone numbers and e-mail addresses, each parsed and normalised once.

use std::fmt;
use std::str::FromStr;

use phonenumber::{Mode, country};
use serde::Serialize;

/// A phone number, normalised to E.164 (`+74951234567`), with its extension if it has
/// one, stored in the RFC 3966 way (`+74951234567;ext=12`).
///
/// Numbers without a country code are read as Russian ones (`8 495 …`), since the
/// operators' customers are in Russia; any other country needs its `+` code. An
/// extension is written after the number: `доб. 12`, `ext. 12`, `x12` or `#12`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

/// What is wrong with a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneProblem {
    Empty,
    Letters,
    OtherCharacters,
    TooFewDigits,
    TooManyDigits,
    NotANumber,
    NotValidForCountry,
    BadExtension,
}

impl PhoneProblem {
    /// In English, as it follows the number in a message.
    pub fn text(self) -> &'static str {
        match self {
            Self::Empty => "is empty",
            Self::Letters => "contains letters",
            Self::OtherCharacters => {
                "contains characters other than digits, spaces, '+', '-', '(', ')' and '.'"
            }
            Self::TooFewDigits => "has too few digits",
            Self::TooManyDigits => "has more than 15 digits",
            Self::NotANumber => "is not a phone number",
            Self::NotValidForCountry => "is not a valid number for its country",
            Self::BadExtension => "has an extension that is not 1 to 6 digits",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone {input:?} {}; write it with its country code, e.g. +7 495 123-45-67 (an extension after it: доб. 12)", .problem.text())]
pub struct PhoneError {
    pub input: String,
    pub problem: PhoneProblem,
}

/// Where an extension starts: `доб.`, `ext.`, `x`, `#` (any case) or RFC 3966's `;ext=`.
fn split_extension(s: &str) -> (&str, Option<&str>) {
    for marker in [";ext=", "доб.", "доб", "ext.", "ext", "x", "#"] {
        if let Some(i) = find_ci(s, marker) {
            return (&s[..i], Some(s[i + marker.len()..].trim()));
        }
    }
    (s, None)
}

/// The byte position of `needle` in `hay`, ignoring case.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n: Vec<char> = needle.chars().collect();
    hay.char_indices().find_map(|(i, _)| {
        let mut it = hay[i..].chars();
        n.iter()
            .all(|c| {
                it.next()
                    .is_some_and(|h| h.to_lowercase().eq(c.to_lowercase()))
            })
            .then_some(i)
    })
}

impl Phone {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let err = |problem| PhoneError {
            input: input.to_owned(),
            problem,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err(PhoneProblem::Empty));
        }
        let (number, ext) = split_extension(trimmed);
        let number = number.trim().trim_end_matches([',', ';']).trim();
        let ext = match ext {
            None => None,
            Some(e) if (1..=6).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()) => {
                Some(e)
            }
            Some(_) => return Err(err(PhoneProblem::BadExtension)),
        };
        if let Some(c) = number.chars().find(|c| {
            !(c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
        }) {
            return Err(err(if c.is_alphabetic() {
                PhoneProblem::Letters
            } else {
                PhoneProblem::OtherCharacters
            }));
        }
        let digits = number.chars().filter(char::is_ascii_digit).count();
        if digits < 7 {
            return Err(err(PhoneProblem::TooFewDigits));
        }
        if digits > 15 {
            return Err(err(PhoneProblem::TooManyDigits));
        }
        // Only the digits (and the leading `+`) go to the parser: it refuses some
        // groupings people write, e.g. `+7975281-56-72`.
        let plus = if number.starts_with('+') { "+" } else { "" };
        let bare: String = number.chars().filter(char::is_ascii_digit).collect();
        let parsed = phonenumber::parse(Some(country::Id::RU), format!("{plus}{bare}"))
            .map_err(|_| err(PhoneProblem::NotANumber))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(err(PhoneProblem::NotValidForCountry));
        }
        let e164 = parsed.format().mode(Mode::E164).to_string();
        Ok(Self(match ext {
            Some(e) => format!("{e164};ext={e}"),
            None => e164,
        }))
    }

    /// The stored form: E.164, and `;ext=N` when there is an extension.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number without its extension, `+74951234567`.
    pub fn e164(&self) -> &str {
        self.0.split_once(";ext=").map_or(&self.0, |(n, _)| n)
    }

    /// The extension, if any.
    pub fn extension(&self) -> Option<&str> {
        self.0.split_once(";ext=").map(|(_, e)| e)
    }

    /// For people: grouped as its country writes it, `+7 495 123-45-67`, and the
    /// extension after `ext_label` (`доб.` or `ext.`).
    pub fn pretty(&self, ext_label: &str) -> String {
        let grouped = phonenumber::parse(None, self.e164())
            .map(|n| n.format().mode(Mode::International).to_string())
            .unwrap_or_else(|_| self.e164().to_owned());
        match self.extension() {
            Some(e) => format!("{grouped} {ext_label} {e}"),
            None => grouped,
        }
    }

    /// Rebuilds a phone from its stored form.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// What is wrong with an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailProblem {
    Empty,
    Spaces,
    Comma,
    NoAt,
    NothingBeforeAt,
    NoDomain,
    HyphenInDomain,
    Invalid(String),
}

impl fmt::Display for EmailProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "is empty",
            Self::Spaces => "contains spaces",
            Self::Comma => "contains a comma (give several addresses one per line)",
            Self::NoAt => "has no '@'",
            Self::NothingBeforeAt => "has nothing before '@'",
            Self::NoDomain => "has no valid domain after '@' (like example.ru)",
            Self::HyphenInDomain => "has a domain part that starts or ends with '-'",
            Self::Invalid(e) => return write!(f, "is not valid ({e})"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("e-mail {input:?} {problem}; expected an address like ivanov@example.ru")]
pub struct EmailError {
    pub input: String,
    pub problem: EmailProblem,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let err = |problem: EmailProblem| EmailError {
            input: input.to_owned(),
            problem,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err(EmailProblem::Empty));
        }
        if trimmed.contains(',') {
            return Err(err(EmailProblem::Comma));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(err(EmailProblem::Spaces));
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(err(EmailProblem::NoAt));
        };
        if local.is_empty() {
            return Err(err(EmailProblem::NothingBeforeAt));
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(err(EmailProblem::NoDomain));
        }
        if labels
            .iter()
            .any(|l| l.starts_with('-') || l.ends_with('-'))
        {
            return Err(err(EmailProblem::HyphenInDomain));
        }
        let normalised = format!("{local}@{domain}");
        email_address::EmailAddress::from_str(&normalised)
            .map_err(|e| err(EmailProblem::Invalid(e.to_string())))?;
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ContactName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactNameError {
    #[error("the contact person's name is empty: give a name, e.g. Иванова Мария")]
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
            // Groupings the parser refused until only digits were given to it (found
            // by schemathesis writing numbers as operators might).
            ("+7975281-56-72", "+79752815672"),
            ("+799460442-56", "+79946044256"),
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
            ("12*45678", "characters other than"),
            ("+7 495 123-45-67 доб. 1234567", "extension"),
        ];
        for (input, want) in cases {
            let msg = Phone::parse(input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input}: {msg}");
            assert!(msg.contains("+7 495 123-45-67"), "{input}: {msg}");
        }
    }

    #[test]
    fn extensions_are_kept_and_numbers_shown_grouped() {
        for input in [
            "+7 495 123-45-67 доб. 12",
            "8 (495) 123-45-67 ДОБ 12",
            "+7 495 123 45 67 ext. 12",
            "+74951234567x12",
            "+7 495 123-45-67, #12",
            "+74951234567;ext=12",
        ] {
            let p = Phone::parse(input).unwrap();
            assert_eq!(p.as_str(), "+74951234567;ext=12", "{input}");
            assert_eq!(p.e164(), "+74951234567");
            assert_eq!(p.pretty("доб."), "+7 495 123-45-67 доб. 12");
            assert_eq!(
                Phone::from_e164(p.as_str()).unwrap(),
                p,
                "stored form reads back"
            );
        }
        let plain = Phone::parse("+79165551234").unwrap();
        assert_eq!(plain.extension(), None);
        assert_eq!(plain.pretty("ext."), "+7 916 555-12-34");
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
            ("ivan,ov@example.ru", "contains a comma"),
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
