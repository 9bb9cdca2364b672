//! Runs Argon2 off the async threads, a bounded number at a time, so floods cannot exhaust memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Memory one Argon2id verification with the default parameters needs, in MiB.
pub const ARGON2_MEMORY_MIB: usize = 19;

/// Why hashing work did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the hashing work panicked or its worker stopped")]
    Worker,
    #[error("the hashing limiter was closed")]
    Closed,
}

type Job = Box<dyn FnOnce() + Send>;

/// A bounded pool for CPU- and memory-heavy hashing; excess work waits its turn.
///
/// The work runs on a few threads of its own rather than on tokio's blocking pool: each
/// Argon2 verification allocates about 19 MiB, and the allocator keeps such memory per thread,
/// so spreading the work over the blocking pool's many threads would grow the process far
/// beyond the few verifications that ever run at once.
#[derive(Clone, Debug)]
pub struct HashingLimiter {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    runs: Arc<AtomicU64>,
}

impl HashingLimiter {
    /// A limiter letting `concurrency` hashes run at once (at least one), each on a worker
    /// thread of its own; the threads end when the last clone of the limiter is dropped.
    pub fn new(concurrency: usize) -> HashingLimiter {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            let _ = std::thread::Builder::new()
                .name(format!("fennec-hashing-{n}"))
                .spawn(move || loop {
                    let next = match queue.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
        }
        HashingLimiter {
            permits: Arc::new(Semaphore::new(concurrency)),
            jobs,
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

    /// Runs `work` on a hashing thread once one is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashingError::Closed)?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| HashingError::Closed)?;
        match answer.await {
            Ok(Ok(result)) => Ok(result),
            _ => Err(HashingError::Worker),
        }
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
    async fn work_that_panics_is_an_error_and_the_worker_goes_on() {
        let limiter = HashingLimiter::new(1);

        let failed = limiter.run(|| panic!("a broken hash")).await;
        assert!(matches!(failed, Err(HashingError::Worker)));

        assert_eq!(limiter.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_limit_of_zero_still_lets_work_through() {
        let limiter = HashingLimiter::new(0);

        let answer = limiter.run(|| 42).await.unwrap();

        assert_eq!(answer, 42);
    }
}
