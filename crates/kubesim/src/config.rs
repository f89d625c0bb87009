//! How a simulator runs: timings, scenarios (what goes wrong on purpose, matched by
//! `*`-globs), faults to inject, and the whole configuration.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long simulated things take. Tests shorten them.
#[derive(Debug, Clone)]
pub struct Timings {
    /// How often controllers and the kubelet look at objects.
    pub tick: Duration,
    pub schedule: Duration,
    pub pull: Duration,
    /// From pulled to running.
    pub start: Duration,
    /// From running to ready.
    pub ready: Duration,
    /// How long a Job's container runs.
    pub job_run: Duration,
    /// How long a crashing container runs before it exits.
    pub crash_after: Duration,
    /// The first back-off after a failure (doubles each time, capped at 8x).
    pub backoff: Duration,
    /// How long one "second" of a deadline (`progressDeadlineSeconds`,
    /// `activeDeadlineSeconds`) lasts.
    pub deadline_second: Duration,
    /// How long a minute of CronJob schedules lasts.
    pub cron_minute: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(100),
            schedule: Duration::from_millis(200),
            pull: Duration::from_millis(800),
            start: Duration::from_millis(300),
            ready: Duration::from_millis(700),
            job_run: Duration::from_secs(2),
            crash_after: Duration::from_millis(800),
            backoff: Duration::from_secs(2),
            deadline_second: Duration::from_secs(1),
            cron_minute: Duration::from_secs(60),
        }
    }
}

impl Timings {
    /// Everything quick, for tests.
    pub fn fast() -> Self {
        Self {
            tick: Duration::from_millis(10),
            schedule: Duration::from_millis(10),
            pull: Duration::from_millis(20),
            start: Duration::from_millis(10),
            ready: Duration::from_millis(20),
            job_run: Duration::from_millis(50),
            crash_after: Duration::from_millis(30),
            backoff: Duration::from_millis(50),
            deadline_second: Duration::from_millis(10),
            cron_minute: Duration::from_millis(100),
        }
    }
}

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

/// Faults injected before requests are handled, reproducible from a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub seed: u64,
    /// Added to every request.
    pub latency_ms: u64,
    /// Share of requests answered 500 (half) or 503 (half).
    pub error_rate: f64,
    /// Share of requests answered 429 with `Retry-After`.
    pub throttle_rate: f64,
    pub retry_after_seconds: u64,
    /// Share of requests whose connection is dropped without an answer.
    pub drop_rate: f64,
}

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bearer token clients must send; `None` lets everyone in.
    pub token: Option<String>,
    /// Serve the API below this path, as a Rancher proxy does (`/k8s/clusters/c-local`).
    pub path_prefix: String,
    pub timings: Timings,
    pub scenarios: Scenarios,
    pub faults: FaultConfig,
    pub bookmark_interval: Duration,
    /// How many changes watches can resume from.
    pub history: usize,
    /// Namespaces that exist from the start.
    pub namespaces: Vec<String>,
    /// Run the controllers and the kubelet (off: a bare API server, for benchmarks).
    pub controllers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token: None,
            path_prefix: String::new(),
            timings: Timings::default(),
            scenarios: Scenarios::default(),
            faults: FaultConfig::default(),
            bookmark_interval: Duration::from_secs(5),
            history: 100_000,
            namespaces: vec!["default".into(), "kube-system".into()],
            controllers: true,
        }
    }
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
