//! Turns a token string into verified claims or a typed error. It knows nothing of actix: keys
//! come from each trusted issuer's JWKS store, the checks from RFC 7519 and RFC 8725.
//!
//! With several issuers, the token's `iss` is read before verification only to choose the
//! issuer; every claim, `iss` included, is then verified against that issuer's keys and policy,
//! so a key of one issuer never verifies another's token.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, TokenData, Validation, get_current_timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::caller::Caller;
use super::claim_set::ClaimSet;
use super::error::{AuthError, TokenError};
use super::header::TokenHeader;
use super::issuer_alias;
use super::jwks::{JwksStore, KeyLookupError};
use super::keys::VerificationKey;
use super::observer::Observer;
pub use super::policy::IssuerPolicy;
use super::provenance::Provenance;
use super::tenant;
use super::token_cache::{Lookup, TokenCache};

struct TrustedIssuer {
    /// The issuer as configured (see [`Provenance::trusted_issuer`]).
    name: Arc<str>,
    store: Arc<JwksStore>,
    policy: IssuerPolicy,
    /// One prepared validation per allowed algorithm, so none is built per request.
    validations: Vec<(Algorithm, Validation)>,
}

/// Verifies tokens of the trusted issuers. Built once at startup and shared by every worker.
pub struct Verifier {
    issuers: Vec<TrustedIssuer>,
    /// Every algorithm some issuer allows: anything else is refused before key lookup.
    algorithms: Vec<Algorithm>,
    max_token_bytes: usize,
    cache: TokenCache,
    observer: Arc<dyn Observer>,
}

impl Verifier {
    /// A verifier trusting no issuer yet (see [`Verifier::trust`]), remembering up to
    /// `cached_tokens` verified tokens (0: none) in about `cache_bytes`.
    pub fn new(
        max_token_bytes: usize,
        cached_tokens: usize,
        cache_bytes: u64,
        observer: Arc<dyn Observer>,
    ) -> Self {
        Self {
            issuers: Vec::new(),
            algorithms: Vec::new(),
            max_token_bytes,
            cache: TokenCache::new(cached_tokens, cache_bytes),
            observer,
        }
    }

    /// The bytes the verified-token cache holds, as its entries are weighed.
    pub fn cached_bytes(&self) -> u64 {
        self.cache.bytes()
    }

    /// Accepts tokens of the store's issuer under `policy`.
    pub fn trust(mut self, store: Arc<JwksStore>, policy: IssuerPolicy) -> Self {
        let validations = policy
            .algorithms
            .iter()
            .map(|&alg| {
                let mut validation = Validation::new(alg);
                // A multi-tenant issuer's `iss` is checked against the token's own tenant
                // after the signature (see `tenant::check`); `iss` stays required.
                if !tenant::is_template(store.issuer()) {
                    validation.set_issuer(&issuer_alias::accepted_iss(store.issuer()));
                }
                validation.set_audience(&policy.audience);
                validation.set_required_spec_claims(policy.required_spec_claims());
                validation.validate_nbf = true;
                validation.leeway = policy.leeway_seconds;
                (alg, validation)
            })
            .collect();
        for alg in &policy.algorithms {
            if !self.algorithms.contains(alg) {
                self.algorithms.push(*alg);
            }
        }
        self.issuers.push(TrustedIssuer {
            name: Arc::from(store.issuer()),
            store,
            policy,
            validations,
        });
        self
    }

    /// Whoever watches this verifier's events.
    pub fn observer(&self) -> &dyn Observer {
        self.observer.as_ref()
    }

    /// The key stores of the trusted issuers, in configuration order.
    pub fn stores(&self) -> impl Iterator<Item = &Arc<JwksStore>> {
        self.issuers.iter().map(|issuer| &issuer.store)
    }

