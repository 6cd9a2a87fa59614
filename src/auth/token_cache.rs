//! Tokens already verified, remembered so a repeated token skips signature verification, as
//! Envoy's `jwt_authn` does. An entry is keyed by the token's keyed digest (`token_digest`: any
//! altered byte misses, and the token itself is never held) and serves only until the token
//! expires or its key leaves the issuer's key set, whichever comes first. The digest is already
//! uniform and secret, so the cache hashes nothing a second time.

use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, get_current_timestamp};
use moka::Expiry;
use moka::sync::Cache;

use super::caller::Caller;
use super::jwks::SetNumber;
use super::keys::{KeyName, VerificationKey};
use super::token_digest::{DigestHasher, TokenDigest, TokenDigester};

/// What a verification established, and what must still hold to reuse it.
pub struct Verified {
    /// The caller, permissions read once per token rather than once per request.
    pub caller: Caller,
    /// Index of the issuer in the verifier.
    pub issuer: usize,
    pub key_name: KeyName,
    pub alg: Algorithm,
    pub key: Arc<VerificationKey>,
    /// The key set that served `key` when the verification was remembered, if it still did.
    pub checked_in: Option<SetNumber>,
    /// Seconds since the epoch after which the token is expired, leeway included.
    pub valid_until: u64,
}

/// A bounded, concurrent map of token digests to verifications (moka: reads take no global
/// lock, so workers scale; when full, its TinyLFU policy keeps the tokens asked for most). Each
/// entry leaves when its token expires. A capacity of 0 disables it.
pub struct TokenCache {
    entries: Cache<TokenDigest, Arc<Verified>, BuildHasherDefault<DigestHasher>>,
    /// `None` when the cache is off.
    digester: Option<TokenDigester>,
}

/// An entry lives until its token expires: memory is given back without a lookup to find it.
struct UntilTheTokenExpires;

impl Expiry<TokenDigest, Arc<Verified>> for UntilTheTokenExpires {
    fn expire_after_create(
        &self,
        _key: &TokenDigest,
        verified: &Arc<Verified>,
        _created_at: Instant,
    ) -> Option<Duration> {
        // `valid_until` is the last whole second the token is valid in; one already past it
        // is not held at all.
        let seconds_left = verified
            .valid_until
            .checked_sub(get_current_timestamp())
            .map_or(0, |seconds| seconds.saturating_add(1));
        Some(Duration::from_secs(seconds_left))
    }
}

impl TokenCache {
    /// A cache of `capacity` tokens; off if the system's generator gives no secret to key it.
    pub fn new(capacity: usize) -> Self {
        let digester = (capacity > 0).then(TokenDigester::new).flatten();
        match &digester {
            Some(digester) => log::debug!("token cache keyed by {}", digester.hash_name()),
            None if capacity > 0 => {
                log::warn!("no random secret for the verified-token cache: it is off");
            }
            None => {}
        }
        Self {
            entries: Cache::builder()
                .max_capacity(if digester.is_some() {
                    capacity as u64
                } else {
                    0
                })
                .expire_after(UntilTheTokenExpires)
                .build_with_hasher(BuildHasherDefault::default()),
            digester,
        }
    }

    /// The token's digest, or `None` when the cache is off (so no hashing is done).
    pub fn digest(&self, token: &str) -> Option<TokenDigest> {
        Some(self.digester.as_ref()?.digest(token))
    }

    /// The verification remembered for this digest, if it has not expired by `now`. Shared, so a
    /// hit copies nothing.
    pub fn get(&self, key: &TokenDigest, now: u64) -> Option<Arc<Verified>> {
        let entry = self.entries.get(key)?;
        if now <= entry.valid_until {
            return Some(entry);
        }
        self.entries.invalidate(key);
        None
    }

    /// Forgets a digest whose key has left the set.
    pub fn remove(&self, key: &TokenDigest) {
        self.entries.invalidate(key);
    }

    /// Remembers a verification.
    pub fn insert(&self, key: TokenDigest, verified: Arc<Verified>) {
        self.entries.insert(key, verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::caller::RolesClaim;
    use crate::auth::keys::KeySet;
    use serde_json::Map;

    fn verified(valid_until: u64) -> Arc<Verified> {
        let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let set = KeySet::parse(jwks, &[Algorithm::EdDSA], 1, None).unwrap();
        let name = KeyName::Kid("k".to_owned());
        Arc::new(Verified {
            caller: Caller::new(&Map::new(), &RolesClaim("roles".to_owned())).unwrap(),
            issuer: 0,
            key: Arc::clone(set.find(&name, Algorithm::EdDSA).unwrap()),
            key_name: name,
            alg: Algorithm::EdDSA,
            checked_in: None,
            valid_until,
        })
    }

    #[test]
    fn entries_serve_until_they_expire() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        let valid_until = get_current_timestamp() + 100;
        cache.insert(key, verified(valid_until));
        assert!(cache.get(&key, valid_until).is_some());
        assert!(cache.get(&key, valid_until + 1).is_none());
        assert!(
            cache.get(&key, valid_until - 50).is_none(),
            "an expired entry is dropped when met"
        );
    }

    #[test]
    fn an_entry_is_held_only_until_its_token_expires() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        cache.insert(key, verified(get_current_timestamp().saturating_sub(2)));
        assert!(
            cache.entries.get(&key).is_none(),
            "held for no time: moka reclaims it on its next timer tick"
        );

        let in_ten_seconds = verified(get_current_timestamp() + 10);
        let lifetime =
            UntilTheTokenExpires.expire_after_create(&key, &in_ten_seconds, Instant::now());
        assert!(
            lifetime.is_some_and(|l| l <= Duration::from_secs(11) && l >= Duration::from_secs(10)),
            "{lifetime:?}"
        );
    }

    #[test]
    fn any_altered_byte_misses_and_the_size_is_bounded() {
        let cache = TokenCache::new(2);
        let valid_until = get_current_timestamp() + 100;
        let original = cache.digest("a.b.c").unwrap();
        cache.insert(original, verified(valid_until));
        assert!(cache.get(&cache.digest("a.b.d").unwrap(), 0).is_none());
        for token in ["x.y.1", "x.y.2", "x.y.3"] {
            cache.insert(cache.digest(token).unwrap(), verified(valid_until));
        }
        cache.entries.run_pending_tasks();
        assert_eq!(cache.entries.entry_count(), 2);
    }

    #[test]
    fn a_removed_entry_is_gone() {
        let cache = TokenCache::new(4);
        let key = cache.digest("a.b.c").unwrap();
        cache.insert(key, verified(get_current_timestamp() + 100));
        cache.remove(&key);
        assert!(cache.get(&key, 0).is_none());
    }

    #[test]
    fn a_zero_capacity_cache_hashes_nothing() {
        assert!(TokenCache::new(0).digest("a.b.c").is_none());
    }
}
