//! Runs Argon2 off the async threads, a bounded number at a time, so floods cannot exhaust memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Memory one Argon2id verification with the default parameters needs, in MiB.
pub const ARGON2_MEMORY_MIB: usize = 19;

/// Why hashing work did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the hashing worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
    #[error("the hashing limiter was closed")]
    Closed,
}

/// A bounded pool for CPU- and memory-heavy hashing; excess work waits its turn.
#[derive(Clone, Debug)]
pub struct HashingLimiter {
    permits: Arc<Semaphore>,
    runs: Arc<AtomicU64>,
}

impl HashingLimiter {
    /// A limiter letting `concurrency` hashes run at once (at least one).
    pub fn new(concurrency: usize) -> HashingLimiter {
        HashingLimiter {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            runs: Arc::default(),
        }
    }

    /// One hash per available core: more would only queue inside the CPU and hold memory.
    pub fn per_core() -> HashingLimiter {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashingLimiter::new(cores)
    }

    /// How many pieces of hashing work have been started, for metrics and tests.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs `work` on the blocking pool once a permit is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashingError::Closed)?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let result = tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_limit_runs_at_once() {
        let limiter = HashingLimiter::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));

        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (limiter, running, most) = (limiter.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    limiter
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }

        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_limit_of_zero_still_lets_work_through() {
        let limiter = HashingLimiter::new(0);

        let answer = limiter.run(|| 42).await.unwrap();

        assert_eq!(answer, 42);
    }
}
