//! Remembers which stored client secrets were recently proven, so that a client presenting the
//! same secret again is not made to wait for Argon2 each time. Only keyed tags are held, never a
//! secret: a tag is HMAC-SHA256 under a random key made when the process starts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::secret::StoredSecret;

type Tag = [u8; 32];

/// Proven (client, stored secret) pairs, each with the tag of the secret that proved it.
///
/// A tag is only ever consulted for a secret the caller has just read from the database as
/// unexpired, so a secret removed or expired on any instance stops passing as soon as the
/// caller reads it again. The tag itself is dropped on that client's next request, or by the
/// next sweep: [`ProvenSecrets::drop_expired`] for expiry, [`ProvenSecrets::note_removed`]
/// for removals, whichever comes first. A secret noted as removed is not remembered again, so
/// a check that was already under way when it was removed cannot bring its tag back.
pub struct ProvenSecrets {
    key: Tag,
    limit: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    clients: HashMap<String, Vec<Proven>>,
    /// Tags of secrets that expire, soonest first: (expiry, client id, secret id).
    expiring: BinaryHeap<Reverse<(i64, String, String)>>,
    /// Secrets removed lately, never to be remembered again.
    removed: HashSet<String>,
}

/// One stored secret proven by a client, with the tag of the value that proved it.
struct Proven {
    secret_id: String,
    tag: Tag,
}

