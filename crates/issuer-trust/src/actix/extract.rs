//! The extractors handlers read the caller with: what the bearer middleware put on the request.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::rejection::{Challenge, Rejection};
use crate::caller::Caller;
use crate::claims::VerifiedClaims;
use crate::error::AuthError;

/// Available on routes behind the bearer middleware, which puts the caller (built with its
/// issuer's roles claim) on the request; elsewhere it fails closed with a 401.
impl FromRequest for Caller {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(caller_of(req))
    }
}

/// The caller's claims, for handlers that want nothing else; the same 401 elsewhere. A clone,
/// whose count every worker answering the same token writes: on a hot route, take the
/// `Caller` and borrow its `claims()`.
impl FromRequest for VerifiedClaims {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(caller_of(req).map(|caller| caller.claims().clone()))
    }
}

/// The caller the bearer middleware put on the request, or a 401 where it put none.
fn caller_of(req: &HttpRequest) -> Result<Caller, Rejection> {
    let caller = req.extensions().get::<Caller>().cloned();
    caller.ok_or_else(|| Rejection::new(AuthError::MissingCredentials, Challenge::of(req)))
}
