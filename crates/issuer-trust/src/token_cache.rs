//! Tokens already verified, remembered so a repeated token skips signature verification, as
//! Envoy's `jwt_authn` does. An entry is keyed by the token's keyed digest (`token_digest`: any
//! altered byte misses, and the map never holds the token itself), and serves only until the
//! token expires or its key leaves the issuer's key set, whichever comes first. The digest is
//! already uniform and secret, so the map hashes nothing a second time.

use std::hash::BuildHasherDefault;

use quick_cache::{Weighter, sync};

use super::caller::Caller;
use super::token_digest::{DigestHasher, TokenDigest, TokenDigester};

type SharedEntries =
    sync::Cache<TokenDigest, Caller, CallerBytes, BuildHasherDefault<DigestHasher>>;

/// What an entry holds whatever its token: the caller's fixed parts, its provenance, the key
/// and the map's own slot.
const ENTRY_BYTES: u64 = 512;

/// Weighs a remembered caller by the bytes it holds: its claims' text, and as much again for
/// what is copied out of it (scopes, roles, issuer, subject), beside the fixed part of every
/// entry. No entry weighs less than `least`, the byte bound over the entry bound, so that
/// neither bound is passed: many small tokens meet the entry bound, fewer large ones the bytes.
#[derive(Clone)]
struct CallerBytes {
    least: u64,
}

impl Weighter<TokenDigest, Caller> for CallerBytes {
    fn weight(&self, _: &TokenDigest, caller: &Caller) -> u64 {
        let claims = caller.claims().json_len() as u64;
        ENTRY_BYTES
            .saturating_add(claims.saturating_mul(2))
            .max(self.least)
    }
}

/// A bounded, concurrent map of token digests to verified callers, each carrying what its
/// verification rested on (its `Provenance`). A capacity of 0 disables it.
///
/// quick_cache splits the map into shards, each behind its own read-write lock, and a hit only
/// takes its shard's read lock. (moka, used before, records every read in one buffer all
/// threads append to, which made its hits several times slower.) When full, S3-FIFO evicts
/// tokens seen once before tokens asked for again.
///
/// Expiry is per entry and checked on every hit: an entry is never served after its token
/// expires, and is dropped when met. One never met again stays until eviction reaches it.
pub struct TokenCache(Option<Enabled>);

struct Enabled {
    digester: TokenDigester,
    entries: SharedEntries,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens holding at most about `max_bytes`
    /// (each entry weighed as [`CallerBytes`] says); off if the system's generator gives no
    /// secret to key it.
    pub fn new(capacity: usize, max_bytes: u64) -> Self {
        if capacity == 0 || max_bytes == 0 {
            return Self(None);
        }
        let Some(digester) = TokenDigester::new() else {
            log::warn!("no random secret for the verified-token cache: it is off");
            return Self(None);
        };
        Self(Some(Enabled {
            digester,
            entries: sync::Cache::with(
                capacity,
                max_bytes,
                CallerBytes {
                    least: max_bytes.div_ceil(capacity as u64),
                },
                BuildHasherDefault::default(),
                Default::default(),
            ),
        }))
    }

    /// What the cache knows of `token` by `now`: its caller, or, when it remembers none
    /// unexpired, the digest to remember it under.
    pub fn get(&self, token: &str, now: u64) -> Lookup {
        let Some(enabled) = &self.0 else {
            return Lookup::Off;
        };
        let key = enabled.digester.digest(token);
        match enabled.entries.get(&key) {
            Some(caller) if now <= caller.provenance().valid_until => Lookup::Hit(caller),
            Some(_) => {
                enabled.entries.remove(&key);
                Lookup::Miss(key)
            }
            None => Lookup::Miss(key),
        }
    }

    /// Forgets a token whose key has left the set, and gives the digest to remember it under
    /// if it verifies again.
    pub fn forget(&self, token: &str) -> Option<TokenDigest> {
        let enabled = self.0.as_ref()?;
        let key = enabled.digester.digest(token);
        enabled.entries.remove(&key);
        Some(key)
    }

    /// Remembers a verified caller, unless its token has already expired by `now`.
    pub fn insert(&self, key: TokenDigest, caller: Caller, now: u64) {
        if let Some(enabled) = &self.0
            && now <= caller.provenance().valid_until
        {
            enabled.entries.insert(key, caller);
        }
    }

    /// How many verifications the cache holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |enabled| enabled.entries.len())
    }

    /// The bytes the cache holds, as its entries are weighed.
    pub fn bytes(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(0, |enabled| enabled.entries.weight())
    }
}

/// What [`TokenCache::get`] found.
pub enum Lookup {
    /// The caller of a verification remembered unexpired; whether its key still serves is the
    /// verifier's to check.
    Hit(Caller),
    /// Not remembered: a verified caller is remembered under this digest.
    Miss(TokenDigest),
    /// The cache is off, so nothing was hashed.
    Off,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::RolesClaim;
    use crate::{claim_set, provenance};
    use jsonwebtoken::get_current_timestamp;
    use serde_json::json;

    fn verified(valid_until: u64) -> Caller {
        Caller::new(
            &claim_set::for_test(&json!({"iss": "https://issuer"})),
            &RolesClaim("roles".to_owned()),
            provenance::for_test(valid_until),
        )
        .unwrap()
    }

