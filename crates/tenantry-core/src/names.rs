//! Kubernetes name rules (RFC 1123 labels and subdomains) shared by the domain types.

/// Why a string is not a valid RFC 1123 DNS label.
pub fn dns_label_problem(s: &str) -> Option<String> {
    label_problem(s).map(|p| p.to_string())
}

/// Why a string is not an RFC 1123 label, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelProblem {
    Empty,
    TooLong(usize),
    Char(char),
    Dash,
}

impl std::fmt::Display for LabelProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong(n) => write!(f, "it is {n} characters long; at most 63 are allowed"),
            Self::Char(c) => write!(
                f,
                "it contains {c:?}; only lower-case letters a-z, digits and '-' are allowed"
            ),
            Self::Dash => f.write_str("it must start and end with a letter or digit"),
        }
    }
}

/// [`dns_label_problem`], typed.
pub fn label_problem(s: &str) -> Option<LabelProblem> {
    if s.is_empty() {
        return Some(LabelProblem::Empty);
    }
    if s.len() > 63 {
        return Some(LabelProblem::TooLong(s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(LabelProblem::Char(c));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some(LabelProblem::Dash);
    }
    None
}

/// Why a string is not a valid RFC 1123 DNS subdomain (dot-separated labels, ≤ 253).
pub fn dns_subdomain_problem(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some(format!(
            "it is {} characters long; at most 253 are allowed",
            s.len()
        ));
    }
    s.split('.').find_map(dns_label_problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_rfc_1123() {
        for ok in ["lms-dev", "c42", "a", "0abc"] {
            assert_eq!(dns_label_problem(ok), None, "{ok}");
        }
        for bad in ["", "C42", "-a", "a-", "a.b", "a_b", &"x".repeat(64)] {
            assert!(dns_label_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(dns_subdomain_problem("a.b-c.d"), None);
        assert!(dns_subdomain_problem("a..b").is_some());
    }
}
