//! Remembers which stored client secrets were recently proven, so that a client presenting the
//! same secret again is not made to wait for Argon2 each time. Only keyed tags are held, never a
//! secret: a tag is HMAC-SHA256 under a random key made when the process starts.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::secret::StoredSecret;

type Tag = [u8; 32];

/// Proven (client, stored secret) pairs, each with the tag of the secret that proved it.
///
/// A tag is only ever consulted for a secret the caller has just read from the database as
/// unexpired, so a secret removed or expired on any instance stops passing at once. Its entry
/// is dropped on that client's next request, or by the next sweep ([`ProvenSecrets::drop_expired`]
/// and [`ProvenSecrets::forget_secrets`]), whichever comes first.
pub struct ProvenSecrets {
    key: Tag,
    limit: usize,
    clients: Mutex<HashMap<String, Vec<Proven>>>,
}

/// One stored secret proven by a client, with the tag of the value that proved it.
struct Proven {
    secret_id: String,
    /// When the stored secret expires (Unix seconds), if it does.
    expires_at: Option<i64>,
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
            clients: Mutex::default(),
        }
    }

    /// Whether `presented` proved one of `current` (the client's stored secrets that may match
    /// it now) before. Entries of secrets no longer among them are dropped.
    pub fn check(&self, client_id: &str, current: &[&StoredSecret], presented: &str) -> bool {
        let Ok(mut clients) = self.clients.lock() else {
            return false;
        };
        let Some(proven) = clients.get_mut(client_id) else {
            return false;
        };
        proven.retain(|p| current.iter().any(|s| s.id == p.secret_id));
        let found = proven.iter().any(|p| {
            let expected = self.tag(&p.secret_id, presented);
            bool::from(expected.ct_eq(&p.tag))
        });
        if proven.is_empty() {
            clients.remove(client_id);
        }
        found
    }

    /// Records that `presented` proved the stored secret `secret_id` of a client, which
    /// expires at `expires_at` (Unix seconds), if ever.
    pub fn remember(
        &self,
        client_id: &str,
        secret_id: &str,
        expires_at: Option<i64>,
        presented: &str,
    ) {
        let tag = self.tag(secret_id, presented);
        let Ok(mut clients) = self.clients.lock() else {
            return;
        };
        // Bounded memory: past the limit, start again rather than grow.
        if clients.len() >= self.limit && !clients.contains_key(client_id) {
            clients.clear();
        }
        let proven = clients.entry(client_id.to_string()).or_default();
        proven.retain(|p| p.secret_id != secret_id);
        proven.push(Proven {
            secret_id: secret_id.to_string(),
            expires_at,
            tag,
        });
    }

    /// Drops the tags of stored secrets that have expired by `now`.
    pub fn drop_expired(&self, now: i64) {
        self.retain(|p| p.expires_at.is_none_or(|at| at > now));
    }

    /// The ids of every stored secret a tag is held for.
    pub fn secret_ids(&self) -> Vec<String> {
        let Ok(clients) = self.clients.lock() else {
            return Vec::new();
        };
        clients
            .values()
            .flatten()
            .map(|p| p.secret_id.clone())
            .collect()
    }

    /// Drops the tags of the stored secrets named, e.g. removed at another instance.
    pub fn forget_secrets(&self, secret_ids: &HashSet<String>) {
        if !secret_ids.is_empty() {
            self.retain(|p| !secret_ids.contains(&p.secret_id));
        }
    }

    /// How many tags are held, over all clients.
    pub fn len(&self) -> usize {
        self.clients
            .lock()
            .map_or(0, |clients| clients.values().map(Vec::len).sum())
    }

    /// Whether no tag is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn retain(&self, mut keep: impl FnMut(&Proven) -> bool) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.retain(|_, proven| {
                proven.retain(&mut keep);
                !proven.is_empty()
            });
        }
    }

    /// Forgets everything proven for a client, e.g. when one of its secrets is removed here.
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.remove(client_id);
        }
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

        assert!(memo.clients.lock().unwrap().len() <= 2);
        assert!(memo.check("c", &[&stored("s")], "x"));
    }

    #[test]
    fn a_sweep_drops_the_tags_of_expired_secrets_only() {
        let memo = ProvenSecrets::new(10);
        memo.remember("client", "expiring", Some(100), "x");
        memo.remember("client", "lasting", None, "y");
        memo.remember("other", "later", Some(200), "z");

        memo.drop_expired(99);
        assert_eq!(memo.len(), 3, "nothing has expired yet");
        memo.drop_expired(100);

        let mut left = memo.secret_ids();
        left.sort();
        assert_eq!(left, ["lasting", "later"]);
        assert!(memo.check("client", &[&stored("lasting")], "y"));
    }

    #[test]
    fn forgetting_secrets_by_id_drops_them_for_every_client() {
        let memo = ProvenSecrets::new(10);
        memo.remember("a", "gone", None, "x");
        memo.remember("b", "kept", None, "y");

        memo.forget_secrets(&HashSet::from(["gone".to_string()]));

        assert_eq!(memo.secret_ids(), ["kept"]);
        assert!(memo.clients.lock().unwrap().get("a").is_none());
        assert!(!memo.is_empty());
    }
}
