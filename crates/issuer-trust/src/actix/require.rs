//! Permission requirements and the middleware enforcing them. Each route declares its own
//! where the route is declared (see `routes::endpoint`); a caller without the permission gets
//! 403 `insufficient_scope`, and then one whose authentication falls short of the route's
//! step-up 401 `insufficient_user_authentication` (RFC 9470).

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::get_current_timestamp;

use super::dpop::Scheme;
use super::extract::{authenticator_of, caller_of};
use crate::error::AuthError;
use crate::step_up::StepUp;

/// What a protected route demands of its caller beyond a valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A valid token and nothing more.
    Token,
    /// A scope granted in `scope`, `scp` or `permissions`.
    Scope(&'static str),
    /// A role held in the configured roles claim.
    Role(&'static str),
    /// No token, or a valid one: the handler reads `Option<Caller>`. For routes outside the
    /// bearer-guarded scope (inside it, a token is required whatever the route declares).
    Optional,
}

impl Requirement {
    /// The scope or role demanded, if any.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::Token | Self::Optional => None,
            Self::Scope(name) | Self::Role(name) => Some(name),
        }
    }

    /// The middleware enforcing a scope or role and then `step_up`, if any; `None` where
    /// there is nothing to add to the bearer middleware ([`Requirement::Token`] without step-up)
    /// and for [`Requirement::Optional`], whose middleware is
    /// [`optional_bearer`](super::optional_bearer).
    pub fn middleware(self, step_up: Option<Arc<StepUp>>) -> Option<Require> {
        let permission = matches!(self, Self::Scope(_) | Self::Role(_));
        (self != Self::Optional && (permission || step_up.is_some())).then_some(Require {
            requirement: self,
            step_up,
        })
    }
}

/// The middleware for one scope or role and a step-up; see [`Requirement::middleware`].
pub struct Require {
    requirement: Requirement,
    step_up: Option<Arc<StepUp>>,
}

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
            requirement: self.requirement,
            step_up: self.step_up.clone(),
            service: Rc::new(service),
        }))
    }
}

#[doc(hidden)]
pub struct RequireService<S> {
    requirement: Requirement,
    step_up: Option<Arc<StepUp>>,
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
        let step_up = self.step_up.clone();
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let caller = caller_of(req.request()).and_then(|caller| {
                authenticator_of(req.request()).map(|authenticator| (caller, authenticator))
            });
            let (caller, authenticator) = match caller {
                Ok(found) => found,
                Err(error) => return Ok(req.error_response(error).map_into_right_body()),
            };
            let refusal = match requirement {
                Requirement::Scope(scope) if !caller.has_scope(scope) => {
                    Some(AuthError::InsufficientScope(scope))
                }
                Requirement::Role(role) if !caller.has_role(role) => {
                    Some(AuthError::MissingRole(role))
                }
                Requirement::Token
                | Requirement::Optional
                | Requirement::Scope(_)
                | Requirement::Role(_) => None,
            };
            // The permission first: a caller without it is told so, not to authenticate again.
            let rejection = match (refusal, step_up) {
                (Some(error), _) => Some(authenticator.refuse(req.request(), error)),
                (None, Some(step_up))
                    if !step_up.is_met_by(caller.claims(), get_current_timestamp()) =>
                {
                    let refused = AuthError::InsufficientUserAuthentication;
                    let rejection = authenticator.refuse(req.request(), refused);
                    Some(rejection.for_step_up(step_up))
                }
                (None, _) => None,
            };
            let dpop = req.extensions().get::<Scheme>() == Some(&Scheme::Dpop);
            match rejection.map(|rejection| rejection.answering_dpop(dpop)) {
                None => service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body),
                Some(rejection) => Ok(req.error_response(rejection).map_into_right_body()),
            }
        })
    }
}
