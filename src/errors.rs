//! HTTP errors outside authentication, all as RFC 9457 problems: the API's own failures
//! ([`ApiError`]), JSON body errors, unknown routes and methods, and [`as_problem`], which turns
//! any other error response (the framework's own, a 500) into a problem carrying the request id.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{InternalError, JsonPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::auth::Rejection;
use crate::problem::{FieldError, PROBLEM_JSON, Problem, for_status, problem};
use crate::request_id::RequestId;

/// Failures of API handlers. Each resource converts its own store's errors into these, naming
/// itself where the client is told (`NotFound("item")`).
#[derive(Debug)]
pub enum ApiError {
    /// No such resource; holds its name, as in "no item with this id".
    NotFound(&'static str),
    /// The request clashes with the resource's state; holds why, for the client.
    Conflict(&'static str),
    Invalid(Vec<FieldError>),
    /// Ours; the message is logged (with the request id), never sent.
    Internal(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(resource) => write!(f, "no {resource} with this id"),
            Self::Conflict(why) => f.write_str(why),
            Self::Invalid(errors) => write!(f, "{} invalid field(s)", errors.len()),
            Self::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let problem = match self {
            Self::NotFound(_) => problem(status, "not-found", "Not Found", self.to_string()),
            Self::Conflict(why) => problem(status, "conflict", "Conflict", *why),
            Self::Invalid(errors) => problem(
                status,
                "validation-failed",
                "Unprocessable Content",
                "the request body has invalid fields",
            )
            .with_errors(errors.clone()),
            Self::Internal(_) => for_status(status),
        };
        problem.response().json(&problem)
    }
}

/// JSON bodies: at most `limit` bytes, `application/json` only, and every failure a problem
/// (413, 415 or 400) instead of the framework's plain text.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req: &HttpRequest| {
            let status = match &error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                JsonPayloadError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                _ => StatusCode::BAD_REQUEST,
            };
            let problem = match status {
                StatusCode::BAD_REQUEST => problem(
                    status,
                    "malformed-json",
                    "Bad Request",
                    "the request body is not valid JSON",
                ),
                _ => for_status(status),
            };
            let response = problem.response().json(&problem);
            InternalError::from_response(error, response).into()
        })
}

/// The default service: 404 for any path no route serves.
pub async fn not_found() -> HttpResponse {
    let problem = for_status(StatusCode::NOT_FOUND);
    problem.response().json(&problem)
}

/// Every error response as it leaves: the framework's own (plain text or empty, such as a 405)
/// and every 500, whatever it said, are replaced by the problem for their status, with
/// `request_id`, keeping their headers (`Allow`, `WWW-Authenticate`, CORS); a 500's cause is
/// logged, never sent. Problems of this service's own, which carry their request id from when they were made,
/// and other JSON bodies (the readiness report) pass as they are. No body is read, so the
/// request middleware (`observe`) does this in place as the response passes.
pub fn as_problem<B>(
    response: ServiceResponse<B>,
    request_id: &RequestId,
) -> ServiceResponse<EitherBody<B>> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response.map_into_left_body();
    }
    // An authentication failure: the adapter's body, with this service's request id.
    let rejection = response
        .response()
        .error()
        .and_then(|error| error.as_error::<Rejection>())
        .map(Rejection::problem);
    if let Some(body) = rejection {
        let problem = body.with_request_id(request_id.as_str());
        return with_body(response, &problem);
    }
    let internal = status == StatusCode::INTERNAL_SERVER_ERROR;
    let already_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|media_type| {
            let media_type = media_type.as_bytes();
            media_type == b"application/json" || media_type == PROBLEM_JSON.as_bytes()
        });
    if already_json && !internal {
        return response.map_into_left_body();
    }
    if internal {
        let cause = response
            .response()
            .error()
            .map_or_else(|| "no error attached".to_owned(), ToString::to_string);
        // Inside the id's scope, so that a JSON log line names the request as well.
        request_id.in_scope(|| {
            log::error!(
                "{} {} id={}: {status}: {cause}",
                response.request().method(),
                response.request().path(),
                request_id.as_str()
            );
        });
    }
    let problem = Problem::for_status(status, crate::problem::PROBLEM_TYPES)
        .with_request_id(request_id.as_str());
    with_body(response, &problem)
}

/// The response with `problem` as its body, its headers kept.
fn with_body<B>(response: ServiceResponse<B>, problem: &Problem) -> ServiceResponse<EitherBody<B>> {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    response.map_body(|head, _| {
        head.headers.remove(CONTENT_LENGTH);
        head.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        EitherBody::right(BoxBody::new(body))
    })
}
