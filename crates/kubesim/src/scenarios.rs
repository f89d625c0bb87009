//! Scenarios: what goes wrong on purpose, chosen by image or command patterns, and the
//! `*`-globs they are written in.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Things that go wrong on purpose, chosen by image or command patterns (`*` matches
/// any text).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Scenarios {
    /// Images that cannot be pulled: `ErrImagePull`, then `ImagePullBackOff`.
    pub fail_image_pull: Vec<String>,
    /// Images whose containers exit with code 1 shortly after starting: `CrashLoopBackOff`.
    pub crash_image: Vec<String>,
    /// Images whose containers take this many milliseconds longer to become ready.
    pub slow_ready: HashMap<String, u64>,
    /// Job containers whose command and args match exit with code 1.
    pub fail_job_command: Vec<String>,
}

/// `*`-globs: `registry.test/bad*` matches `registry.test/bad:1`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_images() {
        assert!(glob_match("registry.test/bad*", "registry.test/bad:1"));
        assert!(glob_match("*crash*", "x/crash-me:2"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("a*z", "abc"));
    }
}
