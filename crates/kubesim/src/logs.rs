//! Container logs: each line kept with the time it was written, read as the kubelet serves
//! `GET …/pods/NAME/log`: `container`, `tailLines`, `sinceSeconds`, `limitBytes`,
//! `timestamps`, and `follow` (streamed until the container ends or the pod goes).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::status::ApiError;

/// One line of a container's log.
#[derive(Debug, Clone)]
struct Line {
    at: time::OffsetDateTime,
    text: String,
}

/// A pod's log: every line, and where each instance of its container began (a restart
/// starts a new one), so `previous` reads the one before.
#[derive(Debug, Default)]
struct PodLog {
    lines: Vec<Line>,
    /// The line each instance after the first began at.
    starts: Vec<usize>,
    /// The current instance has ended (crashed, waiting to be restarted).
    ended: bool,
}

impl PodLog {
    fn current_start(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// The lines of the last instance that ended, if one has.
    fn previous(&self) -> Option<&[Line]> {
        let cur = self.current_start();
        if self.ended {
            return Some(&self.lines[cur..]);
        }
        let prev = match self.starts.len() {
            0 => return None,
            1 => 0,
            n => self.starts[n - 2],
        };
        Some(&self.lines[prev..cur])
    }
}

/// Every pod's log, by (namespace, pod).
#[derive(Debug, Default)]
pub struct Logs(Mutex<HashMap<(String, String), PodLog>>);

/// What a log request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub tail_lines: Option<usize>,
    pub since_seconds: Option<i64>,
    pub limit_bytes: Option<usize>,
    pub timestamps: bool,
    pub follow: bool,
}

impl Query {
    /// From the query parameters; a bad number is a 400 as the API server answers it.
    pub fn parse(
        q: &HashMap<String, String>,
        flag: impl Fn(&str) -> bool,
    ) -> Result<Self, ApiError> {
        fn number<T: std::str::FromStr>(
            q: &HashMap<String, String>,
            key: &str,
        ) -> Result<Option<T>, ApiError> {
            q.get(key)
                .map(|v| {
                    v.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid value {v:?} for {key}: must be a number"
                        ))
                    })
                })
                .transpose()
        }
        let query = Self {
            tail_lines: number(q, "tailLines")?,
            since_seconds: number(q, "sinceSeconds")?,
            limit_bytes: number(q, "limitBytes")?,
            timestamps: flag("timestamps"),
            follow: flag("follow"),
        };
        if query.limit_bytes == Some(0) || query.since_seconds.is_some_and(|s| s < 1) {
            return Err(ApiError::unprocessable(
                "PodLogOptions is invalid: limitBytes and sinceSeconds must be greater than 0",
            ));
        }
        Ok(query)
    }
}

impl Logs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), PodLog>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a line to a pod's log, stamped now.
    pub fn append(&self, ns: &str, pod: &str, text: &str) {
        self.lock()
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default()
            .lines
            .push(Line {
                at: time::OffsetDateTime::now_utc(),
                text: text.to_owned(),
            });
    }

    /// The pod's container ended (crashed): its log stays current until it restarts,
    /// and is then the previous one.
    pub fn ended(&self, ns: &str, pod: &str) {
        self.lock()
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default()
            .ended = true;
    }

    /// The pod's container started again: a new instance, with a log of its own.
    pub fn restarted(&self, ns: &str, pod: &str) {
        let mut logs = self.lock();
        let log = logs.entry((ns.to_owned(), pod.to_owned())).or_default();
        if log.ended {
            log.starts.push(log.lines.len());
            log.ended = false;
        }
    }

    /// The log of the instance before the current one (`previous=true`), shaped by
    /// `query`; `None` when no instance has ended yet.
    pub fn read_previous(&self, ns: &str, pod: &str, query: &Query) -> Option<String> {
        let logs = self.lock();
        let lines = logs.get(&(ns.to_owned(), pod.to_owned()))?.previous()?;
        Some(shape(lines, true, query))
    }

    /// How many lines a pod's log has: where a follow goes on from.
    pub fn len(&self, ns: &str, pod: &str) -> usize {
        self.lock()
            .get(&(ns.to_owned(), pod.to_owned()))
            .map_or(0, |l| l.lines.len())
    }

    /// The log as text, from line `from` on, as `query` shapes it (tail, since, stamps;
    /// the byte limit is the caller's, as it spans a whole follow).
    pub fn read(&self, ns: &str, pod: &str, from: usize, query: &Query) -> String {
        let logs = self.lock();
        let Some(log) = logs.get(&(ns.to_owned(), pod.to_owned())) else {
            return String::new();
        };
        // The current instance's lines: a restart starts a log of its own.
        let start = from.max(log.current_start());
        let lines = log.lines.get(start..).unwrap_or(&[]);
        shape(lines, from <= log.current_start(), query)
    }
}

