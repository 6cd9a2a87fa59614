//! The middleware every request passes first: it assigns the request's id (serving the request
//! with it, then echoing it on the response), makes an error response a problem
//! ([`errors::as_problem`]), counts and times the request by route, method and status, and
//! writes its access-log line.

use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::errors;
use crate::metrics::Metrics;
use crate::request_id::{REQUEST_ID, RequestId};

/// The access log's target: `RUST_LOG=info,access=warn` turns its lines off.
pub const ACCESS_LOG: &str = "access";

/// Serves `req` under its request id, then records and logs the response. Wrapped with
/// `from_fn` around a closure holding `metrics`, so it needs nothing from the app's data.
pub async fn observe(
    metrics: web::Data<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = RequestId::for_request(&req);
    let served = id.clone().scope(next.call(req)).await?;
    let mut response = errors::as_problem(served, &id);
    let request = response.request();
    // Every routed resource is named after its pattern (see the library's `RouteTable`).
    let route = request.match_name().unwrap_or("unmatched");
    let seconds = started.elapsed().as_secs_f64();
    metrics.record_request(route, request.method(), response.status().as_u16(), seconds);
    if log::log_enabled!(target: ACCESS_LOG, log::Level::Info) {
        let line = access_line(&response, seconds, &id);
        id.in_scope(|| log::info!(target: ACCESS_LOG, "{line}"));
    }
    response.headers_mut().insert(REQUEST_ID, id.header_value());
    Ok(response)
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
