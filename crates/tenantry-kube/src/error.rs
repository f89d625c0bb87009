//! What can go wrong talking to a cluster, classified by the error's type (never by its
//! text), in words an operator can act on; and which failures are worth trying again.

use std::time::Duration;

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
        "the server at {url} does not speak TLS ({detail}). If it serves plain HTTP, write the API root URL with http://"
    )]
    NotTls { url: String, detail: String },
    #[error(
        "the cluster rejected the token (401 Unauthorized) at {url}. Set a valid one with `tenantry namespace edit NAME --token-stdin`"
    )]
    Unauthorized { url: String },
    #[error("{} {}: {} {}: {}{}", .0.method, .0.path, .0.code, .0.reason, .0.message, causes_text(&.0.causes))]
    Api(Box<ApiFailure>),
    /// The answer was not what the API answers (not JSON where JSON was due).
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

    /// Whether the API said the object is not there.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// Whether trying again may help: 429, 5xx, and connections that did not get
    /// through or were dropped.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api(a) => a.code == 429 || matches!(a.code, 500 | 502 | 503 | 504),
            Self::Unreachable { .. } => true,
            _ => false,
        }
    }

    /// How long to wait before trying again, for errors worth retrying: 429 (its
    /// Retry-After), 5xx, and connections that did not get through.
    pub fn retry_after(&self, attempt: u32) -> Option<Duration> {
        if !self.is_transient() {
            return None;
        }
        Some(match self {
            Self::Api(a) if a.code == 429 => a
                .retry_after
                .map_or_else(|| backoff(attempt), |s| Duration::from_secs(s.clamp(1, 30))),
            _ => backoff(attempt),
        })
    }
}

/// Exponential, with jitter from the clock's nanoseconds, capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64 << attempt.min(5);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % (base / 2 + 1);
    Duration::from_millis((base + jitter).min(8_000))
}

/// A kube-rs error as a [`KubeError`]: the API's own answers by their status, transport
/// failures by the type of their cause.
pub(crate) fn classify(url: &str, method: &str, path: &str, e: kube::Error) -> KubeError {
    match e {
        kube::Error::Api(status) => {
            if status.code == 401 {
                return KubeError::Unauthorized {
                    url: url.to_owned(),
                };
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
        kube::Error::SerdeError(e) => KubeError::Other(format!(
            "{method} {path}: the answer is not what the Kubernetes API answers: {e}"
        )),
        other => transport(url, &other),
    }
}

/// The TLS error a transport failure carries, if any. An `io::Error` keeps what it
/// wraps out of `source()`, so each one is opened with `get_ref()` as well.
fn tls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(t) = tls_cause(inner)
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// A failure below HTTP: a TLS problem when rustls says so (a server that answers
/// TLS with something else does not speak TLS), otherwise a connection that did not get
/// through or was dropped (a TLS stream closed without close_notify included), which is
/// worth trying again.
pub(crate) fn transport(url: &str, e: &(dyn std::error::Error + 'static)) -> KubeError {
    let detail = error_chain(e);
    let url = url.to_owned();
    match tls_cause(e) {
        Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
            KubeError::NotTls { url, detail }
        }
        Some(_) => KubeError::Tls { url, detail },
        None => KubeError::Unreachable { url, detail },
    }
}

/// An error and its causes, each said once.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
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

#[cfg(test)]
mod tests {
    use super::*;

    fn io(
        kind: std::io::ErrorKind,
        inner: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> std::io::Error {
        std::io::Error::new(kind, inner)
    }

    #[test]
    fn a_dropped_tls_connection_is_transient_and_a_certificate_problem_is_not() {
        // What rustls says when the peer hangs up mid-stream: no rustls::Error inside.
        let dropped = io(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        );
        let e = transport("https://x", &dropped);
        assert!(matches!(e, KubeError::Unreachable { .. }), "{e:?}");
        assert!(e.is_transient());

        let bad_cert = io(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let e = transport("https://x", &bad_cert);
        assert!(matches!(e, KubeError::Tls { .. }), "{e:?}");
        assert!(!e.is_transient());

        let plain = io(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        let e = transport("https://x", &plain);
        assert!(matches!(e, KubeError::NotTls { .. }), "{e:?}");
        assert!(e.to_string().contains("does not speak TLS"), "{e}");
    }
}
