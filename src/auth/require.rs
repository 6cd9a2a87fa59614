//! Permission requirements, declared on each route where the route is declared:
//!
//! ```text
//! web::get().to(items::list).wrap(require.scope("items:read"))
//! ```
//!
//! Every scope declared this way is recorded, so the RFC 9728 metadata lists exactly the scopes
//! the routes require. A caller without the permission gets 403 `insufficient_scope`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, FromRequest};
use futures_util::future::LocalBoxFuture;

use super::caller::Caller;
use super::error::{AuthError, Challenge, Rejection, log_rejection};

/// What a route demands of its caller.
#[derive(Debug, Clone, Copy)]
enum Requirement {
    Scope(&'static str),
    Role(&'static str),
}

/// Declares requirements and remembers every scope declared. Cloned into each worker; all
/// clones share one record.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    scopes: Arc<Mutex<BTreeSet<&'static str>>>,
}

impl Requirements {
    /// Middleware admitting only callers granted `scope` (from `scope`, `scp` or `permissions`).
    pub fn scope(&self, scope: &'static str) -> Require {
        self.scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(scope);
        Require(Requirement::Scope(scope))
    }

    /// Middleware admitting only callers holding `role` (from the configured roles claim).
    pub fn role(&self, role: &'static str) -> Require {
        Require(Requirement::Role(role))
    }

    /// Every scope some route requires, sorted.
    pub fn scopes(&self) -> Vec<&'static str> {
        self.scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

/// The middleware for one requirement; see [`Requirements`].
pub struct Require(Requirement);

impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireService {
            requirement: self.0,
            service: Rc::new(service),
        }))
    }
}

#[doc(hidden)]
pub struct RequireService<S> {
    requirement: Requirement,
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for RequireService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let requirement = self.requirement;
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let caller = match Caller::extract(req.request()).await {
                Ok(caller) => caller,
                Err(rejection) => return Ok(req.error_response(rejection).map_into_right_body()),
            };
            let refusal = match requirement {
                Requirement::Scope(scope) if !caller.has_scope(scope) => {
                    Some(AuthError::InsufficientScope(scope))
                }
                Requirement::Role(role) if !caller.has_role(role) => {
                    Some(AuthError::MissingRole(role))
                }
                _ => None,
            };
            match refusal {
                None => service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body),
                Some(error) => {
                    log_rejection(req.request(), error);
                    let rejection = Rejection::new(error, Challenge::of(req.request()));
                    Ok(req.error_response(rejection).map_into_right_body())
                }
            }
        })
    }
}
