//! RFC 9457 problem details: the one body shape every error response of this service uses.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem. `type` URIs are tag URIs (RFC 4151) named after the package, so a
/// generated service names its own problems without any templating.
#[derive(Debug, Serialize)]
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
    #[serde(skip)]
    status_code: StatusCode,
}

impl Problem {
    /// A problem of the kind named by `slug` (e.g. `invalid-token`).
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: format!("tag:{},2026:problems/{slug}", env!("CARGO_PKG_NAME")),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            error: None,
            error_description: None,
            status_code: status,
        }
    }

    /// Adds the RFC 6750 `error` and `error_description` members.
    pub fn with_oauth_error(mut self, error: &'static str, description: &'static str) -> Self {
        self.error = Some(error);
        self.error_description = Some(description);
        self
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
