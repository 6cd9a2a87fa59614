//! Adapts the verifier to actix-web-httpauth's `HttpAuthentication` middleware: extracts the
//! bearer credential, verifies it, and hands the claims to handlers through the request.
//!
//! actix-web-httpauth's own `BearerAuth` matches the scheme case-sensitively and answers every
//! extraction failure with an empty 401; RFC 7235 makes the scheme case-insensitive and this
//! service answers every error with problem details, so [`BearerToken`] extracts the credential
//! and the crate's middleware keeps the control flow.

use std::future::{Ready, ready};

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};

use super::error::{AuthError, Challenge, Rejection, log_rejection};
use super::verifier::Verifier;

/// A syntactically valid bearer token from the `Authorization` header (RFC 6750 §2.1).
pub struct BearerToken(String);

impl BearerToken {
    /// The token as sent.
    pub fn token(&self) -> &str {
        &self.0
    }

    fn from_headers(req: &HttpRequest) -> Result<Self, AuthError> {
        let mut values = req.headers().get_all(AUTHORIZATION);
        let value = values.next().ok_or(AuthError::MissingCredentials)?;
        if values.next().is_some() {
            return Err(AuthError::InvalidRequest("multiple Authorization headers"));
        }
        let value = value
            .to_str()
            .map_err(|_| AuthError::InvalidRequest("malformed Authorization header"))?;
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme is no bearer credential at all: challenge without error (§3.1).
            return Err(AuthError::MissingCredentials);
        }
        let token = credentials.trim_matches(' ');
        if token.is_empty() {
            return Err(AuthError::InvalidRequest("empty bearer token"));
        }
        if !is_b64token(token) {
            return Err(AuthError::InvalidRequest("malformed bearer token"));
        }
        Ok(Self(token.to_owned()))
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN[usize::from(b)])
}

/// The b64token characters, as a table: the check runs over every byte of every token.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        byte += 1;
    }
    table
};

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
    let Some(verifier) = req.app_data::<web::Data<Verifier>>().cloned() else {
        log::error!("no verifier is registered for {}", req.path());
        let rejection = Rejection::new(AuthError::KeysUnavailable, Challenge::of(req.request()));
        return Err((rejection.into(), req));
    };
    match verifier.verify(credentials.token()).await {
        Ok(claims) => {
            if let Some(metrics) = req.app_data::<web::Data<crate::metrics::Metrics>>() {
                metrics.auth_outcome("accepted");
            }
            req.extensions_mut().insert(claims);
            Ok(req)
        }
        Err(error) => {
            log_rejection(req.request(), error);
            let rejection = Rejection::new(error, Challenge::of(req.request()));
            Err((rejection.into(), req))
        }
    }
}
