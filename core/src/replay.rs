//! The replay ledger for client assertion ids: uses that arrive together share one write.
//!
//! Every `private_key_jwt` request must record its assertion's `jti` before it gets a token
//! (RFC 7523 section 3, SPEC 4.7), and on SQLite each write is a commit that only one
//! connection at a time may make. Writing each use on its own makes requests queue for that
//! lock. Here one request at a time writes: it takes every use waiting at that moment and
//! records them all in one statement, while the uses that arrive during that write wait for
//! the next one. An idle server writes each use at once, as before; a busy one writes fewer,
//! larger statements. No request gets its answer before its own use is recorded, so a
//! restart or a second instance never lets an assertion be used twice.

use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::store::{AssertionClaim, Store};

/// What a waiting use is told once its write is done: whether it was the first use.
type Answer = Result<bool, ClaimFailed>;

struct Waiting {
    claim: AssertionClaim,
    now: i64,
    answer: oneshot::Sender<Answer>,
}

/// The store could not record an assertion id; the store's error has been logged already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the assertion id could not be recorded")]
pub struct ClaimFailed;

/// Single-use assertion ids, recorded in the store in shared writes.
#[derive(Default)]
pub struct ReplayLedger {
    waiting: Mutex<Vec<Waiting>>,
    /// Held by the request that is writing; the others gather in `waiting` meanwhile.
    writing: tokio::sync::Mutex<()>,
}

impl ReplayLedger {
    pub fn new() -> ReplayLedger {
        ReplayLedger::default()
    }

    /// Records the use of `claim`; `true` when it is the first use of that id by that client
    /// among the assertions that have not expired by `now`.
    pub async fn claim(
        &self,
        store: &Store,
        claim: AssertionClaim,
        now: i64,
    ) -> Result<bool, ClaimFailed> {
        let (answer, mut answered) = oneshot::channel();
        self.lock_waiting().push(Waiting { claim, now, answer });
        let writing = self.writing.lock().await;
        // The request that wrote before this one may have taken this use along.
        match answered.try_recv() {
            Ok(answer) => return answer,
            Err(oneshot::error::TryRecvError::Closed) => return Err(ClaimFailed),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = std::mem::take(&mut *self.lock_waiting());
        if !batch.is_empty() {
            // The write runs as a task of its own so that it completes, and answers everyone
            // it took along, even when the request that started it goes away.
            let store = store.clone();
            let write = tokio::spawn(async move { write_batch(&store, batch).await });
            // A failed task has dropped its answers; each waiting use then reports it below.
            let _ = write.await;
        }
        drop(writing);
        // Either this use was in the batch just written, or a write that a departed request
        // started took it and still answers it.
        answered.await.unwrap_or(Err(ClaimFailed))
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // Nothing is left half-done under this lock, so a panic elsewhere leaves it usable.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn write_batch(store: &Store, batch: Vec<Waiting>) {
    // An id whose assertion expired may be used again; judging by the earliest clock in the
    // batch keeps an id taken for as long as any of its requests saw it unexpired.
    let now = batch.iter().map(|w| w.now).min().unwrap_or_default();
    let (claims, answers): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|w| (w.claim, w.answer)).unzip();
    let outcome = store.claim_assertion_ids(&claims, now).await;
    if let Err(e) = &outcome {
        // An outage is logged by the store once per burst; anything else is logged here, once
        // for the whole batch.
        if !e.is_unavailable() {
            tracing::error!(error = %e, "could not record client assertion ids");
        }
    }
    for (index, answer) in answers.into_iter().enumerate() {
        let first_use = match &outcome {
            Ok(first_use) => Ok(first_use[index]),
            Err(_) => Err(ClaimFailed),
        };
        let _ = answer.send(first_use);
    }
}
