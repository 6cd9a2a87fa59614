//! DPoP at the request (RFC 9449 §7): a token sent with the `DPoP` scheme comes with one proof
//! in the `DPoP` header, for this method and this URI (built from the configured public URL,
//! never from `Host` or `X-Forwarded-Host`); a bound token (`cnf.jkt`) is accepted only so,
//! from the key it is bound to; each issuer's mode says whether unbound tokens still pass.

use jsonwebtoken::get_current_timestamp;

use crate::caller::Caller;
use crate::dpop::{DpopMode, ProofChecker, ProofError, ProofRequest, ProofRules, Use};
use crate::error::{AuthError, TokenError};

/// The scheme a credential was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750), or the token alone in a configured header.
    Bearer,
    /// `Authorization: DPoP`, with its proof in the `DPoP` header (RFC 9449).
    Dpop,
}

/// The DPoP rules of the trusted issuers and the proof checker they share.
pub struct Dpop {
    checker: ProofChecker,
    modes: Vec<(String, DpopMode)>,
    public_url: String,
}

impl Dpop {
    /// Proofs judged by `rules`, each issuer with its mode; `public_url` is where this service
    /// is reached, the base of the URI every proof must name.
    pub fn new(rules: ProofRules, modes: Vec<(String, DpopMode)>, public_url: &str) -> Self {
        Self {
            checker: ProofChecker::new(rules),
            modes,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Whether some issuer accepts the `DPoP` scheme.
    pub fn accepts_dpop(&self) -> bool {
        self.modes.iter().any(|(_, mode)| *mode != DpopMode::Off)
    }

    /// Whether some issuer accepts tokens that are not DPoP-bound.
    pub fn accepts_bearer(&self) -> bool {
        self.modes
            .iter()
            .any(|(_, mode)| *mode != DpopMode::Required)
    }

    /// The algorithms a proof may be signed with, by their JOSE names.
    pub fn algorithm_names(&self) -> Vec<String> {
        self.checker
            .algorithms()
            .iter()
            .map(|alg| format!("{alg:?}"))
            .collect()
    }

    /// A fresh server nonce for the `DPoP-Nonce` header, where nonces are required.
    pub fn nonce(&self) -> Option<String> {
        self.checker.nonce(get_current_timestamp())
    }

    fn mode(&self, issuer: &str) -> DpopMode {
        self.modes
            .iter()
            .find(|(trusted, _)| trusted == issuer)
            .map_or(DpopMode::Off, |(_, mode)| *mode)
    }

    /// These rules, remembering used proofs in `store`, shared by every replica.
    #[cfg(feature = "redis")]
    pub fn sharing(self, store: std::sync::Arc<crate::dpop::SharedProofs>) -> Self {
        Self {
            checker: self.checker.sharing(store),
            ..self
        }
    }

    /// The replay store shared by the replicas, where proofs are remembered there.
    #[cfg(feature = "redis")]
    pub fn shared_store(&self) -> Option<&std::sync::Arc<crate::dpop::SharedProofs>> {
        self.checker.shared_store()
    }

    /// Whether the verified `caller`'s token may be used as it was sent: with `scheme`, the
    /// `proof` if any, for `method` on `path`.
    pub async fn check(
        &self,
        caller: &Caller,
        token: &str,
        scheme: Scheme,
        proof: Option<&str>,
        method: &str,
        path: &str,
    ) -> Result<(), AuthError> {
        let bound_to = caller.bound_key();
        let mode = self.mode(caller.trusted_issuer());
        match scheme {
            // Presenting a bound token as a bearer token would drop its binding (§7.1).
            Scheme::Bearer if bound_to.is_some() => Err(TokenError::DpopBoundAsBearer.into()),
            Scheme::Bearer if mode == DpopMode::Required => Err(TokenError::NotDpopBound.into()),
            Scheme::Bearer => Ok(()),
            Scheme::Dpop if mode == DpopMode::Off => Err(TokenError::DpopNotAccepted.into()),
            Scheme::Dpop => {
                let proof = proof.ok_or(AuthError::InvalidDpopProof(ProofError::Missing))?;
                let uri = format!("{}{path}", self.public_url);
                let request = ProofRequest {
                    method,
                    uri: &uri,
                    access_token: token,
                };
                let now = get_current_timestamp();
                let proof = self
                    .checker
                    .check(proof, &request, now)
                    .map_err(AuthError::InvalidDpopProof)?;
                match bound_to {
                    None => return Err(TokenError::NotDpopBound.into()),
                    Some(jkt) if jkt != proof.thumbprint => {
                        return Err(TokenError::DpopKeyMismatch.into());
                    }
                    Some(_) => {}
                }
                // Last, so that a proof refused for any other reason does not use up its jti.
                match self
                    .checker
                    .record(&proof, caller.trusted_issuer(), now)
                    .await
                {
                    Use::First => Ok(()),
                    Use::Again => Err(AuthError::InvalidDpopProof(ProofError::Replayed)),
                    Use::Full { retry_after } => Err(AuthError::ReplayStoreFull { retry_after }),
                    Use::Unavailable => Err(AuthError::ReplayStoreUnavailable),
                }
            }
        }
    }
}
