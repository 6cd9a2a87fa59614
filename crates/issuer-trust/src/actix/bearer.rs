//! The bearer middleware, for actix-web-httpauth's `HttpAuthentication`: extracts the credential
//! from where its issuer sends it (see [`TokenSources`]), verifies it, and hands the caller to
//! handlers through the request. Its state, the [`Authenticator`], is built once and captured
//! by the middleware, so a route cannot be guarded without it.
//!
//! actix-web-httpauth's own `BearerAuth` matches the scheme case-sensitively and answers every
//! extraction failure with an empty 401; RFC 7235 makes the scheme case-insensitive and this
//! service answers every error with problem details, so the credential is read here and the
//! crate's middleware keeps the control flow.

use std::sync::Arc;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderName};
use actix_web::{Error, HttpMessage, HttpRequest};
use actix_web_httpauth::middleware::HttpAuthentication;
use futures_util::future::LocalBoxFuture;

use super::certificate::CertificateBinding;
use super::dpop::{Dpop, Scheme};
use super::rejection::{Challenge, Rejection};
use super::source::{SourceIndex, TokenSources};
use crate::charset::is_b64token;
use crate::error::{AuthError, ProofError, TokenError};
use crate::verifier::Verifier;

/// Everything the adapter needs: the verifier, where tokens arrive, the DPoP rules and the
/// challenge every refusal names. The bearer middleware ([`Authenticator::bearer`]) holds it,
/// and puts it on each request it lets through, where the extractors and the route
/// requirements find it.
pub struct Authenticator {
    verifier: Arc<Verifier>,
    sources: TokenSources,
    dpop: Dpop,
    certificates: CertificateBinding,
    challenge: Arc<Challenge>,
}

/// The result the middleware hands back to `HttpAuthentication`.
type Authenticated = Result<ServiceRequest, (Error, ServiceRequest)>;

impl Authenticator {
    /// The adapter over `verifier`, reading tokens from `sources`, judging DPoP by `dpop` and
    /// certificate binding by `certificates`, and answering refusals with `challenge`.
    pub fn new(
        verifier: Arc<Verifier>,
        sources: TokenSources,
        dpop: Dpop,
        certificates: CertificateBinding,
        challenge: Challenge,
    ) -> Arc<Self> {
        Arc::new(Self {
            verifier,
            sources,
            dpop,
            certificates,
            challenge: Arc::new(challenge),
        })
    }

    /// The verifier, for readiness reports and metrics.
    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    /// The DPoP rules, for documents that describe them (metadata, OpenAPI).
    pub fn dpop(&self) -> &Dpop {
        &self.dpop
    }

    /// The middleware guarding a scope: every request needs a valid token, and carries its
    /// caller on to the handler.
    pub fn bearer(
        self: &Arc<Self>,
    ) -> HttpAuthentication<
        (),
        impl Fn(ServiceRequest, ()) -> LocalBoxFuture<'static, Authenticated> + use<>,
    > {
        let authenticator = Arc::clone(self);
        HttpAuthentication::with_fn(move |req, ()| -> LocalBoxFuture<'static, Authenticated> {
            Box::pin(Arc::clone(&authenticator).authenticate(req, false))
        })
    }

    /// Reads, verifies and admits the request's credential, or hands the request back with the
    /// rejection. Where authentication is `optional`, a request without a credential passes
    /// without a caller, carrying this authenticator so a handler reading `Caller` (rather than
    /// `Option<Caller>`) still gets the 401.
    pub(super) async fn authenticate(
        self: Arc<Self>,
        req: ServiceRequest,
        optional: bool,
    ) -> Authenticated {
        match BearerToken::from_headers(req.request(), &self) {
            Ok(credentials) => self.validate(req, credentials).await,
            Err(AuthError::MissingCredentials) if optional => {
                req.extensions_mut().insert(self);
                Ok(req)
            }
            Err(error) => {
                let rejection = self.refuse(req.request(), error);
                Err((rejection.into(), req))
            }
        }
    }

    /// Logs and counts a refusal, and makes it the rejection answered with this challenge.
    pub(super) fn refuse(&self, req: &HttpRequest, error: AuthError) -> Rejection {
        super::rejection::log_rejection(self.verifier.observer(), req, error);
        Rejection::new(error, Arc::clone(&self.challenge))
    }

    /// The challenge every refusal names.
    pub(super) fn challenge(&self) -> Arc<Challenge> {
        Arc::clone(&self.challenge)
    }

    /// Verifies the token and attaches its caller to the request.
    async fn validate(
        self: Arc<Self>,
        req: ServiceRequest,
        credentials: BearerToken,
    ) -> Authenticated {
        let verified = self
            .verifier
            .verify(credentials.token())
            .await
            .and_then(|caller| {
                if self
                    .sources
                    .accepts(credentials.source, caller.trusted_issuer())
                {
                    Ok(caller)
                } else {
                    Err(TokenError::WrongHeader.into())
                }
            })
            .and_then(|caller| {
                // First, so that a certificate binding no header is read for is named as such.
                self.certificates
                    .check(&caller, req.headers())
                    .map(|()| caller)
            });
        // A cached token still has this request's proof checked.
        let verified = match verified {
            Ok(caller) => self
                .dpop
                .check(
                    &caller,
                    credentials.token(),
                    credentials.scheme,
                    credentials.proof.as_deref(),
                    req.method().as_str(),
                    req.path(),
                )
                .await
                .map(|()| caller),
            Err(error) => Err(error),
        };
        match verified {
            Ok(caller) => {
                self.verifier.observer().request_accepted();
                let mut extensions = req.extensions_mut();
                extensions.insert(caller);
                if credentials.scheme == Scheme::Dpop {
                    // So that a refusal further in (scope, role, step-up) names the DPoP challenge.
                    extensions.insert(Scheme::Dpop);
                }
                drop(extensions);
                req.extensions_mut().insert(self);
                Ok(req)
            }
            Err(error) => {
                let mut rejection = self
                    .refuse(req.request(), error)
                    .answering_dpop(credentials.scheme == Scheme::Dpop);
                if error == AuthError::InvalidDpopProof(ProofError::NonceRequired) {
                    rejection = rejection.with_dpop_nonce(self.dpop.nonce());
                }
                Err((rejection.into(), req))
            }
        }
    }
}

