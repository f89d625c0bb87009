//! A connection to one namespace target's cluster. Every request goes through
//! [`Cluster::call`] (or [`Cluster::watch`]), which tells the cluster's [`Recorder`] of
//! every attempt: "every request is recorded" holds by construction. Transient failures
//! are retried by tenantry's policy alone (kube-rs's own retry is off), within a budget,
//! so a cluster that keeps answering 429 or 503 gets a verdict naming its last answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::Value;
use tenantry_core::{ApiRootUrl, CaBundle, SecretString};

use crate::error::{KubeError, classify};
use crate::op::{ListSpec, ObjectRef, Op};

/// One attempt of a request, as the [`Recorder`] hears it.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// `GET`, `POST`, … and `WATCH` for a watch being opened.
    pub method: &'a str,
    /// Below the API root, selectors included.
    pub path: &'a str,
    pub result: Result<&'a Value, &'a KubeError>,
    pub took: Duration,
    /// When the request is tried again after this failure; `None` when this was the last.
    pub retry_in: Option<Duration>,
    /// What to show of the body sent (secrets masked), as the caller gave it.
    pub shown: Option<&'a Value>,
}

/// Hears of every attempt of every request a [`Cluster`] sends.
pub trait Recorder: Send + Sync {
    fn attempt(&self, a: &Attempt<'_>);
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries after the first, at most.
    pub max_retries: u32,
    /// Time from the first try after which no further try starts.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            budget: Duration::from_secs(60),
        }
    }
}

/// One change a watch reports.
#[derive(Debug, Clone)]
pub enum Change {
    /// Added or modified: the object as it is now.
    Upsert(Value),
    Deleted(Value),
    /// Nothing changed up to this resource version.
    Bookmark(String),
    /// The version watched from is too old, or newer than the server has (it lost its
    /// state): list again.
    Gone,
}

/// A watch that did not open, and when to try it again (`None`: not worth it, or the
/// retry policy is spent).
#[derive(Debug)]
pub struct WatchError {
    pub error: KubeError,
    pub retry_in: Option<Duration>,
}

/// The changes of one watch.
pub type ChangeStream = futures_util::stream::BoxStream<'static, Result<Change, KubeError>>;

