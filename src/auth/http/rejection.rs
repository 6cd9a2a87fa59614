//! Authentication failures as HTTP, in one place: RFC 6750 challenges in `WWW-Authenticate`,
//! RFC 9457 problem bodies, and the log line and metric of each rejection.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError, web};

use crate::auth::error::AuthError;
use crate::auth::step_up::StepUp;
use crate::problem::Problem;

/// Seconds a client is told to wait while no signing keys are loaded.
const RETRY_AFTER_SECONDS: &str = "5";

/// Logs a rejection with its method, path, request id and reason, never the token (ours, no
/// keys, at warn; the client's at debug), and counts it by reason.
pub fn log_rejection(req: &actix_web::HttpRequest, error: AuthError) {
    if let Some(metrics) = req.app_data::<web::Data<crate::metrics::Metrics>>() {
        metrics.auth_rejected(error.reason());
    }
    let level = match error {
        AuthError::KeysUnavailable => log::Level::Warn,
        _ => log::Level::Debug,
    };
    log::log!(
        level,
        "{} {} id={}: rejected: {}",
        req.method(),
        req.path(),
        crate::request_id::of(req),
        error.reason()
    );
}

/// What every challenge names: the realm and where the RFC 9728 metadata lives.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub realm: String,
    pub resource_metadata: String,
}

impl Challenge {
    /// The application's challenge, or a bare one naming the package if none is registered.
    pub fn of(req: &actix_web::HttpRequest) -> web::Data<Challenge> {
        req.app_data::<web::Data<Challenge>>()
            .cloned()
            .unwrap_or_else(|| {
                web::Data::new(Challenge {
                    realm: env!("CARGO_PKG_NAME").to_owned(),
                    resource_metadata: String::new(),
                })
            })
    }

    /// A `WWW-Authenticate` value, with `error` and `error_description` when given, and the
    /// scope or the step-up (RFC 9470 §3) the client must obtain.
    fn header_value(
        &self,
        error: Option<(&str, &str)>,
        scope: Option<&str>,
        step_up: Option<&StepUp>,
    ) -> String {
        let mut value = format!(
            "Bearer realm=\"{}\", resource_metadata=\"{}\"",
            quote(&self.realm),
            quote(&self.resource_metadata)
        );
        if let Some((code, description)) = error {
            value.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quote(description)
            ));
        }
        if let Some(scope) = scope {
            value.push_str(&format!(", scope=\"{}\"", quote(scope)));
        }
        if let Some(step_up) = step_up {
            if !step_up.acr_values().is_empty() {
                let acr_values = step_up.acr_values().join(" ");
                value.push_str(&format!(", acr_values=\"{}\"", quote(&acr_values)));
            }
            if let Some(max_age) = step_up.max_age() {
                value.push_str(&format!(", max_age=\"{max_age}\""));
            }
        }
        value
    }
}

/// Escapes a value for an RFC 9110 quoted-string.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// An [`AuthError`] ready to become a response: it carries the challenge it must send.
#[derive(Debug)]
pub struct Rejection {
    pub error: AuthError,
    challenge: web::Data<Challenge>,
    /// The route's step-up demand, named in the challenge of
    /// [`AuthError::InsufficientUserAuthentication`].
    step_up: Option<Arc<StepUp>>,
}

impl Rejection {
    pub fn new(error: AuthError, challenge: web::Data<Challenge>) -> Self {
        Self {
            error,
            challenge,
            step_up: None,
        }
    }

    /// A token that fell short of `step_up`.
    pub fn insufficient_authentication(
        challenge: web::Data<Challenge>,
        step_up: Arc<StepUp>,
    ) -> Self {
        Self {
            error: AuthError::InsufficientUserAuthentication,
            challenge,
            step_up: Some(step_up),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error.reason())
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        match self.error {
            AuthError::MissingCredentials
            | AuthError::InvalidToken(_)
            | AuthError::InsufficientUserAuthentication => StatusCode::UNAUTHORIZED,
            AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope(_) | AuthError::MissingRole(_) => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let reason = self.error.reason();
        let (problem, oauth_error) = match self.error {
            AuthError::MissingCredentials => (
                Problem::new(
                    status,
                    "missing-credentials",
                    "Unauthorized",
                    "a bearer token is required",
                ),
                None,
            ),
            AuthError::InvalidRequest(_) => (
                Problem::new(status, "invalid-request", "Bad Request", reason)
                    .with_oauth_error("invalid_request", reason),
                Some("invalid_request"),
            ),
            AuthError::InvalidToken(_) => (
                Problem::new(status, "invalid-token", "Unauthorized", reason)
                    .with_oauth_error("invalid_token", reason),
                Some("invalid_token"),
            ),
            AuthError::InsufficientScope(scope) => (
                Problem::new(
                    status,
                    "insufficient-scope",
                    "Forbidden",
                    format!("this route requires the scope {scope}"),
                )
                .with_oauth_error("insufficient_scope", reason),
                Some("insufficient_scope"),
            ),
            AuthError::MissingRole(role) => (
                Problem::new(
                    status,
                    "insufficient-role",
                    "Forbidden",
                    format!("this route requires the role {role}"),
                )
                .with_oauth_error("insufficient_scope", reason),
                Some("insufficient_scope"),
            ),
            AuthError::InsufficientUserAuthentication => (
                Problem::new(
                    status,
                    "insufficient-user-authentication",
                    "Unauthorized",
                    reason,
                )
                .with_oauth_error("insufficient_user_authentication", reason),
                Some("insufficient_user_authentication"),
            ),
            AuthError::KeysUnavailable => {
                let problem = Problem::new(
                    status,
                    "issuer-unavailable",
                    "Service Unavailable",
                    "the token issuer's signing keys are not available yet; retry shortly",
                );
                return problem
                    .response()
                    .insert_header((RETRY_AFTER, RETRY_AFTER_SECONDS))
                    .json(&problem);
            }
        };
        let scope = match self.error {
            AuthError::InsufficientScope(scope) => Some(scope),
            _ => None,
        };
        let challenge = self.challenge.header_value(
            oauth_error.map(|code| (code, reason)),
            scope,
            self.step_up.as_deref(),
        );
        problem
            .response()
            .insert_header((WWW_AUTHENTICATE, challenge))
            .json(&problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::error::TokenError;

    #[test]
    fn a_rejection_displays_its_fixed_reason() {
        let challenge = web::Data::new(Challenge {
            realm: "r".to_owned(),
            resource_metadata: String::new(),
        });
        let rejection = Rejection::new(TokenError::Expired.into(), challenge);
        assert_eq!(rejection.to_string(), "token expired");
    }

    #[test]
    fn challenge_values_escape_quotes() {
        let challenge = Challenge {
            realm: r#"a"b\c"#.to_owned(),
            resource_metadata: "https://x/.well-known/oauth-protected-resource".to_owned(),
        };
        assert_eq!(
            challenge.header_value(Some(("invalid_token", "token expired")), None, None),
            r#"Bearer realm="a\"b\\c", resource_metadata="https://x/.well-known/oauth-protected-resource", error="invalid_token", error_description="token expired""#
        );
    }
}
