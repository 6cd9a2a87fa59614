//! A request id on every request and response: the client's `x-request-id` when it is a sane
//! value, else a new random one. Logs and problem bodies carry it, so one id follows a request
//! from the gateway through this service.

use std::fmt::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

/// The header read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

tokio::task_local! {
    /// The id of the request the current task serves, for log lines written anywhere below.
    static CURRENT: String;
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(String::clone).ok()
}

/// The current request's id, for log lines; `-` outside the middleware.
pub fn of(req: &actix_web::HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(|| "-".to_owned(), |id| id.0.clone())
}

/// Middleware (use with `from_fn`): assigns the id, then echoes it on the response.
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_acceptable(value))
        .map(str::to_owned)
        .unwrap_or_else(generate);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = CURRENT.scope(id.clone(), next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Up to 128 characters of letters, digits and `-_.:`: enough for UUIDs and trace ids, nothing
/// that could forge a log line.
fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A random per-process prefix and a counter: unique across requests and restarts, and cheap.
/// (Drawing 128 random bits per request cost more than verifying a cached token.) A request id
/// is a label, not a secret.
fn generate() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // A failed RNG still yields unique ids within the process.
        let _ = aws_lc_rs::rand::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let mut id = String::with_capacity(32);
    let _ = write!(
        id,
        "{prefix:016x}{:016x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    id
}

#[cfg(test)]
mod tests {
    use super::{generate, is_acceptable};

    #[test]
    fn generated_ids_are_distinct_and_acceptable() {
        let (first, second) = (generate(), generate());
        assert_ne!(first, second);
        assert!(is_acceptable(&first) && first.len() == 32);
    }

    #[test]
    fn only_plain_ids_are_taken_from_clients() {
        assert!(is_acceptable("3f2b-11ee:abc_def.1"));
        for id in ["", "a b", "x\ny", &"a".repeat(129)] {
            assert!(!is_acceptable(id), "{id:?}");
        }
    }
}