/// A connection to one namespace target's cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    root: ApiRootUrl,
    pub retry: RetryPolicy,
    recorder: Option<Arc<dyn Recorder>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A client for `root` with a bearer token and, if given, the CA to trust (otherwise
    /// the operating system's roots). A CA bundle that TLS cannot use is refused here.
    pub fn connect(
        root: &ApiRootUrl,
        token: &SecretString,
        ca: Option<&CaBundle>,
    ) -> Result<Self, KubeError> {
        let uri: http::Uri = root
            .as_str()
            .parse()
            .map_err(|e| KubeError::Other(format!("API root URL {root} is not usable: {e}")))?;
        let mut config = kube::Config::new(uri);
        config.auth_info.token = Some(SecretString::from(token.expose_secret().to_owned()));
        config.root_cert = ca.map(CaBundle::certificates_der);
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(30));
        // Tenantry's retry policy is the only one: every attempt is seen and recorded.
        config.default_retry = false;
        let client = kube::Client::try_from(config).map_err(|e| match e {
            kube::Error::RustlsTls(e) => KubeError::Tls {
                url: root.to_string(),
                detail: format!("the CA bundle cannot be used: {e}"),
            },
            other => classify(root.as_str(), "", "", other),
        })?;
        Ok(Self {
            client,
            root: root.clone(),
            retry: RetryPolicy::default(),
            recorder: None,
        })
    }

    /// The same connection, telling `recorder` of every attempt.
    pub fn recorded(&self, recorder: Arc<dyn Recorder>) -> Self {
        Self {
            recorder: Some(recorder),
            ..self.clone()
        }
    }

    pub fn root(&self) -> &ApiRootUrl {
        &self.root
    }

    /// Sends `op`, retrying transient failures within the retry policy; returns the JSON
    /// answer (a log's text as a JSON string).
    pub async fn call(&self, op: Op<'_>) -> Result<Value, KubeError> {
        self.call_shown(op, None).await
    }

    /// As [`call`](Self::call), with what the records show of the body (secrets masked).
    pub async fn call_shown(&self, op: Op<'_>, shown: Option<&Value>) -> Result<Value, KubeError> {
        let first = Instant::now();
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let (path, result) = self.send_once(op).await;
            crate::counts::record(op.method_static(), crate::counts::answer_class(&result));
            let retry_in = match &result {
                Err(e) if attempt < self.retry.max_retries => e
                    .retry_after(attempt)
                    .filter(|wait| first.elapsed() + *wait < self.retry.budget),
                _ => None,
            };
            if let Some(r) = &self.recorder {
                r.attempt(&Attempt {
                    method: op.method(),
                    path: &path,
                    result: result.as_ref(),
                    took: started.elapsed(),
                    retry_in,
                    shown,
                });
            }
            match (result, retry_in) {
                (Err(e), Some(wait)) => {
                    tracing::info!(method = op.method(), %path, attempt, ?wait, "transient failure, retrying: {e}");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                (result, _) => return result,
            }
        }
    }

    /// One attempt, no retry: the path it was sent to and the answer.
    async fn send_once(&self, op: Op<'_>) -> (String, Result<Value, KubeError>) {
        let req = match op.request() {
            Ok(r) => r,
            Err(e) => return (String::new(), Err(e)),
        };
        let path = req.uri().path_and_query().map_or_else(String::new, |p| {
            p.as_str()
                .trim_start_matches('/')
                .trim_end_matches('?')
                .replace("?&", "?")
        });
        let text = match self.client.request_text(req).await {
            Ok(t) => t,
            Err(e) => {
                return (
                    path.clone(),
                    Err(classify(self.root.as_str(), op.method(), &path, e)),
                );
            }
        };
        let result = if matches!(op, Op::Log { .. }) {
            Ok(Value::String(text))
        } else if text.trim().is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_str(&text).map_err(|e| {
                KubeError::Other(format!(
                    "{} {path}: the answer is not JSON ({e}): is the API root URL the cluster's?",
                    op.method()
                ))
            })
        };
        (path, result)
    }

    /// Opens a watch of `list` from `resource_version` (empty: the current state first,
    /// then the changes): a stream that ends when the server closes it (about five
    /// minutes, or a dropped connection); resume from the last version seen. A version
    /// too old or too new to watch from comes as [`Change::Gone`]: list again. The
    /// opening is one attempt, recorded as `WATCH`; `failures` is how many openings of
    /// this watch failed in a row before it: a transient failure within the retry
    /// policy says when to try again, and is recorded so.
    pub async fn watch(
        &self,
        list: &ListSpec,
        resource_version: &str,
        failures: u32,
    ) -> Result<ChangeStream, WatchError> {
        use futures_util::StreamExt;
        let started = Instant::now();
        let path = list.path();
        let opened = async {
            let req = list.watch_request(resource_version)?;
            self.client
                .request_events::<Value>(req)
                .await
                .map_err(|e| classify(self.root.as_str(), "WATCH", &path, e))
        }
        .await;
        crate::counts::record("WATCH", crate::counts::answer_class(&opened));
        let retry_in = match &opened {
            Err(e) if failures < self.retry.max_retries => e.retry_after(failures),
            _ => None,
        };
        if let Some(r) = &self.recorder {
            let ok = Value::Null;
            r.attempt(&Attempt {
                method: "WATCH",
                path: &path,
                result: opened.as_ref().map(|_| &ok),
                took: started.elapsed(),
                retry_in,
                shown: None,
            });
        }
        let root = self.root.to_string();
        let events = opened.map_err(|error| WatchError { error, retry_in })?;
        Ok(events
            .map(
                move |event: Result<kube::core::WatchEvent<Value>, kube::Error>| {
                    use kube::core::WatchEvent as W;
                    let event = event.map_err(|e| classify(&root, "WATCH", &path, e))?;
                    Ok(match event {
                        W::Added(o) | W::Modified(o) => Change::Upsert(o),
                        W::Deleted(o) => Change::Deleted(o),
                        W::Bookmark(b) => Change::Bookmark(b.metadata.resource_version),
                        W::Error(e) if e.code == 410 || too_new(&e) => Change::Gone,
                        W::Error(e) => {
                            return Err(KubeError::Other(format!(
                                "the watch failed: {} {}: {}",
                                e.code, e.reason, e.message
                            )));
                        }
                    })
                },
            )
            .boxed())
    }

    /// A pod's log, the last `lines` lines: of the instance before when the current one
    /// has written nothing yet (a container restarted after a crash).
    pub async fn pod_log_tail(&self, pod: &ObjectRef, lines: u32) -> Result<String, KubeError> {
        let read = |previous| async move {
            match self
                .call(Op::Log {
                    pod,
                    tail_lines: lines,
                    previous,
                })
                .await?
            {
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            }
        };
        let current: String = read(false).await?;
        if !current.trim().is_empty() {
            return Ok(current);
        }
        // A restarted container has written nothing yet: its crash is the instance before.
        Ok(read(true).await.unwrap_or(current))
    }
}

/// The API server's answer to a watch from a version it has not reached: it lost its
/// state (restarted empty), so what was watched must be listed again.
fn too_new(e: &kube::core::Status) -> bool {
    e.code == 504
        && e.message
            .to_lowercase()
            .contains("too large resource version")
}
