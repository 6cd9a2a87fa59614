//! RFC 9457 problem details: the body of every rejection, and the one shape a service can give
//! its own errors so that clients read every failure alike.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request body, as listed in a 422 problem's `errors`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field as the client named it, or `(body)` for the body as a whole.
    pub field: String,
    /// What is wrong with it, in a fixed phrase.
    pub message: &'static str,
}

impl FieldError {
    /// `field` is invalid because of `message`.
    pub fn new(field: &str, message: &'static str) -> Self {
        Self {
            field: field.to_owned(),
            message,
        }
    }
}

/// An RFC 9457 problem, with the RFC 6750 `error` and `error_description` members where an
/// authentication failure has an OAuth error code.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Problem {
    /// The problem type URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, in a phrase that names no token, key or secret.
    pub detail: String,
    /// RFC 6750 error code, on authentication failures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// RFC 6750 error description, on authentication failures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'static str>,
    /// Each invalid field, on validation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// The request's id, as echoed in its `x-request-id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    /// A problem of type `kind` for `status`.
    pub fn new(status: StatusCode, kind: String, title: &'static str, detail: String) -> Self {
        Self {
            kind,
            title,
            status: status.as_u16(),
            detail,
            error: None,
            error_description: None,
            errors: None,
            request_id: None,
        }
    }

    /// The problem for an HTTP status with no more to say than its standard meaning; its type
    /// is `problem_types` and the reason phrase in kebab case.
    pub fn for_status(status: StatusCode, problem_types: &str) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let slug = title.to_ascii_lowercase().replace(' ', "-");
        let detail = match status.as_u16() {
            404 => "no resource at this path",
            405 => "this resource does not support that method",
            413 => "the request body is too large",
            415 => "the request body must be application/json",
            400 => "the request could not be understood",
            500..=599 => "the service failed to handle the request",
            _ => title,
        };
        Self::new(
            status,
            format!("{problem_types}{slug}"),
            title,
            detail.to_owned(),
        )
    }

    /// Names the request it answers.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_owned());
        self
    }

    /// Adds the list of invalid fields.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// A builder with this problem's status and media type; add headers, then `.json(&problem)`.
    pub fn response(&self) -> HttpResponseBuilder {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut builder = HttpResponse::build(status);
        builder.insert_header(ContentType(
            PROBLEM_JSON
                .parse()
                .expect("problem+json is a valid media type"),
        ));
        builder
    }
}
