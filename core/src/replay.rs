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

use crate::store::{AssertionClaim, Store, StoreError, CLAIMS_PER_STATEMENT};

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
    ///
    /// Run it in a task that runs to completion (the token endpoint spawns one per use): a
    /// call dropped while it writes leaves the uses it took along answered with an error.
    pub async fn claim(
        &self,
        store: &Store,
        claim: AssertionClaim,
        now: i64,
    ) -> Result<bool, ClaimFailed> {
        let (answer, mut answered) = oneshot::channel();
        self.lock_waiting().push(Waiting { claim, now, answer });
        // Uses that arrive while another write is under way wait here and go together in
        // the next one; a use that finds no write under way is written at once.
        let _writing = self.writing.lock().await;
        loop {
            // The request that wrote before this one may have taken this use along.
            match answered.try_recv() {
                Ok(answer) => return answer,
                Err(oneshot::error::TryRecvError::Closed) => return Err(ClaimFailed),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch: Vec<Waiting> = {
                let mut waiting = self.lock_waiting();
                let take = waiting.len().min(CLAIMS_PER_STATEMENT);
                waiting.drain(..take).collect()
            };
            if batch.is_empty() {
                // Only a write that holds the lock takes uses away, and this one holds it.
                return Err(ClaimFailed);
            }
            write_batch(store, batch).await;
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // Nothing is left half-done under this lock, so a panic elsewhere leaves it usable.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes one batch, of at most one statement, and answers each of its uses.
async fn write_batch(store: &Store, batch: Vec<Waiting>) {
    // An id whose assertion expired may be used again; judging by the earliest clock in the
    // batch keeps an id taken for as long as any of its requests saw it unexpired.
    let now = batch.iter().map(|w| w.now).min().unwrap_or_default();
    let (claims, answers): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|w| (w.claim, w.answer)).unzip();
    let outcome: Vec<Result<bool, ClaimFailed>> =
        match store.claim_assertion_ids(&claims, now).await {
            Ok(first_use) => first_use.into_iter().map(Ok).collect(),
            // One use the database refuses (its client was deleted a moment ago, say) fails
            // the whole statement, which then wrote nothing: each use is tried on its own, so
            // that only that one fails.
            Err(e) if !e.is_unavailable() && claims.len() > 1 => {
                let mut one_by_one = Vec::with_capacity(claims.len());
                for claim in &claims {
                    let alone = store.claim_assertion_ids(std::slice::from_ref(claim), now);
                    one_by_one.push(alone.await.map(|first_use| first_use[0]).map_err(failed));
                }
                one_by_one
            }
            Err(e) => {
                failed(e);
                claims.iter().map(|_| Err(ClaimFailed)).collect()
            }
        };
    for (answer, first_use) in answers.into_iter().zip(outcome) {
        let _ = answer.send(first_use);
    }
}

fn failed(e: StoreError) -> ClaimFailed {
    // An outage is logged by the store once per burst; anything else is logged here.
    if !e.is_unavailable() {
        tracing::error!(error = %e, "could not record a client assertion id");
    }
    ClaimFailed
}