    /// A caller whose claims' text is about `bytes` long.
    fn verified_of_size(bytes: usize) -> Caller {
        let claims = json!({"iss": "https://issuer", "pad": "x".repeat(bytes)});
        Caller::new(
            &claim_set::for_test(&claims),
            &RolesClaim("roles".to_owned()),
            provenance::for_test(u64::MAX),
        )
        .unwrap()
    }

    #[test]
    fn large_tokens_are_remembered_within_the_byte_bound() {
        let max_bytes = 256 * 1024;
        let cache = TokenCache::new(1_000, max_bytes);
        for n in 0..500 {
            remember(&cache, &format!("a.b.{n}"), verified_of_size(8 * 1024), 0);
            assert!(cache.bytes() <= max_bytes, "{} bytes", cache.bytes());
        }
        let per_entry = ENTRY_BYTES + 2 * 8 * 1024;
        assert!(
            cache.len() as u64 <= max_bytes / per_entry,
            "{}",
            cache.len()
        );
        assert!(cache.len() > 0);
    }

    #[test]
    fn small_tokens_are_remembered_within_the_entry_bound() {
        let cache = TokenCache::new(100, 1 << 30);
        for n in 0..1_000 {
            remember(&cache, &format!("a.b.{n}"), verified_of_size(10), 0);
        }
        assert!(cache.len() <= 100, "{}", cache.len());
        assert!(cache.bytes() <= 1 << 30);
    }

    /// Remembers `caller` for `token` as the verifier does after a miss.
    fn remember(cache: &TokenCache, token: &str, caller: Caller, now: u64) {
        match cache.get(token, now) {
            Lookup::Miss(key) => cache.insert(key, caller, now),
            Lookup::Hit(_) => panic!("{token} is remembered already"),
            Lookup::Off => panic!("the cache is off"),
        }
    }

    fn hit(cache: &TokenCache, token: &str, now: u64) -> Option<Caller> {
        match cache.get(token, now) {
            Lookup::Hit(caller) => Some(caller),
            Lookup::Miss(_) | Lookup::Off => None,
        }
    }

    #[test]
    fn entries_serve_until_they_expire() {
        let cache = TokenCache::new(4, 1 << 30);
        let valid_until = get_current_timestamp() + 100;
        remember(&cache, "a.b.c", verified(valid_until), valid_until - 100);
        assert!(hit(&cache, "a.b.c", valid_until).is_some());
        assert!(hit(&cache, "a.b.c", valid_until + 1).is_none());
        assert!(
            hit(&cache, "a.b.c", valid_until - 50).is_none(),
            "an expired entry is dropped when met"
        );
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_token_already_expired_is_not_held() {
        let cache = TokenCache::new(4, 1 << 30);
        let now = get_current_timestamp();
        remember(&cache, "a.b.c", verified(now - 1), now);
        assert_eq!(cache.len(), 0);
        remember(&cache, "a.b.c", verified(now), now);
        assert_eq!(cache.len(), 1, "valid through its last second");
    }

    #[test]
    fn any_altered_byte_misses_and_the_size_is_bounded() {
        let cache = TokenCache::new(100, 1 << 30);
        let now = get_current_timestamp();
        remember(&cache, "a.b.c", verified(now + 100), now);
        for _ in 0..2 {
            assert!(hit(&cache, "a.b.c", now).is_some());
        }
        for altered in ["a.b.d", "a.b.c.", "A.b.c", ".b.c"] {
            assert!(hit(&cache, altered, now).is_none(), "{altered}");
        }
        for n in 0..1_000 {
            remember(&cache, &format!("x.y.{n}"), verified(now + 100), now);
        }
        let held = cache.len();
        assert!(
            (50..=100).contains(&held),
            "{held} held for a capacity of 100"
        );
    }

    #[test]
    fn a_forgotten_token_is_gone() {
        let cache = TokenCache::new(4, 1 << 30);
        let now = get_current_timestamp();
        remember(&cache, "a.b.c", verified(now + 100), now);
        for _ in 0..2 {
            assert!(hit(&cache, "a.b.c", now).is_some());
        }
        let key = cache.forget("a.b.c").unwrap();
        assert!(matches!(cache.get("a.b.c", now), Lookup::Miss(miss) if miss == key));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn an_expired_entry_is_dropped_when_met() {
        let cache = TokenCache::new(16, 1 << 30);
        let now = get_current_timestamp();
        remember(&cache, "a.b.c", verified(now + 10), now);
        for _ in 0..2 {
            assert!(hit(&cache, "a.b.c", now).is_some());
        }
        assert!(hit(&cache, "a.b.c", now + 11).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_zero_capacity_cache_hashes_nothing() {
        let cache = TokenCache::new(0, 1 << 30);
        assert!(matches!(cache.get("a.b.c", 0), Lookup::Off));
        assert!(cache.forget("a.b.c").is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn workers_share_one_cache() {
        let cache = TokenCache::new(1_000, 1 << 30);
        let now = get_current_timestamp();
        let tokens: Vec<String> = (0..200).map(|n| format!("t.{n}.s")).collect();
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let (cache, tokens) = (&cache, &tokens);
                scope.spawn(move || {
                    for token in tokens.iter().skip(worker).step_by(4) {
                        remember(cache, token, verified(now + 100), now);
                    }
                });
            }
        });
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let (cache, tokens) = (&cache, &tokens);
                scope.spawn(move || {
                    for token in tokens.iter().skip((worker + 1) % 4).step_by(4) {
                        for _ in 0..3 {
                            let hit = hit(cache, token, now);
                            assert!(hit.is_some(), "{token} inserted by another worker");
                        }
                    }
                });
            }
        });
    }
}
