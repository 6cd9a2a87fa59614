//! Builds the verifier from the settings: one key store per trusted issuer, sharing one bounded
//! HTTP client, each with the policy its tokens must satisfy. The service's state, `make doctor`
//! and the tests all build it here, so they verify alike. No I/O: the stores load keys later.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{
    Dpop, Fetcher, IssuerPolicy, JwksSource, JwksStore, Observer, ProofRules, RequiredClaim,
    RolesClaim, TokenSources, Verifier,
};
use crate::settings::AuthSettings;

/// Where each configured issuer's keys come from, and what its tokens must satisfy.
/// `dev_issuer` is the URL that stands for the development issuer (the service's own).
pub fn trusted_issuers(auth: &AuthSettings, dev_issuer: &str) -> Vec<(JwksSource, IssuerPolicy)> {
    auth.issuers
        .iter()
        .map(|trusted| {
            let source = JwksSource {
                issuer: trusted
                    .issuer
                    .clone()
                    .unwrap_or_else(|| dev_issuer.to_owned()),
                jwks_uri: trusted.jwks_uri.clone(),
                algorithms: trusted.algorithms.clone(),
                default_ttl: Duration::from_secs(auth.jwks_ttl_seconds),
                min_ttl: Duration::from_secs(auth.jwks_min_ttl_seconds),
                max_ttl: Duration::from_secs(auth.jwks_max_ttl_seconds),
                max_stale: Duration::from_secs(auth.max_stale_seconds),
                max_keys: auth.max_jwks_keys,
                refetch_cooldown: Duration::from_secs(auth.refetch_cooldown_seconds),
            };
            let policy = IssuerPolicy {
                audience: trusted.audience.clone(),
                algorithms: trusted.algorithms.clone(),
                leeway_seconds: trusted.leeway_seconds,
                audience_claim: trusted.audience_claim.clone(),
                required_claims: trusted
                    .required_claims
                    .iter()
                    .map(|(claim, one_of)| RequiredClaim::new(claim, one_of.clone()))
                    .collect(),
                roles_claim: RolesClaim(trusted.roles_claim.clone()),
                require_typ: trusted.require_typ.clone(),
                max_token_lifetime_seconds: trusted.max_token_lifetime_seconds,
            };
            (source, policy)
        })
        .collect()
}

/// The HTTP client every key store and the doctor use, bounded by the settings.
pub fn fetcher(auth: &AuthSettings) -> Fetcher {
    Fetcher::new(
        Duration::from_secs(auth.http_timeout_seconds),
        auth.max_jwks_bytes,
    )
}

/// A verifier trusting every configured issuer, each with its own key store.
pub fn verifier(auth: &AuthSettings, dev_issuer: &str, observer: &Arc<dyn Observer>) -> Verifier {
    crate::auth::install_crypto_provider();
    let fetcher = fetcher(auth);
    trusted_issuers(auth, dev_issuer).into_iter().fold(
        Verifier::new(
            auth.max_token_bytes,
            auth.token_cache_size,
            auth.token_cache_max_bytes,
            Arc::clone(observer),
        ),
        |verifier, (source, policy)| {
            let store = JwksStore::new(source, fetcher.clone(), Arc::clone(observer));
            verifier.trust(Arc::new(store), policy)
        },
    )
}

/// The DPoP rules: the proof checker and each issuer's mode; `dev_issuer` stands for the
/// development issuer, and is where this service is reached.
pub fn dpop(auth: &AuthSettings, dev_issuer: &str) -> Dpop {
    let rules = &auth.dpop;
    let modes = auth
        .issuers
        .iter()
        .map(|trusted| {
            let issuer = trusted.issuer.as_deref().unwrap_or(dev_issuer);
            (issuer.to_owned(), trusted.dpop)
        })
        .collect();
    let rules = ProofRules {
        algorithms: rules.algorithms.clone(),
        max_age: Duration::from_secs(rules.proof_max_age_seconds),
        max_skew: Duration::from_secs(rules.proof_max_skew_seconds),
        replay_cache_size: rules.replay_cache_size,
        nonce_lifetime: rules.nonce_lifetime_seconds.map(Duration::from_secs),
    };
    Dpop::new(rules, modes, dev_issuer)
}

/// Where each issuer's tokens arrive; `dev_issuer` stands for the development issuer.
pub fn token_sources(auth: &AuthSettings, dev_issuer: &str) -> TokenSources {
    TokenSources::new(auth.issuers.iter().map(|trusted| {
        let issuer = trusted.issuer.as_deref().unwrap_or(dev_issuer).to_owned();
        (trusted.token_location.clone(), issuer)
    }))
}