    /// Verifies `token` and returns its caller; a token verified before is answered from the
    /// cache while it is unexpired and its key still in its issuer's set.
    ///
    /// With the `opentelemetry` feature, each verification is a span, a child of the current
    /// one (see `issuer_trust::trace`).
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        #[cfg(feature = "opentelemetry")]
        if let Some(span) = crate::trace::spans::Verification::start() {
            return span.run(self, token).await;
        }
        self.verify_noting(token, &mut None).await
    }

    /// Verifies as [`verify`](Self::verify) says, noting in `cache_hit` whether the cache was
    /// asked and answered.
    pub(crate) async fn verify_noting(
        &self,
        token: &str,
        cache_hit: &mut Option<bool>,
    ) -> Result<Caller, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenError::TooLarge.into());
        }
        let digest = match self.cache.get(token, get_current_timestamp()) {
            Lookup::Hit(hit) => {
                let source = hit.provenance();
                let store = &self.issuers[source.issuer].store;
                if store.still_serves(&source.key_name, source.alg, &source.key, source.checked_in)
                {
                    self.observer.token_cache_lookup(true);
                    *cache_hit = Some(true);
                    return Ok(hit);
                }
                self.cache.forget(token)
            }
            Lookup::Miss(digest) => Some(digest),
            Lookup::Off => None,
        };
        if digest.is_some() {
            self.observer.token_cache_lookup(false);
            *cache_hit = Some(false);
        }
        let caller = self.verify_fully(token, digest.is_some()).await?;
        if let Some(digest) = digest {
            self.cache
                .insert(digest, caller.clone(), get_current_timestamp());
        }
        Ok(caller)
    }

    /// Verifies `token` in full; when it is to be `remembered`, its provenance notes the key
    /// set that served its key now, so that cache hits skip the key lookup while that set lasts.
    async fn verify_fully(&self, token: &str, remembered: bool) -> Result<Caller, AuthError> {
        let header = TokenHeader::parse(token, &self.algorithms)?;
        let (index, mut key) = self.key_for(token, &header).await?;
        let issuer = &self.issuers[index];
        let validation = issuer
            .validations
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .map(|(_, validation)| validation)
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        let first = decode(token, &key, validation);
        let data = if matches!(first, Err(ErrorKind::InvalidSignature)) {
            // Gone before the wait below, so that the decoded token is no part of
            // this future, which every verification's future holds.
            drop(first);
            // The issuer may have renewed the key under the same kid: look once, within the
            // refetch cooldown, and verify again only if the key did change.
            match issuer
                .store
                .renewed_key(&header.key, header.alg, &key)
                .await
            {
                Some(renewed) => {
                    key = renewed;
                    decode(token, &key, validation)
                }
                None => Err(ErrorKind::InvalidSignature),
            }
        } else {
            first
        }
        .map_err(|kind| claims_error(token, &kind))?;
        let claims = ClaimSet::parse(&data.claims).map_err(|_| TokenError::MalformedClaims)?;
        check_claim_types(&claims, issuer.policy.leeway_seconds)?;
        issuer.policy.check(header.typ.as_deref(), &claims)?;
        if tenant::is_template(&issuer.name) {
            // Fails closed: a template is never configured without its tenants.
            let allowed =
                (issuer.policy.allowed_tenants.as_ref()).ok_or(TokenError::TenantNotAllowed)?;
            tenant::check(&issuer.name, allowed, &claims)?;
        }
        let expires = claims
            .number("exp")
            .map_err(|_| TokenError::MalformedClaims)?
            .ok_or(TokenError::MissingClaim)?;
        let checked_in = remembered
            .then(|| issuer.store.set_serving(&header.key, header.alg, &key))
            .flatten();
        let provenance = Provenance {
            issuer: index,
            trusted_issuer: Arc::clone(&issuer.name),
            key_name: header.key,
            alg: header.alg,
            key,
            checked_in,
            valid_until: (expires.max(0.0) as u64).saturating_add(issuer.policy.leeway_seconds),
        };
        Caller::new(&claims, &issuer.policy.roles_claim, provenance).map_err(AuthError::from)
    }

    /// The issuer whose key must verify the token, and that key. With one issuer, the key is
    /// looked up first and the unverified `iss` read only before a refetch, so an unknown issuer
    /// never causes one; with several, `iss` chooses the issuer. Either way the signature and
    /// every claim, `iss` included, are verified afterwards.
    async fn key_for(
        &self,
        token: &str,
        header: &TokenHeader,
    ) -> Result<(usize, Arc<VerificationKey>), AuthError> {
        let (index, issuer) = match self.issuers.as_slice() {
            [only] => match only.store.current_key(&header.key, header.alg) {
                Err(KeyLookupError::UnknownKid) => self.issuer_of(token)?,
                found => return found.map(|key| (0, key)).map_err(lookup_error),
            },
            _ => self.issuer_of(token)?,
        };
        if !issuer.validations.iter().any(|(alg, _)| *alg == header.alg) {
            return Err(TokenError::AlgorithmNotAllowed.into());
        }
        let key = issuer
            .store
            .key_for(&header.key, header.alg)
            .await
            .map_err(lookup_error)?;
        Ok((index, key))
    }

    /// What a refused token showed: the trusted issuer its unverified `iss` names, and the
    /// algorithm of its header when this verifier allows it. Both are this service's own
    /// values, never the token's text.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn described(&self, token: &str) -> (Option<&str>, Option<Algorithm>) {
        let issuer = match self.issuers.as_slice() {
            [only] => Some(&*only.name),
            _ => self.issuer_of(token).ok().map(|(_, issuer)| &*issuer.name),
        };
        let alg = TokenHeader::parse(token, &self.algorithms)
            .ok()
            .map(|header| header.alg);
        (issuer, alg)
    }

    /// The trusted issuer named by the token's unverified `iss`; an unknown one is refused
    /// without any fetch.
    fn issuer_of(&self, token: &str) -> Result<(usize, &TrustedIssuer), TokenError> {
        #[derive(Deserialize)]
        struct UnverifiedIssuer {
            iss: Option<Value>,
        }
        let bytes = payload(token).ok_or(TokenError::Malformed)?;
        let claims: UnverifiedIssuer =
            serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let iss = match claims.iss {
            None => return Err(TokenError::MissingClaim),
            Some(Value::String(iss)) => iss,
            Some(_) => return Err(TokenError::MalformedClaims),
        };
        self.issuers
            .iter()
            .enumerate()
            .find(|(_, issuer)| {
                issuer.store.issuer() == issuer_alias::identifier(&iss)
                    || tenant::matches(issuer.store.issuer(), &iss)
            })
            .ok_or(TokenError::IssuerMismatch)
    }
}

