//! How large each field a person fills in may be (ASVS 2.2.1: input is bounded). The
//! limits are far above real use and low enough that nobody can fill the catalog, the
//! pages or the audit log with one request.

use std::fmt;

/// A contact's role, e.g. "IT director".
pub const CONTACT_ROLE_CHARS: usize = 200;
/// A contact's free-text note.
pub const CONTACT_NOTE_CHARS: usize = 4_000;
/// Phones, or e-mails, of one client or one contact.
pub const PHONES_OR_EMAILS: usize = 20;
/// Contacts of one client.
pub const CONTACTS: usize = 50;
/// An env var's value, in bytes.
pub const ENV_VALUE_BYTES: usize = 32 * 1024;
/// A parameter's value, in bytes (a PEM bundle or a key fits easily).
pub const PARAM_VALUE_BYTES: usize = 64 * 1024;

/// The comment saved with a template version.
pub const TEMPLATE_NOTE_CHARS: usize = 500;

/// A field over its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    Chars {
        field: String,
        len: usize,
        max: usize,
    },
    Bytes {
        field: String,
        len: usize,
        max: usize,
    },
    Items {
        field: String,
        len: usize,
        max: usize,
    },
}

impl LimitError {
    pub fn field(&self) -> &str {
        match self {
            Self::Chars { field, .. } | Self::Bytes { field, .. } | Self::Items { field, .. } => {
                field
            }
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chars { field, len, max } => write!(
                f,
                "{field} is {len} characters long; at most {max} are allowed"
            ),
            Self::Bytes { field, len, max } => {
                write!(f, "{field} is {len} bytes long; at most {max} are allowed")
            }
            Self::Items { field, len, max } => {
                write!(f, "{field} has {len} entries; at most {max} are allowed")
            }
        }
    }
}

impl std::error::Error for LimitError {}

/// `s` has at most `max` characters.
pub fn chars(field: &str, s: &str, max: usize) -> Result<(), LimitError> {
    let len = s.chars().count();
    if len > max {
        return Err(LimitError::Chars {
            field: field.to_owned(),
            len,
            max,
        });
    }
    Ok(())
}

/// `s` has at most `max` bytes.
pub fn bytes(field: &str, s: &str, max: usize) -> Result<(), LimitError> {
    if s.len() > max {
        return Err(LimitError::Bytes {
            field: field.to_owned(),
            len: s.len(),
            max,
        });
    }
    Ok(())
}

/// A list has at most `max` entries.
pub fn items(field: &str, len: usize, max: usize) -> Result<(), LimitError> {
    if len > max {
        return Err(LimitError::Items {
            field: field.to_owned(),
            len,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_is_named() {
        assert!(chars("note", "ааа", 3).is_ok());
        let e = chars("note", "аааа", 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "note is 4 characters long; at most 3 are allowed"
        );
        assert_eq!(e.field(), "note");
        assert!(items("phones", 21, PHONES_OR_EMAILS).is_err());
        assert!(bytes("value", &"x".repeat(ENV_VALUE_BYTES + 1), ENV_VALUE_BYTES).is_err());
    }
}
