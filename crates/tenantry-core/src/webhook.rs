//! Outgoing webhooks, the pure part: the events one can be told of, the formats, how
//! long a failed delivery waits before it is tried again, and a Slack-compatible text.

use serde_json::Value;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    RunFailed,
    RolloutHalted,
    RolloutFinished,
    DriftDetected,
}

pub const EVENTS: [Event; 4] = [
    Event::RunFailed,
    Event::RolloutHalted,
    Event::RolloutFinished,
    Event::DriftDetected,
];

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunFailed => "run.failed",
            Self::RolloutHalted => "rollout.halted",
            Self::RolloutFinished => "rollout.finished",
            Self::DriftDetected => "drift.detected",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        EVENTS
            .into_iter()
            .find(|e| e.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "{s:?} is not an event: use {}",
                    EVENTS.map(Event::as_str).join(", ")
                )
            })
    }
}

/// How a delivery's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"event", "at", "data"}`.
    Json,
    /// `{"text"}`, as Slack's incoming webhooks take it.
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "json" => Ok(Self::Json),
            "slack" => Ok(Self::Slack),
            other => Err(format!("{other:?} is not a format: use json or slack")),
        }
    }
}

/// A webhook's address: http:// or https:// with a host.
pub fn address(s: &str) -> Result<url::Url, String> {
    url::Url::parse(s.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            format!(
                "{s:?} is not an http:// or https:// address, e.g. https://hooks.example/tenantry"
            )
        })
}

/// Tries of a delivery before it is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// How long a delivery that failed `attempts` times waits: doubling from `base`, at
/// most an hour.
pub fn backoff_secs(attempts: i64, base_secs: u64) -> u64 {
    let doubled = base_secs.saturating_mul(1u64 << attempts.clamp(0, 20));
    doubled.min(3600)
}

/// One line a person reads in a chat.
pub fn slack_text(event: Event, data: &Value) -> String {
    let s = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let n = |k: &str| data.get(k).map_or("?".to_owned(), ToString::to_string);
    match event {
        Event::RunFailed => format!(
            "tenantry: the {} of {} in {} failed (run {}): {}",
            s("kind"),
            s("client"),
            s("namespace"),
            n("run"),
            s("reason")
        ),
        Event::RolloutHalted => format!(
            "tenantry: rollout {} of {} halted: {}",
            n("rollout"),
            s("namespace"),
            s("reason")
        ),
        Event::RolloutFinished => format!(
            "tenantry: rollout {} of {} is {}",
            n("rollout"),
            s("namespace"),
            s("status")
        ),
        Event::DriftDetected => format!(
            "tenantry: {} in {} drifted from its last revision: {}",
            s("client"),
            s("namespace"),
            s("reason")
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_and_formats_read_back_and_a_typo_names_the_choices() {
        for e in EVENTS {
            assert_eq!(Event::parse(e.as_str()), Ok(e));
        }
        let err = Event::parse("run.fail").unwrap_err();
        assert!(err.contains("run.failed, rollout.halted"), "{err}");
        assert_eq!(Format::parse("slack"), Ok(Format::Slack));
        assert!(Format::parse("xml").is_err());
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        assert_eq!(backoff_secs(0, 2), 2);
        assert_eq!(backoff_secs(1, 2), 4);
        assert_eq!(backoff_secs(3, 2), 16);
        assert_eq!(backoff_secs(30, 2), 3600);
    }

    #[test]
    fn a_chat_line_names_what_happened() {
        let t = slack_text(
            Event::RunFailed,
            &json!({"kind": "deploy", "client": "C7", "namespace": "lms-dev", "run": 12, "reason": "image not found"}),
        );
        assert_eq!(
            t,
            "tenantry: the deploy of C7 in lms-dev failed (run 12): image not found"
        );
    }
}
