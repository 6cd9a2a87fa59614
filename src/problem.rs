//! RFC 9457 problem details: the one body shape every error response of this service uses.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What every problem `type` starts with: a tag URI (RFC 4151) named after the package, so a
/// generated service names its own problems without any templating.
pub const PROBLEM_TYPES: &str = concat!("tag:", env!("CARGO_PKG_NAME"), ",2026:problems/");

/// One invalid field of a request body, as listed in a 422 problem's `errors`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: &'static str,
}

impl FieldError {
    pub fn new(field: &str, message: &'static str) -> Self {
        Self {
            field: field.to_owned(),
            message,
        }
    }
}

/// An RFC 9457 problem. `type` URIs are tag URIs (RFC 4151) named after the package, so a
/// generated service names its own problems without any templating. Every problem this service
/// sends also carries the `request_id` of its request, taken when the problem is made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    /// RFC 6750 error code, on authentication failures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    /// RFC 6750 error description, on authentication failures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'static str>,
    /// Each invalid field, on validation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldError>>)]
    errors: Option<serde_json::Value>,
    /// The request's id, as echoed in its `x-request-id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip)]
    status_code: StatusCode,
}

impl Problem {
    /// A problem of the kind named by `slug` (e.g. `invalid-token`), for the request this task
    /// is serving.
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: format!("{PROBLEM_TYPES}{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            error: None,
            error_description: None,
            errors: None,
            request_id: crate::request_id::current(),
            status_code: status,
        }
    }

    /// The problem an authentication failure answers with, as the auth adapter words it.
    pub fn from_rejection(body: crate::auth::ProblemBody) -> Self {
        Self {
            kind: body.kind,
            title: body.title,
            status: body.status,
            detail: body.detail,
            error: body.error,
            error_description: body.error_description,
            errors: None,
            request_id: None,
            status_code: StatusCode::from_u16(body.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// Names the request it answers, for a problem made outside the task serving it.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_owned());
        self
    }

    /// Adds the list of invalid fields.
    pub fn with_errors(mut self, errors: impl Serialize) -> Self {
        self.errors = serde_json::to_value(errors).ok();
        self
    }

    /// The problem for an HTTP status with no more to say than its standard meaning; the slug is
    /// the reason phrase in kebab case.
    pub fn for_status(status: StatusCode) -> Self {
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
        Self::new(status, &slug, title, detail)
    }

    /// A builder with this problem's status and media type; add headers, then `.json(&problem)`.
    pub fn response(&self) -> HttpResponseBuilder {
        let mut builder = HttpResponse::build(self.status_code);
        builder.insert_header(ContentType(
            PROBLEM_JSON
                .parse()
                .expect("problem+json is a valid media type"),
        ));
        builder
    }
}
