//! What the verifier tells whoever watches it: key-set fetches and refetches, the token cache's
//! lookups, and each request's verdict. The service counts them in its metrics; the verifier keeps no registry and no
//! global state of its own.

/// Receives the verifier's events. Every method does nothing by default, so an observer takes
/// only what it counts. Called on request paths: an implementation must not block.
pub trait Observer: Send + Sync {
    /// A fetch of `issuer`'s key set, successful or not.
    fn jwks_fetched(&self, _issuer: &str, _ok: bool) {}

    /// A conditional fetch of `issuer`'s key set answered 304: the set held is kept, renewed.
    fn jwks_not_modified(&self, _issuer: &str) {}

    /// A refetch of `issuer`'s key set caused by a token its set could not serve.
    fn jwks_refetched(&self, _issuer: &str) {}

    /// Such a refetch not made, because one was made within the cooldown.
    fn jwks_refetch_refused(&self, _issuer: &str) {}

    /// A lookup in the verified-token cache, a hit or a miss.
    fn token_cache_lookup(&self, _hit: bool) {}

    /// A request whose credential was accepted.
    fn request_accepted(&self) {}

    /// A request refused, for this fixed reason (an [`AuthError`](crate::AuthError)'s).
    fn request_refused(&self, _reason: &'static str) {}

    /// A DPoP request refused because the replay store held as many open proofs as it may.
    fn replay_store_full(&self) {}

    /// A proof checked with the replay store shared by the replicas: how long the store took,
    /// and whether it answered in time.
    fn replay_store_checked(&self, _elapsed: std::time::Duration, _answered: bool) {}
}

/// An observer that counts nothing.
pub struct Unobserved;

impl Observer for Unobserved {}
