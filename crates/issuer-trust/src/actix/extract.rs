//! The extractors handlers read the caller with: what the bearer middleware put on the request.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::rejection::{Challenge, Rejection, log_rejection};
use crate::caller::Caller;
use crate::claims::VerifiedClaims;
use crate::error::{AuthError, TokenError};

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

/// The caller's verified claims read into a type of the handler's own, e.g. a struct with the
/// custom claims a route needs (`Claims<OrderClaims>`). Only verified claims are read, never
/// the token. A token whose claims do not fit the type (a member missing or of another type)
/// is refused as an invalid token (401, "malformed claims"), so a handler never runs on
/// claims it cannot read; an absent caller is the same 401 as for [`Caller`].
///
/// ```
/// use issuer_trust::actix::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct OrderClaims {
///     sub: String,
///     tenant: String,
/// }
///
/// async fn orders(claims: Claims<OrderClaims>) -> String {
///     format!("orders of {} in {}", claims.sub, claims.tenant)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<T> Claims<T> {
    /// The claims, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Claims<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Claims<T> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(caller_of(req).and_then(|caller| {
            caller.claims().read_as().map(Claims).map_err(|_| {
                let error = TokenError::MalformedClaims.into();
                log_rejection(req, error);
                Rejection::new(error, Challenge::of(req))
            })
        }))
    }
}

/// The caller the bearer middleware put on the request, or a 401 where it put none.
fn caller_of(req: &HttpRequest) -> Result<Caller, Rejection> {
    let caller = req.extensions().get::<Caller>().cloned();
    caller.ok_or_else(|| Rejection::new(AuthError::MissingCredentials, Challenge::of(req)))
}
