//! A request id on every request and response: the client's `x-request-id` when it is a sane
//! value, else a new one. Logs and problem bodies carry it, so one id follows a request from the
//! gateway through this service. The id lives in the serving task (see [`current`]); the
//! request middleware (`observe`) assigns it and echoes it on the response.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderName, HeaderValue};
use tokio::task::futures::TaskLocalFuture;

/// The header read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request. A generated id is held inline, so that handing it to the task and to
/// the response costs no allocation beyond the response header's own; a client's is its header
/// value, shared with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Generated([u8; 32]),
    Received(HeaderValue),
}

impl RequestId {
    /// The client's id when it is acceptable, else a new one.
    pub fn for_request(req: &ServiceRequest) -> Self {
        req.headers()
            .get(&REQUEST_ID)
            .filter(|value| value.to_str().is_ok_and(is_acceptable))
            .map_or_else(generate, |value| Self(Repr::Received(value.clone())))
    }

    /// The id as text (always ASCII: see [`is_acceptable`] and [`generate`]).
    pub fn as_str(&self) -> &str {
        let bytes = match &self.0 {
            Repr::Generated(digits) => digits.as_slice(),
            Repr::Received(value) => value.as_bytes(),
        };
        std::str::from_utf8(bytes).unwrap_or("-")
    }

    /// The id as a response header value.
    pub fn header_value(self) -> HeaderValue {
        match self.0 {
            // Hex digits are a valid header value; the fallback is never taken.
            Repr::Generated(digits) => {
                HeaderValue::from_bytes(&digits).unwrap_or(HeaderValue::from_static("-"))
            }
            Repr::Received(value) => value,
        }
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

/// A prefix per thread (a random per-process word mixed with the thread's number) and a count
/// per thread: unique across requests, threads and restarts, and cheap. (Drawing 128 random bits
/// per request cost more than verifying a cached token; one counter for every worker was a write
/// per request on a line all their cores share.) A request id is a label, not a secret.
fn generate() -> RequestId {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static THREADS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static PREFIX: [u8; 16] = {
            let process = PROCESS.get_or_init(|| {
                let mut bytes = [0u8; 8];
                // A failed RNG still yields unique ids within the process.
                let _ = aws_lc_rs::rand::fill(&mut bytes);
                u64::from_le_bytes(bytes)
            });
            // Distinct thread numbers keep distinct prefixes: the mix is one-to-one.
            hex(process ^ THREADS.fetch_add(1, Ordering::Relaxed))
        };
        static NEXT: Cell<u64> = const { Cell::new(0) };
    }
    let mut id = [0u8; 32];
    PREFIX.with(|prefix| id[..16].copy_from_slice(prefix));
    let count = NEXT.with(|next| next.replace(next.get() + 1));
    id[16..].copy_from_slice(&hex(count));
    RequestId(Repr::Generated(id))
}

/// A word as 16 lowercase hex digits, digit by digit: `write!` with `{:016x}` cost more than the
/// rest of the middleware together.
fn hex(word: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    for (at, digit) in digits.iter_mut().enumerate() {
        *digit = DIGITS[((word >> (60 - 4 * at)) & 0xf) as usize];
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::{current, generate, hex, is_acceptable};

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
    fn threads_generate_ids_of_their_own() {
        let ids: std::collections::HashSet<String> = (0..4)
            .map(|_| std::thread::spawn(|| generate().as_str().to_owned()))
            .map(|thread| thread.join().unwrap())
            .chain([generate().as_str().to_owned()])
            .collect();
        assert_eq!(ids.len(), 5, "{ids:?}");
        let prefixes: std::collections::HashSet<&str> = ids.iter().map(|id| &id[..16]).collect();
        assert_eq!(prefixes.len(), 5, "each thread counts under its own prefix");
    }

    #[test]
    fn an_id_is_current_within_its_scope_only() {
        let id = generate();
        assert_eq!(id.in_scope(current).as_deref(), Some(id.as_str()));
        assert_eq!(current(), None);
    }

    #[test]
    fn words_are_written_as_sixteen_hex_digits_most_significant_first() {
        assert_eq!(&hex(0x0123_4567_89ab_cdef), b"0123456789abcdef");
        assert_eq!(&hex(0xf), b"000000000000000f");
        assert_eq!(&hex(u64::MAX), b"ffffffffffffffff");
    }

    #[test]
    fn only_plain_ids_are_taken_from_clients() {
        assert!(is_acceptable("3f2b-11ee:abc_def.1"));
        for id in ["", "a b", "x\ny", &"a".repeat(129)] {
            assert!(!is_acceptable(id), "{id:?}");
        }
    }
}