/// `jsonwebtoken::decode`, its error reduced to its kind. The claims come out as their JSON
/// text, read once into a [`ClaimSet`] afterwards.
fn decode(
    token: &str,
    key: &VerificationKey,
    validation: &Validation,
) -> Result<TokenData<Box<RawValue>>, ErrorKind> {
    jsonwebtoken::decode(token, &key.decoding_key, validation).map_err(|error| error.into_kind())
}

fn lookup_error(error: KeyLookupError) -> AuthError {
    match error {
        KeyLookupError::Unavailable => AuthError::KeysUnavailable,
        KeyLookupError::UnknownKid => TokenError::UnknownKey.into(),
        KeyLookupError::AmbiguousKey => TokenError::MissingKeyId.into(),
        KeyLookupError::AlgorithmMismatch => TokenError::AlgorithmMismatch.into(),
    }
}

/// Checks the library leaves to us: `iss` a single string (not an array), `sub` and `acr`
/// strings, `iat` a number not in the future. `auth_time` is judged where a step-up reads it
/// (AD FS writes it as a date string, which meets no `max_age` and so fails closed there).
fn check_claim_types(claims: &ClaimSet<'_>, leeway: u64) -> Result<(), TokenError> {
    if !claims.text("iss").is_ok_and(|iss| iss.is_some())
        || claims.text("sub").is_err()
        || claims.text("acr").is_err()
    {
        return Err(TokenError::MalformedClaims);
    }
    let iat = claims
        .number("iat")
        .map_err(|_| TokenError::MalformedClaims)?;
    if iat.is_some_and(|iat| iat > (get_current_timestamp() + leeway) as f64) {
        return Err(TokenError::IssuedInFuture);
    }
    Ok(())
}

/// The decoded payload segment of a compact token, unverified.
fn payload(token: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()
}

/// The payload of a compact token as a JSON object, unverified: for explaining a refusal,
/// never for granting anything.
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    serde_json::from_slice(&payload(token)?).ok()
}

/// The refusal for a decode error. `jsonwebtoken` reports a required claim it cannot read (an
/// `exp` written as text, an `aud` as a number) as missing; one the payload does hold is
/// malformed, which is what its issuer must fix. The payload is read again only then, after
/// the signature has verified.
fn claims_error(token: &str, kind: &ErrorKind) -> TokenError {
    let present =
        |name: &str| unverified_claims(token).is_some_and(|claims| claims.contains_key(name));
    match kind {
        ErrorKind::MissingRequiredClaim(name) if present(name) => TokenError::MalformedClaims,
        kind => token_error(kind),
    }
}

