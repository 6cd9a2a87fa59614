//! The middleware every request passes first: it assigns the request's id (serving the request
//! with it, then echoing it on the response), makes an error response a problem
//! ([`errors::as_problem`]), counts and times the request by route, method and status, and
//! writes its access-log line. One layer for the four, written out rather than with `from_fn`,
//! because they run on every request: a layer each cost a future more, moved and polled, and a
//! disabled access logger still cost its layer.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, web};
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

use crate::errors;
use crate::metrics::{Metrics, RequestRecorder};
use crate::request_id::{REQUEST_ID, RequestId};

/// The access log's target: `RUST_LOG=info,access=warn` turns its lines off.
pub const ACCESS_LOG: &str = "access";

/// The middleware, recording into `metrics`.
pub struct Observe {
    metrics: web::Data<Metrics>,
}

impl Observe {
    pub fn new(metrics: web::Data<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Observe
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ObserveService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ObserveService {
            service,
            requests: Rc::new(RequestRecorder::new(self.metrics.clone())),
            // Asked once per worker: the filter is set when logging starts.
            access_log: log::log_enabled!(target: ACCESS_LOG, log::Level::Info),
        }))
    }
}

/// One worker's instance. Its requests share the worker's recorder through an `Rc`, so a
/// request counts no atomic reference that every worker's requests would write.
#[doc(hidden)]
pub struct ObserveService<S> {
    service: S,
    requests: Rc<RequestRecorder>,
    access_log: bool,
}

impl<S, B> Service<ServiceRequest> for ObserveService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Observed<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = RequestId::for_request(&req);
        Observed {
            started: Instant::now(),
            requests: self.requests.clone(),
            access_log: self.access_log,
            serving: id.scope(self.service.call(req)),
        }
    }
}

pin_project! {
    #[doc(hidden)]
    pub struct Observed<F> {
        // The request served with its id as the task's: the id is taken back from it to be
        // echoed, so it is never copied.
        #[pin]
        serving: TaskLocalFuture<RequestId, F>,
        started: Instant,
        requests: Rc<RequestRecorder>,
        access_log: bool,
    }
}

impl<F, B> Future for Observed<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let served = ready!(this.serving.as_mut().poll(cx))?;
        let id = this.serving.take_value();
        let mut response = errors::as_problem(served, id.as_ref());
        let request = response.request();
        // Every routed resource is named after its pattern (see `routes::endpoint`), so the name
        // is read without building the pattern.
        let route = request.match_name().unwrap_or("unmatched");
        let seconds = this.started.elapsed().as_secs_f64();
        this.requests
            .record(route, request.method(), response.status().as_u16(), seconds);
        if let Some(id) = id {
            if *this.access_log {
                let line = access_line(&response, seconds, &id);
                id.in_scope(|| log::info!(target: ACCESS_LOG, "{line}"));
            }
            response.headers_mut().insert(REQUEST_ID, id.header_value());
        }
        Poll::Ready(Ok(response))
    }
}

/// One line per request: peer, method and path (never the query string, where a misbehaving
/// client might put a token), status, body size, time to the response, and the request id.
fn access_line<B: MessageBody>(
    response: &ServiceResponse<B>,
    seconds: f64,
    id: &RequestId,
) -> String {
    let request = response.request();
    let peer = request.peer_addr().map(|peer| peer.ip());
    let size = match response.response().body().size() {
        BodySize::Sized(bytes) => bytes.to_string(),
        BodySize::None => "0".to_owned(),
        BodySize::Stream => "-".to_owned(),
    };
    format!(
        "{} \"{} {}\" {} {size} {:.3}ms id={}",
        peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        request.method(),
        request.path(),
        response.status().as_u16(),
        seconds * 1000.0,
        id.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use actix_web::{HttpResponse, test};

    use super::*;

    #[actix_web::test]
    async fn an_access_line_names_the_request_but_never_its_query() {
        let request = test::TestRequest::get()
            .uri("/api/v1/me?access_token=secret")
            .peer_addr("192.0.2.7:41000".parse().unwrap())
            .insert_header((REQUEST_ID, "trace-1"))
            .to_srv_request();
        let id = RequestId::for_request(&request);
        let response = request.into_response(HttpResponse::NotFound().body("nope"));
        let line = access_line(&response, 0.0125, &id);
        assert_eq!(
            line,
            "192.0.2.7 \"GET /api/v1/me\" 404 4 12.500ms id=trace-1"
        );
    }
}