/// Lines as text: since, tail (on a first read), timestamps.
fn shape(lines: &[Line], first_read: bool, query: &Query) -> String {
    let since = query
        .since_seconds
        .map(|s| time::OffsetDateTime::now_utc() - time::Duration::seconds(s));
    let kept: Vec<&Line> = lines
        .iter()
        .filter(|l| since.is_none_or(|t| l.at >= t))
        .collect();
    let kept = match query.tail_lines {
        Some(t) if first_read => &kept[kept.len().saturating_sub(t)..],
        _ => &kept[..],
    };
    kept.iter()
        .map(|l| {
            if query.timestamps {
                let at =
                    l.at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                format!("{at} {}\n", l.text)
            } else {
                format!("{}\n", l.text)
            }
        })
        .collect()
}

/// The container a log request reads: the one named, or the pod's only one, and whether
/// it is the one whose log the simulated kubelet writes (`lead`, the container whose fate
/// decides the pod's); the others' logs are empty.
pub fn container<'a>(
    pod: &'a Value,
    asked: Option<&'a str>,
    lead: usize,
) -> Result<(&'a str, bool), ApiError> {
    let pod_name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    match asked {
        Some(c) if !c.is_empty() => match names.iter().position(|n| *n == c) {
            Some(i) => Ok((c, i == lead)),
            None => Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {pod_name}"
            ))),
        },
        _ if names.len() == 1 => Ok((names[0], lead == 0)),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            names.join(" ")
        ))),
    }
}

/// Cuts `text` to at most `limit` bytes, on a character boundary.
pub fn limit(text: &str, limit: Option<usize>) -> &str {
    match limit {
        Some(l) if l < text.len() => {
            let mut end = l;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_restart_starts_a_new_log_and_previous_reads_the_one_before() {
        let logs = Logs::default();
        let q = Query::default();
        logs.append("ns", "p", "first run");
        assert_eq!(logs.read_previous("ns", "p", &q), None, "nothing has ended");
        logs.append("ns", "p", "panic");
        logs.ended("ns", "p");
        // Waiting to restart: the crashed instance is both current and previous.
        assert_eq!(logs.read("ns", "p", 0, &q), "first run\npanic\n");
        assert_eq!(
            logs.read_previous("ns", "p", &q).as_deref(),
            Some("first run\npanic\n")
        );
        logs.restarted("ns", "p");
        logs.append("ns", "p", "second run");
        assert_eq!(logs.read("ns", "p", 0, &q), "second run\n");
        assert_eq!(
            logs.read_previous("ns", "p", &q).as_deref(),
            Some("first run\npanic\n")
        );
        logs.append("ns", "p", "panic again");
        logs.ended("ns", "p");
        logs.restarted("ns", "p");
        assert_eq!(
            logs.read_previous("ns", "p", &q).as_deref(),
            Some("second run\npanic again\n")
        );
        assert_eq!(logs.read("ns", "p", 0, &q), "");
    }

    #[test]
    fn tail_timestamps_and_limits_shape_the_log() {
        let logs = Logs::default();
        for l in ["one", "two", "three"] {
            logs.append("ns", "p", l);
        }
        let q = Query {
            tail_lines: Some(2),
            ..Query::default()
        };
        assert_eq!(logs.read("ns", "p", 0, &q), "two\nthree\n");
        assert_eq!(logs.read("ns", "p", 2, &Query::default()), "three\n");
        let stamped = logs.read(
            "ns",
            "p",
            0,
            &Query {
                timestamps: true,
                ..Query::default()
            },
        );
        let first = stamped.lines().next().unwrap();
        let (at, text) = first.split_once(' ').unwrap();
        assert_eq!(text, "one");
        assert!(at.ends_with('Z') && at.contains('T'), "{at}");
        assert_eq!(limit("héllo", Some(2)), "h");
        assert_eq!(limit("hello", Some(10)), "hello");
    }

    #[test]
    fn a_pod_with_several_containers_needs_one_named() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(container(&pod, Some("b"), 0).unwrap(), ("b", false));
        assert_eq!(
            container(&pod, None, 0).unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert!(container(&pod, Some("c"), 0).is_err());
    }
}
