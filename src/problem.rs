//! RFC 9457 problem details, the library's [`Problem`], as this service names and dates them:
//! every problem type is a tag URI after the package, and every problem carries the id of the
//! request it answers.

use actix_web::http::StatusCode;

pub use crate::auth::{FieldError, PROBLEM_JSON, Problem};

/// What every problem `type` starts with: a tag URI (RFC 4151) named after the package, so a
/// generated service names its own problems without any templating.
pub const PROBLEM_TYPES: &str = concat!("tag:", env!("CARGO_PKG_NAME"), ",2026:problems/");

/// A problem of the kind named by `slug` (e.g. `not-found`), for the request this task serves.
pub fn problem(
    status: StatusCode,
    slug: &str,
    title: &'static str,
    detail: impl Into<String>,
) -> Problem {
    with_current_id(Problem::new(
        status,
        format!("{PROBLEM_TYPES}{slug}"),
        title,
        detail.into(),
    ))
}

/// The problem for an HTTP status with no more to say than its standard meaning, for the
/// request this task serves.
pub fn for_status(status: StatusCode) -> Problem {
    with_current_id(Problem::for_status(status, PROBLEM_TYPES))
}

fn with_current_id(problem: Problem) -> Problem {
    match crate::request_id::current() {
        Some(id) => problem.with_request_id(&id),
        None => problem,
    }
}
