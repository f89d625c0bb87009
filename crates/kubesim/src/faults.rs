//! Faults injected before requests are handled (latency, errors, throttling, dropped
//! connections), reproducible from a seed.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use axum::http::Method;
use axum::response::{IntoResponse, Response};

use serde::{Deserialize, Serialize};

use crate::status::ApiError;

/// Faults injected before requests are handled, reproducible from a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub seed: u64,
    /// Added to every request.
    pub latency_ms: u64,
    /// Share of requests answered 500 (half) or 503 (half).
    pub error_rate: f64,
    /// Share of requests answered 429 with `Retry-After`.
    pub throttle_rate: f64,
    pub retry_after_seconds: u64,
    /// Share of requests whose connection is dropped without an answer.
    pub drop_rate: f64,
}

/// A seeded generator (SplitMix64): the same seed gives the same faults in the same order.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug)]
pub struct Faults {
    config: RwLock<FaultConfig>,
    rng: Mutex<Rng>,
}

impl Faults {
    pub fn new(c: FaultConfig) -> Self {
        Self {
            rng: Mutex::new(Rng(c.seed)),
            config: RwLock::new(c),
        }
    }

    pub fn set(&self, c: FaultConfig) {
        *self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Rng(c.seed);
        *self
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = c;
    }

    /// Decides this request's fault, if any; the caller answers with it instead.
    pub async fn before(&self, _method: &Method, path: &str) -> Option<Response> {
        if path.contains("/kubesim/") || path.ends_with("/healthz") {
            return None;
        }
        let c = self
            .config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if c.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(c.latency_ms)).await;
        }
        if c.error_rate == 0.0 && c.throttle_rate == 0.0 && c.drop_rate == 0.0 {
            return None;
        }
        let (a, b) = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (rng.next_f64(), rng.next_f64())
        };
        if a < c.drop_rate {
            let stream = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other("kubesim dropped the connection"))
            });
            return Some(Response::new(axum::body::Body::from_stream(stream)));
        }
        if a < c.drop_rate + c.throttle_rate {
            return Some(ApiError::too_many_requests(c.retry_after_seconds.max(1)).into_response());
        }
        if a < c.drop_rate + c.throttle_rate + c.error_rate {
            return Some(
                if b < 0.5 {
                    ApiError::internal("kubesim: injected fault")
                } else {
                    ApiError::unavailable()
                }
                .into_response(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let xs: Vec<f64> = (0..5).map(|_| a.next_f64()).collect();
        let ys: Vec<f64> = (0..5).map(|_| b.next_f64()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
