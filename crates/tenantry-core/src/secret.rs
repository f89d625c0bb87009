//! Secret values: a type that cannot be printed by accident, and the one mask shown instead.

pub use secrecy::{ExposeSecret, SecretString};

/// What output shows in place of a secret value.
pub const MASK: &str = "••••••";

/// The text to show for a secret: the mask, or the value when the user asked to reveal it.
pub fn mask(secret: &SecretString, reveal: bool) -> String {
    if reveal {
        secret.expose_secret().to_owned()
    } else {
        MASK.to_owned()
    }
}

/// Masks known secret values wherever they turn up in text a run records: a path, a
/// cluster's error message, a step's detail. Each value is looked for as it is and in
/// base64 (how it travels in a Secret's `data`); values shorter than 4 characters are
/// left alone, as masking them would mask ordinary words.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a value containing another is masked whole.
    needles: Vec<SecretString>,
}

impl Redactor {
    pub fn new<'a>(values: impl IntoIterator<Item = &'a SecretString>) -> Self {
        use base64::Engine;
        let mut needles: Vec<String> = Vec::new();
        for v in values {
            let v = v.expose_secret();
            if v.chars().count() < 4 {
                continue;
            }
            needles.push(v.to_owned());
            needles.push(base64::engine::general_purpose::STANDARD.encode(v.as_bytes()));
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self {
            needles: needles.into_iter().map(SecretString::from).collect(),
        }
    }

    /// `text` with every known secret replaced by [`MASK`].
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for n in &self.needles {
            let n = n.expose_secret();
            if out.contains(n) {
                out = out.replace(n, MASK);
            }
        }
        out
    }

    /// A JSON value with every string (and key) passed through [`text`](Self::text).
    pub fn json(&self, v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.needles.is_empty() {
            return v.clone();
        }
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.json(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (self.text(k), self.json(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_values_plain_and_in_base64() {
        let r = Redactor::new(&[
            SecretString::from("pw123456"),
            SecretString::from("ab"),
            SecretString::from("pw123456-longer"),
        ]);
        assert_eq!(
            r.text("postgres://u:pw123456-longer@h and pw123456 but ab stays"),
            "postgres://u:••••••@h and •••••• but ab stays"
        );
        assert_eq!(r.text("data: cHcxMjM0NTY="), "data: ••••••");
        let v = serde_json::json!({"message": "invalid value \"pw123456\"", "n": 1});
        assert_eq!(
            r.json(&v),
            serde_json::json!({"message": "invalid value \"••••••\"", "n": 1})
        );
        assert_eq!(Redactor::default().text("pw123456"), "pw123456");
    }
}
