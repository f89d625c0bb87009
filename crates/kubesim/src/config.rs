//! How a simulator runs: timings, and the whole configuration (with the scenarios and
//! faults it starts with).

use std::time::Duration;

use crate::faults::FaultConfig;
use crate::scenarios::Scenarios;

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
