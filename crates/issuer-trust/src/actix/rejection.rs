//! Authentication failures as HTTP, in one place: RFC 6750 challenges in `WWW-Authenticate`,
//! RFC 9457 problem bodies, and the log line and count of each rejection. A service that
//! writes its error bodies itself (adding members of its own) finds the [`Rejection`] on the
//! error response and takes its [`Rejection::problem`], keeping the headers.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};

use super::problem::{PROBLEM_JSON, Problem};
use crate::error::{AuthError, ProofError};
use crate::observer::Observer;
use crate::step_up::StepUp;

/// The response header carrying a server nonce (RFC 9449 §8.1).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Seconds a client is told to wait while no signing keys are loaded.
const RETRY_AFTER_SECONDS: &str = "5";

/// Seconds a DPoP client is told to wait while the shared replay store does not answer.
const STORE_RETRY_AFTER_SECONDS: &str = "1";

/// Logs a rejection with its method, path, request id and reason, never the token (ours, no
/// keys, at warn; the client's at debug), and counts it by reason.
pub(super) fn log_rejection(
    observer: &dyn Observer,
    req: &actix_web::HttpRequest,
    error: AuthError,
) {
    observer.request_refused(error.reason());
    if let AuthError::ReplayStoreFull { .. } = error {
        observer.replay_store_full();
    }
    let level = match error {
        AuthError::KeysUnavailable
        | AuthError::ReplayStoreFull { .. }
        | AuthError::ReplayStoreUnavailable => log::Level::Warn,
        _ => log::Level::Debug,
    };
    log::log!(
        level,
        "{} {}: rejected: {}",
        req.method(),
        req.path(),
        error.reason()
    );
}

/// What every challenge names: the realm and where the RFC 9728 metadata lives; and which
/// schemes are offered: `Bearer` unless every issuer requires DPoP, `DPoP` with the proof
/// algorithms (space-separated) where some issuer accepts it.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The `realm` every challenge names.
    pub realm: String,
    /// The URL of the RFC 9728 metadata, named as `resource_metadata`.
    pub resource_metadata: String,
    /// Whether the `Bearer` scheme is offered (some issuer accepts unbound tokens).
    pub bearer: bool,
    /// The DPoP proof algorithms, space-separated, where some issuer accepts DPoP.
    pub dpop_algs: Option<String>,
    /// What every problem `type` starts with, e.g. `tag:my-api,2026:problems/`: the slug of
    /// the rejection (`invalid-token`) follows it.
    pub problem_types: String,
}

impl Challenge {
    /// A `WWW-Authenticate` value, with `error` and `error_description` when given, and the
    /// scope or the step-up (RFC 9470 §3) the client must obtain.
    fn header_value(
        &self,
        scheme: Scheme,
        error: Option<(&str, &str)>,
        scope: Option<&str>,
        step_up: Option<&StepUp>,
    ) -> String {
        let mut value = match (scheme, &self.dpop_algs) {
            (Scheme::Dpop, Some(algs)) => format!("DPoP algs=\"{algs}\", "),
            _ => "Bearer ".to_owned(),
        };
        value.push_str(&format!(
            "realm=\"{}\", resource_metadata=\"{}\"",
            quote(&self.realm),
            quote(&self.resource_metadata)
        ));
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
    /// What failed.
    pub error: AuthError,
    challenge: Arc<Challenge>,
    /// The route's step-up demand, named in the challenge of
    /// [`AuthError::InsufficientUserAuthentication`].
    step_up: Option<Arc<StepUp>>,
    /// A fresh server nonce, sent as `DPoP-Nonce` with `use_dpop_nonce` (RFC 9449 §8).
    dpop_nonce: Option<String>,
    /// Whether the request used the `DPoP` scheme: its error then goes on the DPoP challenge.
    dpop_request: bool,
}

impl Rejection {
    /// The rejection of `error`, answered with `challenge`.
    pub fn new(error: AuthError, challenge: Arc<Challenge>) -> Self {
        Self {
            error,
            challenge,
            step_up: None,
            dpop_nonce: None,
            dpop_request: false,
        }
    }

    /// Marks the rejection as the answer to a request sent with the `DPoP` scheme (§7.1).
    pub fn answering_dpop(mut self, dpop_request: bool) -> Self {
        self.dpop_request = dpop_request;
        self
    }

    /// Sends `nonce` as the `DPoP-Nonce` the client must put in its next proof.
    pub fn with_dpop_nonce(mut self, nonce: Option<String>) -> Self {
        self.dpop_nonce = nonce;
        self
    }

