//! A request id on every request and response: the client's `x-request-id` when it is a sane
//! value, else a new one. Logs and problem bodies carry it, so one id follows a request from the
//! gateway through this service. The id lives in the serving task (see [`current`]); the
//! request middleware (`observe`) assigns it and echoes it on the response.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderName, HeaderValue};
use tokio::task::futures::TaskLocalFuture;

/// The header read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request: always a valid header value of plain ASCII (see [`is_acceptable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The client's id when it is acceptable, else a new one.
    pub fn for_request(req: &ServiceRequest) -> Self {
        req.headers()
            .get(&REQUEST_ID)
            .filter(|value| value.to_str().is_ok_and(is_acceptable))
            .map_or_else(generate, |value| Self(value.clone()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("-")
    }

    /// The id as a response header value.
    pub fn header_value(self) -> HeaderValue {
        self.0
    }

    /// Runs `f` with this id as the [`current`] one: for a log line written after the request
    /// was served, outside its task's scope.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self.clone(), f)
    }

    /// Serves `future` with this id as the task's [`current`] one.
    pub fn scope<F: Future>(self, future: F) -> TaskLocalFuture<RequestId, F> {
        CURRENT.scope(self, future)
    }
}

tokio::task_local! {
    /// The id of the request the current task serves, for log lines and problem bodies written
    /// anywhere below the middleware.
    static CURRENT: RequestId;
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.as_str().to_owned()).ok()
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

/// A random word drawn once per process, then a count: unique across requests and restarts.
/// A request id is a label, not a secret.
fn generate() -> RequestId {
    static PROCESS: LazyLock<u64> = LazyLock::new(|| {
        let mut bytes = [0u8; 8];
        // A failed RNG still yields unique ids within the process.
        let _ = aws_lc_rs::rand::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = format!(
        "{:016x}{:016x}",
        *PROCESS,
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // Hex digits are a valid header value; the fallback is never taken.
    RequestId(HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-")))
}

#[cfg(test)]
mod tests {
    use super::{current, generate, is_acceptable};

    #[test]
    fn generated_ids_are_distinct_and_acceptable() {
        let (first, second) = (generate(), generate());
        assert_ne!(first, second);
        assert!(is_acceptable(first.as_str()) && first.as_str().len() == 32);
        // The prefix is shared, the counter is the lower half in hex.
        assert_eq!(first.as_str()[..16], second.as_str()[..16]);
        let (a, b) = (
            u64::from_str_radix(&first.as_str()[16..], 16).unwrap(),
            u64::from_str_radix(&second.as_str()[16..], 16).unwrap(),
        );
        assert!(b > a, "{a} then {b}");
    }

    #[test]
    fn threads_generate_distinct_ids() {
        let ids: std::collections::HashSet<String> = (0..4)
            .map(|_| std::thread::spawn(|| generate().as_str().to_owned()))
            .map(|thread| thread.join().unwrap())
            .chain([generate().as_str().to_owned()])
            .collect();
        assert_eq!(ids.len(), 5, "{ids:?}");
    }

    #[test]
    fn an_id_is_current_within_its_scope_only() {
        let id = generate();
        assert_eq!(id.in_scope(current).as_deref(), Some(id.as_str()));
        assert_eq!(current(), None);
    }

    #[test]
    fn only_plain_ids_are_taken_from_clients() {
        assert!(is_acceptable("3f2b-11ee:abc_def.1"));
        for id in ["", "a b", "x\ny", &"a".repeat(129)] {
            assert!(!is_acceptable(id), "{id:?}");
        }
    }
}
