//! The only place tenantry talks to a cluster. A [`Cluster`] is made from a namespace
//! target (API root with its Rancher prefix, bearer token, CA); requests are sent as
//! JSON; failures become [`KubeError`]s that say what to do, and transient ones are
//! retried by a policy that knows which are transient.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::Value;
use tenantry_core::{ApiRootUrl, CaBundle, SecretString};

/// What went wrong talking to the cluster, in words an operator can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KubeError {
    #[error(
        "cannot reach the cluster API at {url}: {detail}. Check the address, and that this machine's IP is on the cluster owners' allow-list"
    )]
    Unreachable { url: String, detail: String },
    #[error(
        "the TLS connection to {url} failed: {detail}. Check the namespace's CA bundle (`tenantry namespace edit NAME --ca-file PEM`)"
    )]
    Tls { url: String, detail: String },
    #[error(
        "the cluster rejected the token (401 Unauthorized) at {url}. Set a valid one with `tenantry namespace edit NAME --token-stdin`"
    )]
    Unauthorized { url: String },
    #[error("{} {}: {} {}: {}{}", .0.method, .0.path, .0.code, .0.reason, .0.message, causes_text(&.0.causes))]
    Api(Box<ApiFailure>),
    #[error("{0}")]
    Other(String),
}

/// An answer of the API other than success: its status and what it said.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub method: String,
    pub path: String,
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// Field problems of a 422, `field: message`.
    pub causes: Vec<String>,
    pub retry_after: Option<u64>,
}

fn causes_text(causes: &[String]) -> String {
    if causes.is_empty() {
        String::new()
    } else {
        format!(" ({})", causes.join("; "))
    }
}

impl KubeError {
    /// The HTTP status of an API error.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Api(a) => Some(a.code),
            Self::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Api(a) => Some(&a.reason),
            _ => None,
        }
    }

    /// How long to wait before trying again, for errors worth retrying: 429 (its
    /// Retry-After), 5xx, and connections that did not get through.
    pub fn retry_after(&self, attempt: u32) -> Option<Duration> {
        let backoff = || {
            // Exponential, with jitter from the clock's nanoseconds, capped at 8 s.
            let base = 200u64 << attempt.min(5);
            let jitter = u64::from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos()),
            ) % (base / 2 + 1);
            Duration::from_millis((base + jitter).min(8_000))
        };
        match self {
            Self::Api(a) if a.code == 429 => Some(
                a.retry_after
                    .map_or_else(backoff, |s| Duration::from_secs(s.max(1))),
            ),
            Self::Api(a) if matches!(a.code, 500 | 502 | 503 | 504) => Some(backoff()),
            Self::Unreachable { .. } => Some(backoff()),
            _ => None,
        }
    }
}

/// One attempt of a request, as [`Cluster::send_observed`] tells it.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub result: Result<&'a Value, &'a KubeError>,
    pub took: Duration,
    /// When the request is tried again after this failure; `None` when this was the last.
    pub retry_in: Option<Duration>,
}

/// One change a watch reports.
#[derive(Debug, Clone)]
pub enum Change {
    /// Added or modified: the object as it is now.
    Upsert(Value),
    Deleted(Value),
    /// Nothing changed up to this resource version.
    Bookmark(String),
    /// The version watched from is too old: list again.
    Gone,
}

/// The changes of one watch.
pub type ChangeStream = futures_util::stream::BoxStream<'static, Result<Change, KubeError>>;

