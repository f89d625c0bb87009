//! Every request this process sent to a cluster, counted by method and answer, for
//! `/metrics`. Process-wide, as a Prometheus default registry is: clusters are made
//! per operation and per namespace, the count is of them all.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::KubeError;

static COUNTS: Mutex<BTreeMap<(&'static str, String), u64>> = Mutex::new(BTreeMap::new());

/// What an answer is counted as: `2xx`, the status code of a refusal, or `transport`
/// when no answer came.
pub fn answer_class<T>(result: &Result<T, KubeError>) -> String {
    match result {
        Ok(_) => "2xx".to_owned(),
        Err(e) => e
            .code()
            .map_or_else(|| "transport".to_owned(), |c| c.to_string()),
    }
}

pub(crate) fn record(method: &'static str, answer: String) {
    let mut c = COUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *c.entry((method, answer)).or_default() += 1;
}

/// (method, answer, count) of every request sent so far.
pub fn request_counts() -> Vec<(&'static str, String, u64)> {
    let c = COUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    c.iter().map(|((m, a), n)| (*m, a.clone(), *n)).collect()
}
