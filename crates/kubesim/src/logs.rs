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

/// Every pod's log, by (namespace, pod).
#[derive(Debug, Default)]
pub struct Logs(Mutex<HashMap<(String, String), Vec<Line>>>);

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
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<Line>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a line to a pod's log, stamped now.
    pub fn append(&self, ns: &str, pod: &str, text: &str) {
        self.lock()
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default()
            .push(Line {
                at: time::OffsetDateTime::now_utc(),
                text: text.to_owned(),
            });
    }

    /// How many lines a pod's log has: where a follow goes on from.
    pub fn len(&self, ns: &str, pod: &str) -> usize {
        self.lock()
            .get(&(ns.to_owned(), pod.to_owned()))
            .map_or(0, Vec::len)
    }

    /// The log as text, from line `from` on, as `query` shapes it (tail, since, stamps;
    /// the byte limit is the caller's, as it spans a whole follow).
    pub fn read(&self, ns: &str, pod: &str, from: usize, query: &Query) -> String {
        let logs = self.lock();
        let lines = logs
            .get(&(ns.to_owned(), pod.to_owned()))
            .map_or(&[][..], Vec::as_slice);
        let lines = lines.get(from..).unwrap_or(&[]);
        let since = query
            .since_seconds
            .map(|s| time::OffsetDateTime::now_utc() - time::Duration::seconds(s));
        let kept: Vec<&Line> = lines
            .iter()
            .filter(|l| since.is_none_or(|t| l.at >= t))
            .collect();
        let kept = match query.tail_lines {
            Some(t) if from == 0 => &kept[kept.len().saturating_sub(t)..],
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
}

/// The container a log request reads: the one named, or the pod's only one. The
/// simulated kubelet writes the first container's log; the others' are empty.
pub fn container<'a>(pod: &'a Value, asked: Option<&'a str>) -> Result<(&'a str, bool), ApiError> {
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
            Some(i) => Ok((c, i == 0)),
            None => Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {pod_name}"
            ))),
        },
        _ if names.len() == 1 => Ok((names[0], true)),
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
        assert_eq!(container(&pod, Some("b")).unwrap(), ("b", false));
        assert_eq!(
            container(&pod, None).unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert!(container(&pod, Some("c")).is_err());
    }
}
