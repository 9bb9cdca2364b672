//! Early refusal of repeated failed client authentications, per client and per source, so that
//! a flood of wrong secrets costs a map lookup instead of an Argon2 run each.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures tolerated per client within one window before it must wait.
pub const FREE_CLIENT_FAILURES: u32 = 10;
/// Failures tolerated per source address within one window: more than per client, since
/// many clients can share an address behind a NAT or a proxy.
pub const FREE_SOURCE_FAILURES: u32 = 100;
/// Length of the window in which failures are counted.
pub const FAILURE_WINDOW_SECS: i64 = 60;
/// How long a key that used up its free failures is refused.
pub const BLOCK_SECS: i64 = 60;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: i64,
    blocked_until: i64,
}

impl Entry {
    fn is_live(&self, now: i64) -> bool {
        self.blocked_until > now || now - self.window_start < FAILURE_WINDOW_SECS
    }
}

/// Failed authentications per key (a client, a source address), counted in this process.
///
/// Each instance counts on its own, so behind a load balancer of `n` instances a key gets up to
/// `n` times the free failures; that still bounds the hashing an attacker can cause.
#[derive(Debug)]
pub struct FailureThrottle {
    limit: usize,
    free_failures: u32,
    entries: Mutex<HashMap<String, Entry>>,
}

impl FailureThrottle {
    /// An empty throttle allowing `free_failures` per key and window, tracking at most
    /// `limit` keys at a time (about 100 bytes each).
    pub fn new(limit: usize, free_failures: u32) -> FailureThrottle {
        FailureThrottle {
            limit: limit.max(1),
            free_failures,
            entries: Mutex::default(),
        }
    }

    /// The seconds `key` must still wait at `now`, if it is refused now.
    pub fn wait_for(&self, key: &str, now: i64) -> Option<i64> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.blocked_until > now).then(|| entry.blocked_until - now)
    }

    /// Counts a failed authentication of `key` at `now`; past the free failures of the
    /// window, the key is refused for [`BLOCK_SECS`].
    pub fn record_failure(&self, key: &str, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if !entries.contains_key(key) && entries.len() >= self.limit {
            entries.retain(|_, e| e.is_live(now));
            // Still full of live keys: this one goes uncounted rather than growing the map.
            if entries.len() >= self.limit {
                return;
            }
        }
        let entry = entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            window_start: now,
            blocked_until: 0,
        });
        if now - entry.window_start >= FAILURE_WINDOW_SECS {
            entry.failures = 0;
            entry.window_start = now;
        }
        entry.failures += 1;
        if entry.failures > self.free_failures {
            entry.blocked_until = now + BLOCK_SECS;
            entry.failures = 0;
            entry.window_start = entry.blocked_until;
        }
    }

    /// How many keys are tracked now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE_FAILURES: u32 = FREE_CLIENT_FAILURES;

    #[test]
    fn a_key_is_refused_only_after_its_free_failures() {
        let throttle = FailureThrottle::new(10, FREE_FAILURES);

        for _ in 0..FREE_FAILURES {
            throttle.record_failure("client:a", 100);
        }
        assert_eq!(throttle.wait_for("client:a", 100), None);
        throttle.record_failure("client:a", 100);

        assert_eq!(throttle.wait_for("client:a", 100), Some(BLOCK_SECS));
        assert_eq!(throttle.wait_for("client:a", 130), Some(BLOCK_SECS - 30));
        assert_eq!(throttle.wait_for("client:b", 100), None);
    }

    #[test]
    fn a_refusal_ends_after_the_block() {
        let throttle = FailureThrottle::new(10, FREE_FAILURES);
        for _ in 0..=FREE_FAILURES {
            throttle.record_failure("k", 0);
        }

        assert_eq!(throttle.wait_for("k", BLOCK_SECS), None);
    }

    #[test]
    fn failures_spread_over_windows_are_not_summed() {
        let throttle = FailureThrottle::new(10, FREE_FAILURES);

        for minute in 0..5 {
            for _ in 0..FREE_FAILURES {
                throttle.record_failure("k", minute * FAILURE_WINDOW_SECS);
            }
        }

        assert_eq!(throttle.wait_for("k", 5 * FAILURE_WINDOW_SECS), None);
    }

    #[test]
    fn the_map_stays_within_its_limit_and_drops_stale_keys_first() {
        let throttle = FailureThrottle::new(3, FREE_FAILURES);
        for key in ["a", "b", "c"] {
            throttle.record_failure(key, 0);
        }

        throttle.record_failure("d", 1);
        assert_eq!(throttle.len(), 3);
        assert_eq!(throttle.wait_for("d", 1), None);

        // Once the old keys' window has passed, a new key takes their room.
        throttle.record_failure("e", FAILURE_WINDOW_SECS + 1);
        assert_eq!(throttle.len(), 1);
    }
}
