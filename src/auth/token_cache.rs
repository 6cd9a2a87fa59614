//! Tokens already verified, remembered so a repeated token skips signature verification, as
//! Envoy's `jwt_authn` does. An entry is keyed by the SHA-512/256 of the whole token (so any
//! altered byte misses, and the token itself is never held) and serves only until the token
//! expires or its key leaves the issuer's key set, whichever comes first. SHA-512/256 rather
//! than SHA-256: as strong, and cheaper per byte on 64-bit CPUs without SHA instructions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA512_256, digest};
use jsonwebtoken::Algorithm;

use super::caller::Caller;
use super::keys::{KeyName, VerificationKey};

/// What a verification established, and what must still hold to reuse it.
pub struct Verified {
    /// The caller, permissions read once per token rather than once per request.
    pub caller: Caller,
    /// Index of the issuer in the verifier.
    pub issuer: usize,
    pub key_name: KeyName,
    pub alg: Algorithm,
    pub key: Arc<VerificationKey>,
    /// Seconds since the epoch after which the token is expired, leeway included.
    pub valid_until: u64,
}

/// A bounded map of token digests to verifications. A capacity of 0 disables it.
pub struct TokenCache {
    entries: Mutex<HashMap<TokenDigest, Arc<Verified>>>,
    capacity: usize,
}

/// The cache key of a token.
pub type TokenDigest = [u8; 32];

impl TokenCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The token's digest, or `None` when the cache is off (so no hashing is done).
    pub fn digest(&self, token: &str) -> Option<TokenDigest> {
        if self.capacity == 0 {
            return None;
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA512_256, token.as_bytes()).as_ref());
        Some(key)
    }

    /// The verification remembered for this digest, if it has not expired by `now`. Shared, so a
    /// hit copies nothing under the lock.
    pub fn get(&self, key: &TokenDigest, now: u64) -> Option<Arc<Verified>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(entry) if now <= entry.valid_until => Some(entry.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Forgets a digest whose key has left the set.
    pub fn remove(&self, key: &TokenDigest) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Remembers a verification. When full, one arbitrary entry makes room: constant time, and
    /// expired entries are dropped as they are met.
    pub fn insert(&self, key: TokenDigest, verified: Arc<Verified>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let victim = entries.keys().next().copied();
            if let Some(victim) = victim {
                entries.remove(&victim);
            }
        }
        entries.insert(key, verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::caller::RolesClaim;
    use crate::auth::claims::VerifiedClaims;
    use crate::auth::keys::KeySet;
    use serde_json::Map;

    fn verified(valid_until: u64) -> Arc<Verified> {
        let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let set = KeySet::parse(jwks, &[Algorithm::EdDSA], 1, None).unwrap();
        let name = KeyName::Kid("k".to_owned());
        Arc::new(Verified {
            caller: Caller::new(
                VerifiedClaims::new(Map::new()),
                &RolesClaim("roles".to_owned()),
            ),
            issuer: 0,
            key: Arc::clone(set.find(&name, Algorithm::EdDSA).unwrap()),
            key_name: name,
            alg: Algorithm::EdDSA,
            valid_until,
        })
    }

    #[test]
    fn entries_serve_until_they_expire() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        cache.insert(key, verified(100));
        assert!(cache.get(&key, 100).is_some());
        assert!(cache.get(&key, 101).is_none());
        assert!(
            cache.get(&key, 50).is_none(),
            "an expired entry is dropped when met"
        );
    }

    #[test]
    fn any_altered_byte_misses_and_the_size_is_bounded() {
        let cache = TokenCache::new(2);
        let original = cache.digest("a.b.c").unwrap();
        cache.insert(original, verified(100));
        assert!(cache.get(&cache.digest("a.b.d").unwrap(), 0).is_none());
        for token in ["x.y.1", "x.y.2", "x.y.3"] {
            cache.insert(cache.digest(token).unwrap(), verified(100));
        }
        assert_eq!(cache.entries.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_removed_entry_is_gone() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        cache.insert(key, verified(100));
        cache.remove(&key);
        assert!(cache.get(&key, 0).is_none());
    }

    #[test]
    fn a_zero_capacity_cache_hashes_nothing() {
        assert!(TokenCache::new(0).digest("a.b.c").is_none());
    }
}
