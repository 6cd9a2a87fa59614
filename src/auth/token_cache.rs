//! Tokens already verified, remembered so a repeated token skips signature verification, as
//! Envoy's `jwt_authn` does. An entry is keyed by the token's keyed digest (`token_digest`: any
//! altered byte misses, and the token itself is never held) and serves only until the token
//! expires or its key leaves the issuer's key set, whichever comes first. The digest is already
//! uniform and secret, so the cache hashes nothing a second time.

use std::hash::BuildHasherDefault;

use quick_cache::UnitWeighter;
use quick_cache::sync::Cache;

use super::caller::Caller;
use super::token_digest::{DigestHasher, TokenDigest, TokenDigester};

/// A bounded, concurrent map of token digests to verified callers, each carrying what its
/// verification rested on (its `Provenance`). A capacity of 0 disables it.
///
/// quick_cache splits the map into shards, each behind its own read-write lock, and a hit only
/// takes its shard's read lock (its reader count kept per thread) and marks the entry used; the
/// one shared write left is the hit caller's reference count. (moka, used before, records every
/// read in one buffer all threads append to, and spent ~160 ns a hit against ~25 here, in a
/// standalone loop over 1,000 live keys.) When full, its S3-FIFO policy evicts tokens seen once
/// before tokens asked for again.
///
/// Expiry is per entry and checked on every hit: an entry is never served after its token
/// expires, and is dropped when met. One never met again stays until eviction reaches it: soon
/// for a token seen once, later for one in the share kept for tokens asked for again, which
/// leaves only as newer repeat tokens displace it. The memory held stays within the capacity
/// either way.
pub struct TokenCache(Option<Enabled>);

struct Enabled {
    digester: TokenDigester,
    entries: Cache<TokenDigest, Caller, UnitWeighter, BuildHasherDefault<DigestHasher>>,
}

impl TokenCache {
    /// A cache of `capacity` tokens; off if the system's generator gives no secret to key it.
    pub fn new(capacity: usize) -> Self {
        if capacity == 0 {
            return Self(None);
        }
        let Some(digester) = TokenDigester::new() else {
            log::warn!("no random secret for the verified-token cache: it is off");
            return Self(None);
        };
        log::debug!("token cache keyed by {}", digester.hash_name());
        Self(Some(Enabled {
            digester,
            entries: Cache::with(
                capacity,
                capacity as u64,
                UnitWeighter,
                BuildHasherDefault::default(),
                Default::default(),
            ),
        }))
    }

    /// The token's digest, or `None` when the cache is off (so no hashing is done).
    pub fn digest(&self, token: &str) -> Option<TokenDigest> {
        Some(self.0.as_ref()?.digester.digest(token))
    }

    /// The caller remembered for this digest, if its token has not expired by `now`. Shared, so a
    /// hit copies nothing and takes one reference count.
    pub fn get(&self, key: &TokenDigest, now: u64) -> Option<Caller> {
        let entries = &self.0.as_ref()?.entries;
        let entry = entries.get(key)?;
        if now <= entry.provenance().valid_until {
            return Some(entry);
        }
        entries.remove(key);
        None
    }

    /// Forgets a digest whose key has left the set.
    pub fn remove(&self, key: &TokenDigest) {
        if let Some(enabled) = &self.0 {
            enabled.entries.remove(key);
        }
    }

    /// Remembers a verified caller, unless its token has already expired by `now`.
    pub fn insert(&self, key: TokenDigest, caller: Caller, now: u64) {
        if let Some(enabled) = &self.0
            && now <= caller.provenance().valid_until
        {
            enabled.entries.insert(key, caller);
        }
    }

    /// How many verifications are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |enabled| enabled.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::caller::RolesClaim;
    use crate::auth::{claim_set, provenance};
    use jsonwebtoken::get_current_timestamp;
    use serde_json::json;

    fn verified(valid_until: u64) -> Caller {
        Caller::new(
            &claim_set::for_test(&json!({})),
            &RolesClaim("roles".to_owned()),
            provenance::for_test(valid_until),
        )
    }

    #[test]
    fn entries_serve_until_they_expire() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        let valid_until = get_current_timestamp() + 100;
        cache.insert(key, verified(valid_until), valid_until - 100);
        assert!(cache.get(&key, valid_until).is_some());
        assert!(cache.get(&key, valid_until + 1).is_none());
        assert!(
            cache.get(&key, valid_until - 50).is_none(),
            "an expired entry is dropped when met"
        );
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_token_already_expired_is_not_held() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        let now = get_current_timestamp();
        cache.insert(key, verified(now - 1), now);
        assert_eq!(cache.len(), 0);
        cache.insert(key, verified(now), now);
        assert_eq!(cache.len(), 1, "valid through its last second");
    }

    #[test]
    fn any_altered_byte_misses_and_the_size_is_bounded() {
        let cache = TokenCache::new(100);
        let now = get_current_timestamp();
        let original = cache.digest("a.b.c").unwrap();
        cache.insert(original, verified(now + 100), now);
        assert!(cache.get(&cache.digest("a.b.d").unwrap(), now).is_none());
        for n in 0..1_000 {
            let token = format!("x.y.{n}");
            cache.insert(cache.digest(&token).unwrap(), verified(now + 100), now);
        }
        let held = cache.len();
        assert!(
            (50..=100).contains(&held),
            "{held} held for a capacity of 100"
        );
    }

    #[test]
    fn a_removed_entry_is_gone() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        let now = get_current_timestamp();
        cache.insert(key, verified(now + 100), now);
        cache.remove(&key);
        assert!(cache.get(&key, now).is_none());
    }

    #[test]
    fn a_zero_capacity_cache_hashes_nothing() {
        let cache = TokenCache::new(0);
        assert!(cache.digest("a.b.c").is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn workers_share_one_cache() {
        let cache = TokenCache::new(1_000);
        let now = get_current_timestamp();
        let tokens: Vec<String> = (0..200).map(|n| format!("t.{n}.s")).collect();
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let (cache, tokens) = (&cache, &tokens);
                scope.spawn(move || {
                    for token in tokens.iter().skip(worker).step_by(4) {
                        cache.insert(cache.digest(token).unwrap(), verified(now + 100), now);
                    }
                });
            }
        });
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let (cache, tokens) = (&cache, &tokens);
                scope.spawn(move || {
                    for token in tokens.iter().skip((worker + 1) % 4).step_by(4) {
                        let hit = cache.get(&cache.digest(token).unwrap(), now);
                        assert!(hit.is_some(), "{token} inserted by another worker");
                    }
                });
            }
        });
    }
}
