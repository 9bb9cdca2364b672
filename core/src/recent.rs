//! Values the token endpoint read from the database, kept for a fraction of a second so that a
//! busy client costs one set of queries per moment instead of one per request.
//!
//! Staleness is bounded: an entry serves for at most its time to live (well under the one
//! second in which every instance must see another's change), and not at all once this
//! process has changed anything since the entry was read (the store's generation moved on).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A small map from keys to recently read values.
#[derive(Debug)]
pub struct Recent<V> {
    ttl: Duration,
    limit: usize,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

#[derive(Debug)]
struct Entry<V> {
    read_at: Instant,
    generation: u64,
    value: V,
}

impl<V: Clone> Recent<V> {
    /// An empty map whose entries live `ttl`, holding at most `limit` of them.
    pub fn new(ttl: Duration, limit: usize) -> Recent<V> {
        Recent {
            ttl,
            limit: limit.max(1),
            entries: Mutex::default(),
        }
    }

    /// The value kept for `key`, if it was read less than the time to live ago and nothing
    /// changed since (`generation` is the store's generation now).
    pub fn get(&self, key: &str, generation: u64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        let fresh = entry.generation == generation && entry.read_at.elapsed() < self.ttl;
        fresh.then(|| entry.value.clone())
    }

    /// Keeps `value`, read when the store's generation was `generation` (taken before reading,
    /// so that a change that lands during the read makes the entry useless at once).
    pub fn put(&self, key: String, generation: u64, value: V) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.limit && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, e| e.read_at.elapsed() < ttl);
            if entries.len() >= self.limit {
                // Every entry is fresh: many clients at once. Start over rather than grow.
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                read_at: Instant::now(),
                generation,
                value,
            },
        );
    }

    /// How many entries are held now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_serves_until_its_time_to_live_ends() {
        let recent = Recent::new(Duration::from_millis(50), 10);
        recent.put("k".into(), 7, "value");

        assert_eq!(recent.get("k", 7), Some("value"));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get("k", 7), None);
    }

    #[test]
    fn a_change_in_this_process_drops_every_value_at_once() {
        let recent = Recent::new(Duration::from_secs(60), 10);
        recent.put("k".into(), 7, "value");

        assert_eq!(recent.get("k", 8), None);
    }

    #[test]
    fn the_map_never_holds_more_than_its_limit() {
        let recent = Recent::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            recent.put(format!("k{i}"), 0, i);
        }

        assert!(recent.len() <= 3);
        assert_eq!(recent.get("k9", 0), Some(9));
    }
}
