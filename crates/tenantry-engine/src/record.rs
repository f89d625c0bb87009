//! A run's record: every attempt of every request (the cluster's [`Recorder`]), and the
//! steps' reports, stored in order by one writer task off the critical path. A write
//! the catalog refuses for a moment (a restart, a failover) is tried again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::Value;
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
}

impl RunLog {
    pub(crate) fn new(writes: UnboundedSender<Write>) -> Self {
        Self {
            writes,
            seq: AtomicI64::new(0),
            last_error: Mutex::new(None),
        }
    }

    pub(crate) fn requests(&self) -> i64 {
        self.seq.load(Ordering::Relaxed)
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    pub(crate) fn report(&self, report: Value) {
        let _ = self.writes.send(Write::Report(report));
    }
}

fn shorten(mut s: String, chars: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(chars) {
        s.truncate(i);
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
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.to_string());
                }
                (
                    i64::from(e.code().unwrap_or(0)),
                    match a.retry_in {
                        Some(wait) => format!("{e}; tried again after {wait:.1?}"),
                        None => e.to_string(),
                    },
                )
            }
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.writes.send(Write::Request {
            seq,
            method: a.method.to_owned(),
            path: a.path.to_owned(),
            status,
            duration_ms: i64::try_from(a.took.as_millis()).unwrap_or(i64::MAX),
            excerpt: shorten(excerpt, 300),
        });
    }
}