impl std::fmt::Debug for ProvenSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvenSecrets")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl ProvenSecrets {
    /// An empty memo for at most `limit` clients, under a fresh random key.
    pub fn new(limit: usize) -> ProvenSecrets {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        ProvenSecrets {
            key,
            limit: limit.max(1),
            state: Mutex::default(),
        }
    }

    /// Whether `presented` proved one of `current` (the client's stored secrets that may match
    /// it now) before. Entries of secrets no longer among them are dropped.
    pub fn check(&self, client_id: &str, current: &[&StoredSecret], presented: &str) -> bool {
        let mut state = self.lock();
        let Some(proven) = state.clients.get_mut(client_id) else {
            return false;
        };
        proven.retain(|p| current.iter().any(|s| s.id == p.secret_id));
        let found = proven.iter().any(|p| {
            let expected = self.tag(&p.secret_id, presented);
            bool::from(expected.ct_eq(&p.tag))
        });
        if proven.is_empty() {
            state.clients.remove(client_id);
        }
        found
    }

    /// Records that `presented` proved the stored secret `secret_id` of a client, which
    /// expires at `expires_at` (Unix seconds), if ever. A secret noted as removed is not
    /// recorded.
    pub fn remember(
        &self,
        client_id: &str,
        secret_id: &str,
        expires_at: Option<i64>,
        presented: &str,
    ) {
        let tag = self.tag(secret_id, presented);
        let mut state = self.lock();
        if state.removed.contains(secret_id) {
            return;
        }
        // Bounded memory: past the limit, start again rather than grow.
        if state.clients.len() >= self.limit && !state.clients.contains_key(client_id) {
            state.clients.clear();
            state.expiring.clear();
        }
        let proven = state.clients.entry(client_id.to_string()).or_default();
        proven.retain(|p| p.secret_id != secret_id);
        proven.push(Proven {
            secret_id: secret_id.to_string(),
            tag,
        });
        if let Some(at) = expires_at {
            let entry = (at, client_id.to_string(), secret_id.to_string());
            state.expiring.push(Reverse(entry));
        }
    }

    /// Drops the tags of stored secrets that have expired by `now`.
    pub fn drop_expired(&self, now: i64) {
        let mut state = self.lock();
        while state
            .expiring
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            if let Some(Reverse((_, client_id, secret_id))) = state.expiring.pop() {
                state.drop_tag(&client_id, &secret_id);
            }
        }
    }

    /// Takes note of the secrets removed lately, as (client id, secret id) pairs: their tags
    /// are dropped, and they are not remembered again. Each call replaces the previous list,
    /// so it should cover a span longer than any check takes.
    pub fn note_removed(&self, removed: Vec<(String, String)>) {
        let mut state = self.lock();
        for (client_id, secret_id) in &removed {
            state.drop_tag(client_id, secret_id);
        }
        state.removed = removed
            .into_iter()
            .map(|(_, secret_id)| secret_id)
            .collect();
    }

    /// Forgets everything proven for a client, e.g. when one of its secrets is removed here.
    pub fn forget(&self, client_id: &str) {
        self.lock().clients.remove(client_id);
    }

    /// How many tags are held, over all clients.
    pub fn len(&self) -> usize {
        self.lock().clients.values().map(Vec::len).sum()
    }

    /// Whether no tag is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing is left half-done under this lock, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tag(&self, secret_id: &str, presented: &str) -> Tag {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC accepts a key of any length");
        mac.update(secret_id.as_bytes());
        mac.update(&[0]);
        mac.update(presented.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl State {
    fn drop_tag(&mut self, client_id: &str, secret_id: &str) {
        if let Some(proven) = self.clients.get_mut(client_id) {
            proven.retain(|p| p.secret_id != secret_id);
            if proven.is_empty() {
                self.clients.remove(client_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str) -> StoredSecret {
        StoredSecret {
            id: id.into(),
            hash: "not used here".into(),
            info: None,
            expires_at: None,
        }
    }

    #[test]
    fn a_remembered_secret_passes_and_another_does_not() {
        let memo = ProvenSecrets::new(10);
        let s1 = stored("s1");
        memo.remember("client", "s1", None, "the right secret");

        assert!(memo.check("client", &[&s1], "the right secret"));
        assert!(!memo.check("client", &[&s1], "the wrong secret"));
        assert!(!memo.check("other-client", &[&s1], "the right secret"));
    }

    #[test]
    fn a_secret_no_longer_stored_stops_passing_and_is_dropped() {
        let memo = ProvenSecrets::new(10);
        let (s1, s2) = (stored("s1"), stored("s2"));
        memo.remember("client", "s1", None, "first");

        assert!(
            !memo.check("client", &[&s2], "first"),
            "s1 was removed or expired"
        );
        assert!(
            !memo.check("client", &[&s1, &s2], "first"),
            "and its entry is gone"
        );
    }

    #[test]
    fn another_process_key_knows_nothing() {
        let first = ProvenSecrets::new(10);
        let second = ProvenSecrets::new(10);
        first.remember("client", "s1", None, "secret");

        assert!(!second.check("client", &[&stored("s1")], "secret"));
        assert_ne!(first.tag("s1", "secret"), second.tag("s1", "secret"));
    }

    #[test]
    fn forgetting_a_client_drops_its_entries() {
        let memo = ProvenSecrets::new(10);
        memo.remember("client", "s1", None, "secret");
        memo.forget("client");

        assert!(!memo.check("client", &[&stored("s1")], "secret"));
    }

    #[test]
    fn the_memo_stays_within_its_limit() {
        let memo = ProvenSecrets::new(2);
        memo.remember("a", "s", None, "x");
        memo.remember("b", "s", None, "x");
        memo.remember("c", "s", None, "x");

        assert!(memo.lock().clients.len() <= 2);
        assert!(memo.check("c", &[&stored("s")], "x"));
    }

    #[test]
    fn expired_secrets_lose_their_tags_and_others_keep_them() {
        let memo = ProvenSecrets::new(10);
        memo.remember("client", "expiring", Some(100), "x");
        memo.remember("client", "lasting", None, "y");
        memo.remember("other", "later", Some(200), "z");

        memo.drop_expired(99);
        assert_eq!(memo.len(), 3, "nothing has expired yet");
        memo.drop_expired(100);

        assert_eq!(memo.len(), 2);
        assert!(memo.check("client", &[&stored("lasting")], "y"));
        assert!(memo.check("other", &[&stored("later")], "z"));
        memo.drop_expired(200);
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn removed_secrets_lose_their_tags_and_are_not_remembered_again() {
        let memo = ProvenSecrets::new(10);
        memo.remember("a", "gone", None, "x");
        memo.remember("b", "kept", None, "y");

        memo.note_removed(vec![("a".into(), "gone".into())]);
        assert_eq!(memo.len(), 1);
        assert!(!memo.lock().clients.contains_key("a"));

        // A check that began before the removal finishes after it.
        memo.remember("a", "gone", None, "x");
        assert_eq!(memo.len(), 1, "a removed secret is not remembered");
        assert!(memo.check("b", &[&stored("kept")], "y"));

        // Once the removal is no longer listed, the id is an ordinary one again.
        memo.note_removed(vec![]);
        memo.remember("a", "gone", None, "x");
        assert_eq!(memo.len(), 2);
    }
}
