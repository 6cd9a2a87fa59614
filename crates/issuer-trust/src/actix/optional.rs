//! Optional authentication, for routes that serve anonymous callers and personalise for
//! authenticated ones: no credential passes through without a caller (the handler's
//! `Option<Caller>` is `None`); a credential present is verified exactly as the bearer
//! middleware verifies it, and a malformed one is still a 400, an invalid one still a 401.

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use super::bearer::{Authenticator, BearerToken};
use crate::error::AuthError;

/// The middleware of [`Requirement::Optional`](super::Requirement::Optional) routes, for
/// `actix_web::middleware::from_fn` around a closure holding the `authenticator`.
pub async fn optional_bearer(
    authenticator: Arc<Authenticator>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let verified = match BearerToken::from_headers(req.request(), &authenticator) {
        Err(AuthError::MissingCredentials) => {
            // So that a handler reading `Caller` rather than `Option<Caller>` gets the 401.
            req.extensions_mut().insert(authenticator);
            Ok(req)
        }
        _ => authenticator.authenticate(req).await,
    };
    match verified {
        Ok(req) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err((error, req)) => Ok(req.error_response(error).map_into_right_body()),
    }
}
