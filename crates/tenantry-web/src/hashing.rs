//! Password hashing with bounded work (ASVS 6.x, and a fix for memory exhaustion): an
//! argon2id hash takes 19 MiB and tens of milliseconds, so at most as many run at once as
//! there are cores, a few more wait briefly, and the rest are answered "busy" (429). The
//! verifications reuse a fixed pool of memory blocks, so a burst of logins leaves the
//! process as large as before it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::WebError;

/// argon2id with m = 19456 KiB, t = 2, p = 1 (OWASP's recommendation).
fn params() -> Params {
    Params::new(19_456, 2, 1, None).unwrap_or_default()
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// How long a login may wait for a free hasher before it is answered "busy".
const WAIT: Duration = Duration::from_secs(2);

/// Runs argon2 on the blocking pool, a bounded number at a time.
#[derive(Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    concurrency: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Memory blocks of finished verifications, for the next ones.
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Hasher {
    /// A hasher running at most `concurrency` hashes at once, with four times as many
    /// callers allowed to wait.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            waiting: AtomicUsize::new(0),
            max_waiting: concurrency * 4,
            pool: Arc::new(Mutex::new(Vec::new())),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// One hasher per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, WebError> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(WebError::Busy);
        }
        let got = tokio::time::timeout(WAIT, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Ok(p)) => Ok(p),
            _ => Err(WebError::Busy),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Mutex<Vec<Vec<Block>>>) -> T + Send + 'static,
    ) -> Result<T, WebError> {
        let permit = self.permit().await?;
        let (pool, running, peak) = (self.pool.clone(), self.running.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let out = work(&pool);
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(|e| WebError::Internal(format!("the password hasher failed: {e}")))
    }

    /// An argon2id PHC string for `password`.
    pub async fn hash(&self, password: &str) -> Result<String, WebError> {
        let password = password.to_owned();
        self.run(move |_| hash_password(&password)).await?
    }

    /// Whether `password` matches the PHC string `phc`.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, WebError> {
        let (password, phc) = (password.to_owned(), phc.to_owned());
        self.run(move |pool| verify_with_pool(&password, &phc, pool))
            .await
    }
}

/// An argon2id PHC string for `password` (on the calling thread).
pub fn hash_password(password: &str) -> Result<String, WebError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebError::Internal(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| WebError::Internal(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WebError::Internal(e.to_string()))
}

/// Verifies with memory blocks taken from `pool` (and put back), so verifications do
/// not allocate 19 MiB each.
fn verify_with_pool(password: &str, phc: &str, pool: &Mutex<Vec<Vec<Block>>>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = hash
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let Ok(p) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks_needed = p.block_count();
    let mut blocks = pool
        .lock()
        .ok()
        .and_then(|mut g| g.pop())
        .filter(|b| b.len() == blocks_needed)
        .unwrap_or_else(|| vec![Block::default(); blocks_needed]);
    let mut out = vec![0u8; expected.len()];
    let ok = Argon2::new(algorithm, version, p)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks)
        .is_ok()
        && constant_time_eq(&out, expected.as_bytes());
    if blocks_needed == params().block_count()
        && let Ok(mut g) = pool.lock()
    {
        g.push(blocks);
    }
    ok
}

/// Equal bytes, compared in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_its_own_hashes_and_refuses_others() {
        let h = Hasher::new(1);
        let phc = h.hash("correct horse battery").await.unwrap();
        assert!(h.verify("correct horse battery", &phc).await.unwrap());
        assert!(!h.verify("correct horse batterY", &phc).await.unwrap());
        assert!(!h.verify("x", "not a phc string").await.unwrap());
        // The pooled memory serves the next verification as well.
        assert!(h.verify("correct horse battery", &phc).await.unwrap());
        assert_eq!(h.pool.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn no_more_than_its_concurrency_run_and_the_overflow_is_busy() {
        let h = Arc::new(Hasher::new(2));
        let phc = hash_password("correct horse battery").unwrap();
        let tries: Vec<_> = (0..40)
            .map(|_| {
                let (h, phc) = (h.clone(), phc.clone());
                tokio::spawn(async move { h.verify("wrong password!", &phc).await })
            })
            .collect();
        let mut busy = 0;
        for t in tries {
            match t.await.unwrap() {
                Err(WebError::Busy) => busy += 1,
                Ok(false) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(h.peak() <= 2, "peak {}", h.peak());
        assert!(busy >= 40 - 2 - 8, "only {busy} of 40 were turned away");
        assert!(h.pool.lock().unwrap().len() <= 2);
    }
}