fn token_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => TokenError::InvalidSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::IssuerMismatch,
        ErrorKind::InvalidAudience => TokenError::AudienceMismatch,
        ErrorKind::MissingRequiredClaim(_) => TokenError::MissingClaim,
        ErrorKind::InvalidClaimFormat(_) => TokenError::MalformedClaims,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::AlgorithmMismatch
        }
        ErrorKind::UnsupportedAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenError::AlgorithmNotAllowed
        }
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> ClaimSet<'static> {
        crate::claim_set::for_test(&value)
    }

    #[test]
    fn every_library_error_maps_to_a_fixed_reason() {
        let reason = |kind: ErrorKind| token_error(&kind).reason();
        for kind in [
            ErrorKind::InvalidSignature,
            ErrorKind::InvalidEcdsaKey,
            ErrorKind::InvalidEddsaKey,
            ErrorKind::InvalidRsaKey("n".to_owned()),
            ErrorKind::InvalidKeyFormat,
        ] {
            assert_eq!(reason(kind), "invalid signature");
        }
        assert_eq!(reason(ErrorKind::ExpiredSignature), "token expired");
        assert_eq!(reason(ErrorKind::ImmatureSignature), "token not yet valid");
        assert_eq!(reason(ErrorKind::InvalidIssuer), "issuer mismatch");
        assert_eq!(reason(ErrorKind::InvalidAudience), "audience mismatch");
        assert_eq!(
            reason(ErrorKind::MissingRequiredClaim("exp".to_owned())),
            "missing required claim"
        );
        assert_eq!(
            reason(ErrorKind::InvalidClaimFormat("nbf".to_owned())),
            "malformed claims"
        );
        for kind in [ErrorKind::InvalidAlgorithm, ErrorKind::InvalidAlgorithmName] {
            assert_eq!(reason(kind), "algorithm does not match key");
        }
        for kind in [ErrorKind::UnsupportedAlgorithm, ErrorKind::MissingAlgorithm] {
            assert_eq!(reason(kind), "algorithm not allowed");
        }
        assert_eq!(reason(ErrorKind::InvalidToken), "malformed token");
    }

    #[test]
    fn issuer_arrays_and_non_string_subjects_are_malformed() {
        let array_iss = claims(json!({"iss": ["a"], "sub": "s"}));
        assert_eq!(
            check_claim_types(&array_iss, 0),
            Err(TokenError::MalformedClaims)
        );
        let numeric_sub = claims(json!({"iss": "a", "sub": 7}));
        assert_eq!(
            check_claim_types(&numeric_sub, 0),
            Err(TokenError::MalformedClaims)
        );
        let listed_acr = claims(json!({"iss": "a", "acr": ["mfa"]}));
        assert_eq!(
            check_claim_types(&listed_acr, 0),
            Err(TokenError::MalformedClaims)
        );
    }

    #[test]
    fn iat_in_the_future_beyond_leeway_is_refused() {
        let now = get_current_timestamp();
        let soon = claims(json!({"iss": "a", "iat": now + 20}));
        assert_eq!(check_claim_types(&soon, 30), Ok(()));
        let later = claims(json!({"iss": "a", "iat": now + 120}));
        assert_eq!(
            check_claim_types(&later, 30),
            Err(TokenError::IssuedInFuture)
        );
        let text = claims(json!({"iss": "a", "iat": "yesterday"}));
        assert_eq!(
            check_claim_types(&text, 30),
            Err(TokenError::MalformedClaims)
        );
    }

    /// The size of what `f` returns (a future, for an async fn), without calling it.
    fn returned_size<A, B, R>(_: fn(A, B) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// A verification's future is built and moved on every request, cache hits included, so
    /// what it holds inline costs every request: the key refetch's HTTP future and a decoded
    /// token kept across the wait for it once made it several times its size.
    #[test]
    fn a_verification_future_holds_no_slow_path_inline() {
        let verify = returned_size::<&'static Verifier, &'static str, _>(Verifier::verify);
        assert!(verify <= 512, "{verify} bytes");
    }
}