/// The header a DPoP proof arrives in (RFC 9449 §4.1).
const DPOP: HeaderName = HeaderName::from_static("dpop");

/// A syntactically valid token from the header it is configured to arrive in (by default
/// `Authorization: Bearer`, RFC 6750 §2.1), and which of the [`TokenSources`] that was.
pub(super) struct BearerToken {
    token: String,
    source: SourceIndex,
    /// `DPoP` when sent with that scheme in `Authorization`, with its proof, if one came.
    scheme: Scheme,
    proof: Option<String>,
}

impl BearerToken {
    /// The token as sent.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub(super) fn from_headers(
        req: &HttpRequest,
        authenticator: &Authenticator,
    ) -> Result<Self, AuthError> {
        let headers = req.headers();
        let (source, location) = authenticator
            .sources
            .find(|name| headers.contains_key(name))
            .ok_or(AuthError::MissingCredentials)?;
        let in_authorization = location.header == AUTHORIZATION;
        let mut values = headers.get_all(&location.header);
        let value = values.next().ok_or(AuthError::MissingCredentials)?;
        if values.next().is_some() {
            return Err(AuthError::InvalidRequest(if in_authorization {
                "multiple Authorization headers"
            } else {
                "multiple token headers"
            }));
        }
        let prefix = location.prefix.as_bytes();
        // One pass over the token's bytes on the way in: a token that passes the b64token check
        // is ASCII, so the header's own text check is needed only to name a rejection.
        let (scheme, credentials) = if prefix.is_empty() {
            (prefix, value.as_bytes())
        } else {
            split_once_space(value.as_bytes())
        };
        let token = trim_spaces(credentials);
        let dpop = in_authorization
            && scheme.eq_ignore_ascii_case(b"dpop")
            && authenticator.dpop.accepts_dpop();
        let scheme_matches = dpop || scheme.eq_ignore_ascii_case(prefix);
        if scheme_matches
            && is_b64token(token)
            && let Ok(token) = std::str::from_utf8(token)
        {
            let (scheme, proof) = match dpop {
                true => (Scheme::Dpop, proof_of(req)?),
                false => (Scheme::Bearer, None),
            };
            return Ok(Self {
                token: token.to_owned(),
                source,
                scheme,
                proof,
            });
        }
        if value.to_str().is_err() {
            return Err(AuthError::InvalidRequest(if in_authorization {
                "malformed Authorization header"
            } else {
                "malformed token header"
            }));
        }
        if !scheme_matches {
            // Another scheme is no bearer credential at all: challenge without error (§3.1).
            return Err(AuthError::MissingCredentials);
        }
        if token.is_empty() {
            return Err(AuthError::InvalidRequest("empty bearer token"));
        }
        Err(AuthError::InvalidRequest("malformed bearer token"))
    }
}

/// The auth-scheme and what follows its first space (RFC 7235 §2.1).
fn split_once_space(value: &[u8]) -> (&[u8], &[u8]) {
    match value.iter().position(|&b| b == b' ') {
        Some(at) => (&value[..at], &value[at + 1..]),
        None => (value, &[]),
    }
}

/// The one `DPoP` header's proof, if any; several are refused (RFC 9449 §4.3).
fn proof_of(req: &HttpRequest) -> Result<Option<String>, AuthError> {
    let mut proofs = req.headers().get_all(DPOP);
    let Some(proof) = proofs.next() else {
        return Ok(None);
    };
    if proofs.next().is_some() {
        return Err(AuthError::InvalidRequest("multiple DPoP proofs"));
    }
    match proof.to_str() {
        Ok(proof) => Ok(Some(proof.trim().to_owned())),
        Err(_) => Err(AuthError::InvalidRequest("malformed DPoP header")),
    }
}

fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}
