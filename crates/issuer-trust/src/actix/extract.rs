//! The extractors handlers read the caller with: what the bearer middleware put on the request.

use std::future::{Ready, ready};

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::error::ErrorInternalServerError;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::bearer::Authenticator;
use super::rejection::Rejection;
use crate::caller::Caller;
use crate::claims::VerifiedClaims;
use crate::error::{AuthError, TokenError};

/// Available on routes behind the bearer middleware, which puts the caller (built with its
/// issuer's roles claim) on the request. On a route no authentication middleware guards it
/// fails closed: a 500, logged as the mistake in the routing it is.
impl FromRequest for Caller {
    type Error = Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(caller_of(req))
    }
}

/// The caller's claims, for handlers that want nothing else; the same 401 elsewhere. A clone,
/// whose count every worker answering the same token writes: on a hot route, take the
/// `Caller` and borrow its `claims()`.
impl FromRequest for VerifiedClaims {
    type Error = Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(caller_of(req).map(|caller| caller.claims().clone()))
    }
}

/// The caller's verified claims read into a type of the handler's own, e.g. a struct with the
/// custom claims a route needs (`Claims<OrderClaims>`). Only verified claims are read, never
/// the token. A token whose claims do not fit the type (a member missing or of another type)
/// is refused as an invalid token (401, "malformed claims"), so a handler never runs on
/// claims it cannot read; an absent caller is answered as for [`Caller`].
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
    type Error = Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(caller_of(req).and_then(|caller| {
            caller.claims().read_as().map(Claims).map_err(|_| {
                let error = TokenError::MalformedClaims.into();
                authenticator_of(req)
                    .map_or_else(|error| error, |auth| auth.refuse(req, error).into())
            })
        }))
    }
}

/// The caller the bearer middleware put on the request; a 401 on a route whose middleware
/// let the request through without one (optional authentication, no token sent).
pub(super) fn caller_of(req: &HttpRequest) -> Result<Caller, Error> {
    if let Some(caller) = req.extensions().get::<Caller>() {
        return Ok(caller.clone());
    }
    let challenge = authenticator_of(req)?.challenge();
    Err(Rejection::new(AuthError::MissingCredentials, challenge).into())
}

/// The authenticator the middleware that let this request through put on it; where none did,
/// the route is not guarded, and a handler that reads a caller there is a mistake: it fails
/// closed, as a 500, and is logged.
pub(super) fn authenticator_of(req: &HttpRequest) -> Result<Arc<Authenticator>, Error> {
    let authenticator = req.extensions().get::<Arc<Authenticator>>().cloned();
    authenticator.ok_or_else(|| {
        log::error!(
            "{} {}: the route reads the caller but no authentication middleware guards it",
            req.method(),
            req.path()
        );
        ErrorInternalServerError("no authentication middleware guards this route")
    })
}
