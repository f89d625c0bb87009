//! A run's record: every attempt of every request (the cluster's [`Recorder`]), and the
//! steps' reports, stored in order by one writer task off the critical path. A write
//! the catalog refuses for a moment (a restart, a failover) is tried again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tenantry_core::Redactor;
use tenantry_kube::{Attempt, Recorder};
use tenantry_store::Catalog;
use tokio::sync::mpsc::UnboundedSender;

/// What the writer stores, in order.
pub(crate) enum Write {
    Request {
        seq: i64,
        method: String,
        path: String,
        status: i64,
        duration_ms: i64,
        excerpt: String,
    },
    Report(Value),
}

/// How long one write is tried before it is given up (with a warning).
const WRITE_BUDGET: Duration = Duration::from_secs(30);

/// Retries `f` with a growing pause until it succeeds or `budget` is spent; the last
/// error if it never did.
pub(crate) async fn with_retries<T, E: std::fmt::Display, F, Fut>(
    budget: Duration,
    mut f: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if started.elapsed() + pause < budget => {
                tracing::warn!("the catalog refused a write, trying again in {pause:?}: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Starts the writer of run `run`: it ends when every sender is gone and all is written.
pub(crate) fn writer(
    catalog: Catalog,
    run: i64,
) -> (UnboundedSender<Write>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
    let task = tokio::spawn(async move {
        while let Some(w) = rx.recv().await {
            let result = with_retries(WRITE_BUDGET, || async {
                match &w {
                    Write::Request {
                        seq,
                        method,
                        path,
                        status,
                        duration_ms,
                        excerpt,
                    } => {
                        let record = tenantry_store::NewRequest {
                            seq: *seq,
                            method,
                            path,
                            status: *status,
                            duration_ms: *duration_ms,
                            excerpt,
                        };
                        catalog.record_request(run, &record).await
                    }
                    Write::Report(report) => catalog.save_run_report(run, report).await,
                }
            })
            .await;
            if let Err(e) = result {
                tracing::warn!("cannot record the progress of run {run}: {e}");
            }
        }
    });
    (tx, task)
}

/// Records a run's requests: the [`Recorder`] of its cluster connection.
pub(crate) struct RunLog {
    writes: UnboundedSender<Write>,
    seq: AtomicI64,
    /// The last failure the cluster answered, for a verdict that ends without one.
    last_error: Mutex<Option<String>>,
    /// Masks the secrets of the run in everything recorded.
    redactor: Redactor,
}

impl RunLog {
    pub(crate) fn new(writes: UnboundedSender<Write>, redactor: Redactor) -> Self {
        Self {
            writes,
            seq: AtomicI64::new(0),
            last_error: Mutex::new(None),
            redactor,
        }
    }

    pub(crate) fn requests(&self) -> i64 {
        self.seq.load(Ordering::Relaxed)
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    pub(crate) fn report(&self, report: Value) {
        let _ = self.writes.send(Write::Report(self.redactor.json(&report)));
    }
}

/// The most of a request body or an answer a run's record keeps, in characters: every
/// body the default templates send fits many times over; a runaway one cannot fill the
/// catalog.
pub const RECORDED_CHARS: usize = 256 * 1024;

fn shorten(mut s: String, chars: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(chars) {
        s.truncate(i);
        s.push_str(&format!(" … (cut at {chars} characters)"));
    }
    s
}

impl Recorder for RunLog {
    fn attempt(&self, a: &Attempt<'_>) {
        let shown = || a.shown.map(ToString::to_string).unwrap_or_default();
        let (status, excerpt) = match a.result {
            Ok(_) if a.method == "POST" => (201, shown()),
            Ok(_) => (200, shown()),
            Err(e) => {
                let e = self.redactor.text(&e.to_string());
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.clone());
                }
                (
                    i64::from(a.result.as_ref().err().and_then(|e| e.code()).unwrap_or(0)),
                    match a.retry_in {
                        Some(wait) => format!("{e}; tried again after {wait:.1?}"),
                        None => e,
                    },
                )
            }
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.writes.send(Write::Request {
            seq,
            method: a.method.to_owned(),
            path: self.redactor.text(a.path),
            status,
            duration_ms: i64::try_from(a.took.as_millis()).unwrap_or(i64::MAX),
            excerpt: shorten(self.redactor.text(&excerpt), RECORDED_CHARS),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use tenantry_kube::KubeError;

    /// A cluster message that echoes a secret (a 422 quoting an invalid value, a path
    /// holding one) is recorded with the mask, in the request log and the last error.
    #[test]
    fn recorded_paths_and_errors_mask_the_runs_secrets() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let log = RunLog::new(tx, Redactor::new(&[SecretString::from("hunter2-secret")]));
        let err = KubeError::Other(
            "ConfigMap \"x\" is invalid: data[hunter2-secret]: Invalid value".into(),
        );
        log.attempt(&Attempt {
            method: "POST",
            path: "api/v1/namespaces/n/configmaps/hunter2-secret",
            result: Err(&err),
            took: Duration::from_millis(3),
            retry_in: None,
            shown: None,
        });
        log.report(serde_json::json!([{ "detail": "failed: hunter2-secret" }]));
        let Some(Write::Request { path, excerpt, .. }) = rx.try_recv().ok() else {
            panic!("no request recorded");
        };
        assert_eq!(path, "api/v1/namespaces/n/configmaps/••••••");
        assert!(
            excerpt.contains("data[••••••]") && !excerpt.contains("hunter2"),
            "{excerpt}"
        );
        assert!(!log.last_error().unwrap().contains("hunter2"));
        let Some(Write::Report(r)) = rx.try_recv().ok() else {
            panic!("no report recorded");
        };
        assert_eq!(r[0]["detail"], "failed: ••••••");
    }
}
