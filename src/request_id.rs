//! A request id on every request and response: the client's `x-request-id` when it is a sane
//! value, else a new random one. Logs and problem bodies carry it, so one id follows a request
//! from the gateway through this service.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

/// The header read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in its extensions: a header value, so that the request's
/// extensions, its task and its response share one buffer rather than copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text (always ASCII: see [`is_acceptable`] and [`generate`]).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("-")
    }
}

tokio::task_local! {
    /// The id of the request the current task serves, for log lines written anywhere below.
    static CURRENT: RequestId;
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.as_str().to_owned()).ok()
}

/// The current request's id, for log lines; `-` outside the middleware.
pub fn of(req: &actix_web::HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(|| "-".to_owned(), |id| id.as_str().to_owned())
}

/// Middleware: assigns the id, serves the request with it (in its extensions and its task),
/// then echoes it on the response. Written out rather than with `from_fn`, so that a request
/// costs no boxed future.
pub struct AssignRequestId;

impl<S, B> Transform<S, ServiceRequest> for AssignRequestId
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = AssignRequestIdService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AssignRequestIdService { service }))
    }
}

#[doc(hidden)]
pub struct AssignRequestIdService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for AssignRequestIdService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = WithRequestId<TaskLocalFuture<RequestId, S::Future>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .filter(|value| value.to_str().is_ok_and(is_acceptable))
            .cloned()
            .map_or_else(generate, RequestId);
        req.extensions_mut().insert(id.clone());
        let echoed = Some(id.0.clone());
        WithRequestId {
            serving: CURRENT.scope(id, self.service.call(req)),
            echoed,
        }
    }
}

pin_project! {
    #[doc(hidden)]
    pub struct WithRequestId<F> {
        #[pin]
        serving: F,
        echoed: Option<HeaderValue>,
    }
}

impl<F, B> Future for WithRequestId<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.serving.poll(cx))?;
        if let Some(id) = this.echoed.take() {
            response.headers_mut().insert(REQUEST_ID, id);
        }
        Poll::Ready(Ok(response))
    }
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
fn generate() -> RequestId {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // A failed RNG still yields unique ids within the process.
        let _ = aws_lc_rs::rand::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    // The two words in hex, digit by digit: `write!` with `{:016x}` cost more than the rest of
    // this middleware together.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 32];
    for (at, digit) in id.iter_mut().enumerate() {
        let word = if at < 16 { *prefix } else { count };
        let shift = 60 - 4 * (at % 16);
        *digit = DIGITS[((word >> shift) & 0xf) as usize];
    }
    // Hex digits are a valid header value; the fallback is never taken.
    RequestId(HeaderValue::from_bytes(&id).unwrap_or(HeaderValue::from_static("-")))
}

#[cfg(test)]
mod tests {
    use super::{generate, is_acceptable};

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
    fn only_plain_ids_are_taken_from_clients() {
        assert!(is_acceptable("3f2b-11ee:abc_def.1"));
        for id in ["", "a b", "x\ny", &"a".repeat(129)] {
            assert!(!is_acceptable(id), "{id:?}");
        }
    }
}