/// A connection to one namespace target's cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    root: ApiRootUrl,
    /// How many times a transient failure is retried before it is reported.
    pub max_retries: u32,
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
    /// the operating system's roots).
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
        let client = kube::Client::try_from(config).map_err(|e| classify(root, "", "", e))?;
        Ok(Self {
            client,
            root: root.clone(),
            max_retries: 6,
        })
    }

    pub fn root(&self) -> &ApiRootUrl {
        &self.root
    }

    /// Sends one request (path below the API root, e.g. `api/v1/namespaces/x/pods`),
    /// retrying transient failures; returns the JSON answer.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, KubeError> {
        self.send_observed(method, path, body, &mut |_| {}).await
    }

    /// As [`send`](Self::send), telling `observe` of every attempt: what it answered,
    /// how long it took, and when a transient failure is tried again.
    pub async fn send_observed(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        observe: &mut (dyn FnMut(Attempt<'_>) + Send),
    ) -> Result<Value, KubeError> {
        let mut attempt = 0;
        loop {
            let started = std::time::Instant::now();
            let result = self.send_once(method, path, body).await;
            let retry_in = match &result {
                Err(e) if attempt < self.max_retries => e.retry_after(attempt),
                _ => None,
            };
            observe(Attempt {
                result: result.as_ref(),
                took: started.elapsed(),
                retry_in,
            });
            match (result, retry_in) {
                (Err(e), Some(wait)) => {
                    tracing::info!(%method, %path, attempt, ?wait, "transient failure, retrying: {e}");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                (result, _) => return result,
            }
        }
    }

    /// One attempt, no retry.
    pub async fn send_once(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, KubeError> {
        let uri = format!("/{}", path.trim_start_matches('/'));
        let mut req = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header(http::header::ACCEPT, "application/json");
        let bytes = match body {
            Some(b) => {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(b).map_err(|e| KubeError::Other(e.to_string()))?
            }
            None => Vec::new(),
        };
        let req = req
            .body(bytes)
            .map_err(|e| KubeError::Other(e.to_string()))?;
        let text = self
            .client
            .request_text(req)
            .await
            .map_err(|e| classify(&self.root, method, path, e))?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Opens a watch of the list at `path` (with its selectors) from `resource_version`:
    /// a stream of changes that ends when the server closes it (about five minutes, or a
    /// dropped connection); resume from the last version seen. A version too old to
    /// watch from comes as [`Change::Gone`]: list again.
    pub async fn watch(
        &self,
        path: &str,
        resource_version: &str,
    ) -> Result<ChangeStream, KubeError> {
        use futures_util::StreamExt;
        let sep = if path.contains('?') { '&' } else { '?' };
        let full = format!(
            "{}{sep}watch=true&allowWatchBookmarks=true&timeoutSeconds=290&resourceVersion={}",
            path.trim_start_matches('/'),
            resource_version
        );
        let uri = format!("/{full}");
        let req = http::Request::builder()
            .method("GET")
            .uri(&uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| KubeError::Other(e.to_string()))?;
        let root = self.root.clone();
        let owned_path = path.to_owned();
        let events = self
            .client
            .request_events::<Value>(req)
            .await
            .map_err(|e| classify(&self.root, "GET", path, e))?;
        Ok(events
            .map(
                move |event: Result<kube::core::WatchEvent<Value>, kube::Error>| {
                    use kube::core::WatchEvent as W;
                    let event = event.map_err(|e| classify(&root, "WATCH", &owned_path, e))?;
                    Ok(match event {
                        W::Added(o) | W::Modified(o) => Change::Upsert(o),
                        W::Deleted(o) => Change::Deleted(o),
                        W::Bookmark(b) => Change::Bookmark(b.metadata.resource_version),
                        W::Error(e) if e.code == 410 => Change::Gone,
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

    /// A pod's log, the last `lines` lines.
    pub async fn pod_log_tail(
        &self,
        namespace: &str,
        pod: &str,
        lines: u32,
    ) -> Result<String, KubeError> {
        let path = format!("api/v1/namespaces/{namespace}/pods/{pod}/log?tailLines={lines}");
        match self.send("GET", &path, None).await? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }
}

fn classify(root: &ApiRootUrl, method: &str, path: &str, e: kube::Error) -> KubeError {
    let url = root.to_string();
    match e {
        kube::Error::Api(status) => {
            if status.code == 401 {
                return KubeError::Unauthorized { url };
            }
            let details = status.details.as_ref();
            KubeError::Api(Box::new(ApiFailure {
                method: method.to_owned(),
                path: path.to_owned(),
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
                causes: details
                    .map(|d| {
                        d.causes
                            .iter()
                            .map(|c| {
                                if c.field.is_empty() {
                                    c.message.clone()
                                } else {
                                    format!("{}: {}", c.field, c.message)
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                retry_after: details
                    .map(|d| u64::from(d.retry_after_seconds))
                    .filter(|s| *s > 0),
            }))
        }
        other => {
            let detail = error_chain(&other);
            let lower = detail.to_lowercase();
            if lower.contains("certificate")
                || lower.contains("tls")
                || lower.contains("handshake")
                || lower.contains("invalidcertificate")
            {
                KubeError::Tls { url, detail }
            } else {
                KubeError::Unreachable { url, detail }
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}
