//! Optional authentication, for routes that serve anonymous callers and personalise for
//! authenticated ones: no credential passes through without a caller (the handler's
//! `Option<Caller>` is `None`); a credential present is verified exactly as the bearer
//! middleware verifies it, and a malformed one is still a 400, an invalid one still a 401.

use std::sync::Arc;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::bearer::Authenticator;

/// The middleware of [`Requirement::Optional`](super::Requirement::Optional) routes, for
/// `actix_web::middleware::from_fn` around a closure holding the `authenticator`.
pub async fn optional_bearer(
    authenticator: Arc<Authenticator>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    match authenticator.authenticate(req, true).await {
        Ok(req) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err((error, req)) => Ok(req.error_response(error).map_into_right_body()),
    }
}
