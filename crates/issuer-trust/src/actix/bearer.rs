//! Adapts the verifier to actix-web-httpauth's `HttpAuthentication` middleware: extracts the
//! bearer credential from where its issuer sends it (see [`TokenSources`]), verifies it, and
//! hands the claims to handlers through the request.
//!
//! actix-web-httpauth's own `BearerAuth` matches the scheme case-sensitively and answers every
//! extraction failure with an empty 401; RFC 7235 makes the scheme case-insensitive and this
//! service answers every error with problem details, so [`BearerToken`] extracts the credential
//! and the crate's middleware keeps the control flow.

use std::future::{Ready, ready};

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::header::{AUTHORIZATION, HeaderName};
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};

use super::dpop::{Dpop, Scheme};
use super::rejection::{Challenge, Rejection, log_rejection};
use super::source::{SourceIndex, TokenSources};
use crate::charset::is_b64token;
use crate::error::{AuthError, ProofError, TokenError};
use crate::verifier::Verifier;

/// The header a DPoP proof arrives in (RFC 9449 §4.1).
const DPOP: HeaderName = HeaderName::from_static("dpop");

/// A syntactically valid token from the header it is configured to arrive in (by default
/// `Authorization: Bearer`, RFC 6750 §2.1), and which of the [`TokenSources`] that was.
pub struct BearerToken {
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

    pub(super) fn from_headers(req: &HttpRequest) -> Result<Self, AuthError> {
        let default;
        let sources = match req.app_data::<web::Data<TokenSources>>() {
            Some(sources) => sources.get_ref(),
            None => {
                default = TokenSources::default();
                &default
            }
        };
        let headers = req.headers();
        let (source, location) = sources
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
            && Dpop::of(req).accepts_dpop();
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

impl FromRequest for BearerToken {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Self::from_headers(req).map_err(|error| {
            log_rejection(req, error);
            Rejection::new(error, Challenge::of(req))
        }))
    }
}

/// Verifies the token and attaches its claims to the request, or hands the request back with
/// the rejection.
pub async fn validate(
    req: ServiceRequest,
    credentials: BearerToken,
) -> Result<ServiceRequest, (Error, ServiceRequest)> {
    // Borrowed, not cloned: a reference count every worker wrote on every request.
    let Some(verifier) = req.app_data::<web::Data<Verifier>>() else {
        log::error!("no verifier is registered for {}", req.path());
        let rejection = Rejection::new(AuthError::KeysUnavailable, Challenge::of(req.request()));
        return Err((rejection.into(), req));
    };
    let accepted_here = |issuer: &str| match req.app_data::<web::Data<TokenSources>>() {
        Some(sources) => sources.accepts(credentials.source, issuer),
        None => true,
    };
    let verified = verifier
        .verify(credentials.token())
        .await
        .and_then(|caller| {
            if accepted_here(caller.issuer()) {
                Ok(caller)
            } else {
                Err(TokenError::WrongHeader.into())
            }
        })
        .and_then(|caller| {
            // A cached token still has this request's proof checked.
            Dpop::of(req.request())
                .check(
                    &caller,
                    credentials.token(),
                    credentials.scheme,
                    credentials.proof.as_deref(),
                    req.method().as_str(),
                    req.path(),
                )
                .map(|()| caller)
        });
    match verified {
        Ok(caller) => {
            verifier.observer().request_accepted();
            let mut extensions = req.extensions_mut();
            extensions.insert(caller);
            if credentials.scheme == Scheme::Dpop {
                // So that a refusal further in (scope, role, step-up) names the DPoP challenge.
                extensions.insert(Scheme::Dpop);
            }
            drop(extensions);
            Ok(req)
        }
        Err(error) => {
            log_rejection(req.request(), error);
            let mut rejection = Rejection::new(error, Challenge::of(req.request()))
                .answering_dpop(credentials.scheme == Scheme::Dpop);
            if error == AuthError::InvalidDpopProof(ProofError::NonceRequired) {
                rejection = rejection.with_dpop_nonce(Dpop::of(req.request()).nonce());
            }
            Err((rejection.into(), req))
        }
    }
}
