//! A bounded memory of key ids the issuer was just asked about and did not have, so that a flood
//! of repeated bogus kids costs a hash lookup instead of a refetch each cooldown window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Recently confirmed-unknown kids, each remembered for `lifetime`, at most `capacity` at once.
pub struct UnknownKids {
    entries: Mutex<HashMap<String, Instant>>,
    capacity: usize,
    lifetime: Duration,
}

impl UnknownKids {
    /// A capacity of 0 disables the cache.
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            lifetime,
        }
    }

    /// Whether `kid` was confirmed unknown within its lifetime.
    pub fn contains(&self, kid: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(kid)
            .is_some_and(|expires| Instant::now() < *expires)
    }

    /// Remembers `kid` as unknown. When full, expired entries go first, then the oldest.
    pub fn insert(&self, kid: &str) {
        if self.capacity == 0 {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(kid) {
            entries.retain(|_, expires| *expires > now);
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, expires)| **expires)
                    .map(|(kid, _)| kid.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(kid.to_owned(), now + self.lifetime);
    }

    /// Forgets everything: a new key set may hold any kid.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_capacity_evicting_the_oldest() {
        let cache = UnknownKids::new(2, Duration::from_secs(60));
        cache.insert("a");
        cache.insert("b");
        cache.insert("c");
        assert!(!cache.contains("a"));
        assert!(cache.contains("b") && cache.contains("c"));
        cache.clear();
        assert!(!cache.contains("b"));
    }

    #[test]
    fn entries_expire_and_zero_capacity_disables() {
        let expired = UnknownKids::new(4, Duration::ZERO);
        expired.insert("a");
        assert!(!expired.contains("a"));
        let disabled = UnknownKids::new(0, Duration::from_secs(60));
        disabled.insert("a");
        assert!(!disabled.contains("a"));
    }
}
