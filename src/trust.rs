//! Builds the verifier from the settings: one key store per trusted issuer, sharing one bounded
//! HTTP client, each with the policy its tokens must satisfy. The service's state, `make doctor`
//! and the tests all build it here, so they verify alike. The stores load keys later; only the
//! CA file of the HTTP settings is read here.

use std::sync::Arc;

use crate::auth::{
    CertificateBinding, Dpop, JwksStore, Observer, TokenLocation, TokenSources, Verifier,
};
use crate::settings::{AuthSettings, SettingsError, TrustedIssuer};

/// A verifier trusting each of `trusted`, each with its own key store.
pub fn verifier(
    auth: &AuthSettings,
    trusted: &[TrustedIssuer],
    observer: &Arc<dyn Observer>,
) -> Result<Verifier, SettingsError> {
    crate::auth::install_crypto_provider();
    let fetcher = auth.fetcher()?;
    Ok(trusted.iter().fold(
        Verifier::new(
            auth.max_token_bytes,
            auth.token_cache_size,
            auth.token_cache_max_bytes,
            Arc::clone(observer),
        ),
        |verifier, issuer| {
            let store =
                JwksStore::new(issuer.source.clone(), fetcher.clone(), Arc::clone(observer));
            verifier.trust(Arc::new(store), issuer.policy.clone())
        },
    ))
}

/// The DPoP rules: the proof checker and each issuer's mode, for a service reached at
/// `public_url` (the `htu` proofs name).
pub fn dpop(
    auth: &AuthSettings,
    trusted: &[TrustedIssuer],
    public_url: &str,
) -> Result<Dpop, SettingsError> {
    let modes = trusted
        .iter()
        .map(|issuer| (issuer.source.issuer.clone(), issuer.dpop))
        .collect();
    Ok(Dpop::new(auth.proof_rules()?, modes, public_url))
}

/// Where the client certificate of certificate-bound tokens is read, and each issuer's mode.
pub fn certificates(
    auth: &AuthSettings,
    trusted: &[TrustedIssuer],
) -> Result<CertificateBinding, SettingsError> {
    CertificateBinding::new(auth.forwarded_certificates(trusted)?).ok_or_else(|| {
        SettingsError::new(
            "APP__AUTH__MTLS__CERT_HEADER",
            "it is not a header name",
            "name the header the gateway forwards the client certificate in, e.g. Client-Cert",
        )
    })
}

/// Where each issuer's tokens arrive.
pub fn token_sources(trusted: &[TrustedIssuer]) -> Result<TokenSources, SettingsError> {
    let mut sources = Vec::with_capacity(trusted.len());
    for issuer in trusted {
        let location =
            TokenLocation::new(&issuer.token_header, &issuer.token_prefix).ok_or_else(|| {
                SettingsError::new(
                    "token_header",
                    format!("`{}` is not a header name", issuer.token_header),
                    "name the header the token arrives in, e.g. Authorization",
                )
            })?;
        sources.push((location, issuer.source.issuer.clone()));
    }
    Ok(TokenSources::new(sources))
}