    /// Names `step_up`, the demand the token fell short of, in the challenge.
    pub fn for_step_up(mut self, step_up: Arc<StepUp>) -> Self {
        self.step_up = Some(step_up);
        self
    }
}

/// An auth-scheme a challenge offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

impl Rejection {
    /// The challenges to send, and which carries the error: a proof's error, and any error of
    /// a request sent with the `DPoP` scheme, goes on `DPoP`'s; any other on `Bearer`'s where
    /// bearer tokens are accepted. A 403 names only the scheme
    /// with the error; a 401 offers every scheme accepted (RFC 9449 §7.1).
    fn schemes(&self, status: StatusCode) -> Vec<(Scheme, bool)> {
        let dpop = self.challenge.dpop_algs.is_some();
        let bearer = self.challenge.bearer || !dpop;
        let proof_error = matches!(self.error, AuthError::InvalidDpopProof(_));
        let error_on_dpop = proof_error || (self.dpop_request && dpop) || !bearer;
        let mut schemes = Vec::with_capacity(2);
        if bearer && (status == StatusCode::UNAUTHORIZED || !error_on_dpop) {
            schemes.push((Scheme::Bearer, !error_on_dpop));
        }
        if dpop && (status == StatusCode::UNAUTHORIZED || error_on_dpop) {
            schemes.push((Scheme::Dpop, error_on_dpop));
        }
        schemes
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
            | AuthError::InvalidDpopProof(_)
            | AuthError::InsufficientUserAuthentication => StatusCode::UNAUTHORIZED,
            AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope(_) | AuthError::MissingRole(_) => StatusCode::FORBIDDEN,
            AuthError::KeysUnavailable
            | AuthError::ReplayStoreFull { .. }
            | AuthError::ReplayStoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let problem = self.problem();
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        match self.error {
            AuthError::KeysUnavailable => {
                response.insert_header((RETRY_AFTER, RETRY_AFTER_SECONDS));
            }
            AuthError::ReplayStoreFull { retry_after } => {
                response.insert_header((RETRY_AFTER, retry_after.to_string()));
            }
            AuthError::ReplayStoreUnavailable => {
                response.insert_header((RETRY_AFTER, STORE_RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        if let Some(nonce) = &self.dpop_nonce {
            response.insert_header((DPOP_NONCE, nonce.as_str()));
        }
        let scope = match self.error {
            AuthError::InsufficientScope(scope) => Some(scope),
            _ => None,
        };
        let oauth_error = problem.error.zip(problem.error_description);
        if !matches!(
            self.error,
            AuthError::KeysUnavailable
                | AuthError::ReplayStoreFull { .. }
                | AuthError::ReplayStoreUnavailable
        ) {
            for (scheme, with_error) in self.schemes(status) {
                let error = oauth_error.filter(|_| with_error);
                let step_up = self.step_up.as_deref();
                let value = self.challenge.header_value(scheme, error, scope, step_up);
                response.append_header((WWW_AUTHENTICATE, value));
            }
        }
        response.json(&problem)
    }
}

impl Rejection {
    /// The body this rejection is answered with: its problem type (after the challenge's
    /// `problem_types`), title, status and fixed detail, and the RFC 6750 error where there is
    /// one. Never a token, a key or a library's message.
    pub fn problem(&self) -> Problem {
        let reason = self.error.reason();
        let (slug, title, detail, error): (_, _, String, _) = match self.error {
            AuthError::MissingCredentials => (
                "missing-credentials",
                "Unauthorized",
                "a bearer token is required".to_owned(),
                None,
            ),
            AuthError::InvalidRequest(_) => (
                "invalid-request",
                "Bad Request",
                reason.to_owned(),
                Some("invalid_request"),
            ),
            AuthError::InvalidToken(_) => (
                "invalid-token",
                "Unauthorized",
                reason.to_owned(),
                Some("invalid_token"),
            ),
            AuthError::InsufficientScope(scope) => (
                "insufficient-scope",
                "Forbidden",
                format!("this route requires the scope {scope}"),
                Some("insufficient_scope"),
            ),
            AuthError::MissingRole(role) => (
                "insufficient-role",
                "Forbidden",
                format!("this route requires the role {role}"),
                Some("insufficient_scope"),
            ),
            AuthError::InvalidDpopProof(ProofError::NonceRequired) => (
                "use-dpop-nonce",
                "Unauthorized",
                reason.to_owned(),
                Some("use_dpop_nonce"),
            ),
            AuthError::InvalidDpopProof(_) => (
                "invalid-dpop-proof",
                "Unauthorized",
                reason.to_owned(),
                Some("invalid_dpop_proof"),
            ),
            AuthError::InsufficientUserAuthentication => (
                "insufficient-user-authentication",
                "Unauthorized",
                reason.to_owned(),
                Some("insufficient_user_authentication"),
            ),
            AuthError::KeysUnavailable => (
                "issuer-unavailable",
                "Service Unavailable",
                "the token issuer's signing keys are not available yet; retry shortly".to_owned(),
                None,
            ),
            AuthError::ReplayStoreFull { .. } => (
                "dpop-replay-store-full",
                "Service Unavailable",
                "too many DPoP proofs are held here to remember another; retry shortly".to_owned(),
                None,
            ),
            AuthError::ReplayStoreUnavailable => (
                "dpop-replay-store-unavailable",
                "Service Unavailable",
                "DPoP proofs cannot be checked for replay right now; retry shortly".to_owned(),
                None,
            ),
        };
        Problem {
            error,
            error_description: error.map(|_| reason),
            ..Problem::new(
                self.status_code(),
                format!("{}{slug}", self.challenge.problem_types),
                title,
                detail,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TokenError;

    #[test]
    fn a_rejection_displays_its_fixed_reason() {
        let challenge = Arc::new(Challenge {
            realm: "r".to_owned(),
            resource_metadata: String::new(),
            bearer: true,
            dpop_algs: None,
            problem_types: String::new(),
        });
        let rejection = Rejection::new(TokenError::Expired.into(), challenge);
        assert_eq!(rejection.to_string(), "token expired");
    }

    #[test]
    fn challenge_values_escape_quotes() {
        let challenge = Challenge {
            realm: r#"a"b\c"#.to_owned(),
            resource_metadata: "https://x/.well-known/oauth-protected-resource".to_owned(),
            bearer: true,
            dpop_algs: None,
            problem_types: String::new(),
        };
        let error = Some(("invalid_token", "token expired"));
        assert_eq!(
            challenge.header_value(Scheme::Bearer, error, None, None),
            r#"Bearer realm="a\"b\\c", resource_metadata="https://x/.well-known/oauth-protected-resource", error="invalid_token", error_description="token expired""#
        );
    }
}
