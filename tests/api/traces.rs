//! One trace from the gateway to the key fetch: the real binary, exporting over OTLP/HTTP to a
//! receiver on loopback that decodes the protobuf requests, continues a gateway's
//! `traceparent` into its server span, the verification below it and the JWKS fetch below
//! that, whose `traceparent` the issuer receives. A collector that is down, or never answers,
//! neither fails nor holds a request, and what is queued at shutdown is sent.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::json;

use crate::common::{
    Process, TestIssuer, claims, dead_url, ed_key, keys, sample, service_binary, sign, signal,
    standard_jwks, wait_until_ready, within,
};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const GATEWAY_SPAN: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP receiver on 127.0.0.1 port 0, keeping every span it is sent.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<Span>>>,
    services: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (spans, services) = (Arc::default(), Arc::default());
        let kept = (Arc::clone(&spans), Arc::clone(&services));
        let server = HttpServer::new(move || {
            let (spans, services) = (Arc::clone(&kept.0), Arc::clone(&kept.1));
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let (spans, services) = (Arc::clone(&spans), Arc::clone(&services));
                    async move { receive(&body, &spans, &services) }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self {
            url,
            spans,
            services,
        }
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of the trace with this id.
    fn trace(&self, trace_id: &str) -> Vec<Span> {
        let spans = self.spans();
        spans
            .into_iter()
            .filter(|span| hex(&span.trace_id) == trace_id)
            .collect()
    }
}

fn receive(body: &[u8], spans: &Mutex<Vec<Span>>, services: &Mutex<Vec<String>>) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        let attributes = attributes(&resource.attributes);
        if let Some(name) = attributes.get("service.name") {
            services.lock().unwrap().push(name.clone());
        }
        for scope in resource_spans.scope_spans {
            spans.lock().unwrap().extend(scope.spans);
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A span's attributes, every value as text.
fn attributes(
    list: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) -> HashMap<String, String> {
    list.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|value| value.value.as_ref()) {
                Some(Any::StringValue(text)) => text.clone(),
                Some(Any::IntValue(number)) => number.to_string(),
                Some(Any::BoolValue(flag)) => flag.to_string(),
                Some(Any::DoubleValue(number)) => number.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|span| span.name == name).collect()
}

/// The service binary trusting `issuer`, logging JSON, with `otel` as its OpenTelemetry
/// variables.
fn service(issuer: &TestIssuer, otel: &[(&str, &str)]) -> (Process, String) {
    let mut vars = vec![
        ("APP__SERVER__SHUTDOWN_DELAY_SECONDS", "0"),
        ("APP__SERVER__DRAIN_SECONDS", "2"),
        ("APP__LOG__FORMAT", "json"),
    ];
    vars.extend_from_slice(otel);
    service_binary(&issuer.url, &vars)
}

#[actix_web::test]
async fn a_gateway_trace_runs_through_the_server_span_and_the_verification_to_the_key_fetch() {
    let receiver = Receiver::start();
    let issuer = TestIssuer::start(standard_jwks());
    let (mut process, base) = service(
        &issuer,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
            ("OTEL_SERVICE_NAME", "orders-api"),
        ],
    );
    wait_until_ready(&base).await;
    // The issuer rotates: the token's key is not in the set the service holds, so verifying
    // it fetches the key set, within the request's trace.
    let rotated = ed_key("rotated-1");
    issuer.set_jwks(json!({ "keys": [keys().ed.jwk, rotated.jwk] }));
    let token = sign(&rotated, &claims(&issuer.url));
    let client = reqwest::Client::new();
    let traced = |token: &str| {
        client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(token)
            .header("traceparent", format!("00-{TRACE}-{GATEWAY_SPAN}-01"))
            .header("tracestate", "gateway=edge-7")
    };

    let first = traced(&token).send().await.unwrap();
    let second = traced(&token).send().await.unwrap();

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    within(Duration::from_secs(5), "the trace exported", || {
        let spans = receiver.trace(TRACE);
        named(&spans, "verify token").len() == 2 && named(&spans, "GET").len() == 1
    })
    .await;
    let spans = receiver.trace(TRACE);
    let servers = named(&spans, "GET /api/v1/me");
    assert_eq!(servers.len(), 2, "{spans:#?}");
    let server = servers[0];
    assert_eq!(hex(&server.parent_span_id), GATEWAY_SPAN);
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(server.trace_state, "gateway=edge-7");
    let attrs = attributes(&server.attributes);
    assert_eq!(attrs["http.request.method"], "GET");
    assert_eq!(attrs["http.route"], "/api/v1/me");
    assert_eq!(attrs["http.response.status_code"], "200");
    assert_eq!(attrs["url.scheme"], "http");

    let fetch = named(&spans, "GET")[0];
    let verification = spans
        .iter()
        .find(|span| span.span_id == fetch.parent_span_id)
        .expect("the fetch's parent is exported");
    assert_eq!(verification.name, "verify token");
    assert!(
        servers
            .iter()
            .any(|server| server.span_id == verification.parent_span_id),
        "the verification is a child of a server span"
    );
    let attrs = attributes(&verification.attributes);
    assert_eq!(attrs["auth.issuer"], issuer.url);
    assert_eq!(attrs["auth.token.algorithm"], "EdDSA");
    assert_eq!(attrs["auth.token.cache_hit"], "false");
    // The second request was answered from the cache.
    let cached = named(&spans, "verify token")
        .into_iter()
        .find(|span| span.span_id != verification.span_id)
        .unwrap();
    assert_eq!(
        attributes(&cached.attributes)["auth.token.cache_hit"],
        "true"
    );

    assert_eq!(fetch.kind, SpanKind::Client as i32);
    let attrs = attributes(&fetch.attributes);
    assert_eq!(attrs["auth.issuer"], issuer.url);
    assert_eq!(attrs["auth.document"], "jwks");
    assert_eq!(attrs["http.request.method"], "GET");
    assert_eq!(attrs["http.response.status_code"], "200");
    assert!(attrs["http.response.body.size"].parse::<u64>().unwrap() > 0);
    assert!(attrs["url.full"].starts_with(&issuer.url));
    // The issuer was asked with the fetch span's own context.
    let expected = format!("00-{TRACE}-{}-01", hex(&fetch.span_id));
    let sent = issuer.received("traceparent");
    assert!(sent.contains(&Some(expected)), "{sent:?}");
    assert!(
        issuer
            .received("tracestate")
            .contains(&Some("gateway=edge-7".to_owned()))
    );
    // Neither the token nor a claim's value is in any span.
    let subject = claims(&issuer.url)["sub"].as_str().unwrap().to_owned();
    for span in &spans {
        for value in attributes(&span.attributes).values() {
            assert!(
                !value.contains(&token) && !value.contains(&subject),
                "{value}"
            );
        }
    }
    assert!(
        receiver
            .services
            .lock()
            .unwrap()
            .contains(&"orders-api".to_owned())
    );
    // The startup's discovery, a trace of its own, answered by the issuer.
    let all = receiver.spans();
    let discovery = all
        .iter()
        .map(|span| attributes(&span.attributes))
        .find(|attrs| {
            attrs
                .get("auth.document")
                .is_some_and(|doc| doc == "discovery")
        })
        .expect("the discovery's span");
    assert_eq!(discovery["http.response.status_code"], "200");
    assert_eq!(discovery["auth.issuer"], issuer.url);
    // Each request's access line carries its server span's ids beside its request id.
    let logs = process.stop();
    let access: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &serde_json::Value| line["target"] == "access")
        .filter(|line| line["trace_id"] == TRACE)
        .collect();
    assert_eq!(access.len(), 2, "{logs}");
    for line in &access {
        assert!(line["request_id"].is_string());
        let span_id = line["span_id"].as_str().unwrap();
        assert!(
            servers.iter().any(|server| hex(&server.span_id) == span_id),
            "{line}"
        );
    }
}

#[actix_web::test]
async fn a_malformed_traceparent_starts_a_new_trace_and_a_refusal_is_described() {
    let receiver = Receiver::start();
    let issuer = TestIssuer::start(standard_jwks());
    let (mut process, base) = service(
        &issuer,
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("{}/v1/traces", receiver.url),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    );
    wait_until_ready(&base).await;
    let client = reqwest::Client::new();
    // A trace id one digit short: the SDK's parser alone would take it.
    let short = format!("00-{}-{GATEWAY_SPAN}-01", &TRACE[1..]);

    let refused = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth("not.a.token")
        .header("traceparent", &short)
        .send()
        .await
        .unwrap();

    // Trace headers no parser takes never cost a request its answer.
    let token = sign(&keys().ed, &claims(&issuer.url));
    for (traceparent, tracestate) in [
        ("00-zz", "=,=,=".to_owned()),
        (
            "ff-ffffffffffffffffffffffffffffffff-ffffffffffffffff-ff",
            "a=".repeat(600),
        ),
        (
            "00-00000000000000000000000000000000-0000000000000000-01",
            "k=v".to_owned(),
        ),
    ] {
        let reply = client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&token)
            .header("traceparent", traceparent)
            .header("tracestate", tracestate)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{traceparent}");
    }
    assert_eq!(refused.status(), 401);
    within(Duration::from_secs(5), "the requests exported", || {
        named(&receiver.spans(), "verify token").len() == 4
    })
    .await;
    let spans = receiver.spans();
    let servers = named(&spans, "GET /api/v1/me");
    assert_eq!(servers.len(), 4);
    for server in &servers {
        assert!(server.parent_span_id.is_empty(), "a new trace, not a child");
    }
    let server_span = *servers
        .iter()
        .find(|span| attributes(&span.attributes)["http.response.status_code"] == "401")
        .expect("the refusal's server span");
    assert_ne!(hex(&server_span.trace_id), format!("0{}", &TRACE[1..]));
    let verification = *named(&spans, "verify token")
        .iter()
        .find(|span| span.trace_id == server_span.trace_id)
        .expect("the refusal's verification");
    let attrs = attributes(&verification.attributes);
    assert_eq!(attrs["auth.refusal_reason"], "malformed token");
    assert_eq!(attrs["error.type"], "malformed token");
    assert_eq!(
        verification.status.as_ref().unwrap().code,
        2,
        "status error"
    );
    assert_eq!(
        attributes(&server_span.attributes)["http.response.status_code"],
        "401"
    );
    // The service's own name when none is given.
    assert!(
        receiver
            .services
            .lock()
            .unwrap()
            .contains(&env!("CARGO_PKG_NAME").to_owned())
    );
    process.stop();
}

#[actix_web::test]
async fn spans_still_queued_are_sent_at_shutdown() {
    let receiver = Receiver::start();
    let issuer = TestIssuer::start(standard_jwks());
    let (mut process, base) = service(
        &issuer,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            // Far beyond the test: only the shutdown sends the batch.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    wait_until_ready(&base).await;
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(named(&receiver.spans(), "GET /health").is_empty());

    signal(&process, "INT");

    let status = process.exited_within(Duration::from_secs(20)).await;
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
    assert_eq!(named(&receiver.spans(), "GET /health").len(), 1);
}

#[actix_web::test]
async fn a_collector_that_never_answers_neither_holds_nor_fails_a_request() {
    // Connections are taken by the kernel and never answered.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let issuer = TestIssuer::start(standard_jwks());
    let (mut process, base) = service(
        &issuer,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "60000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4"),
        ],
    );
    wait_until_ready(&base).await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    // A request that waited on the export would wait for its timeout, past this one's.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let requests = (0..200).map(|_| {
        client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&token)
            .send()
    });
    let replies = futures_util::future::join_all(requests).await;

    for reply in replies {
        assert_eq!(reply.unwrap().status(), 200);
    }
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped = sample(&metrics, "trace_spans_dropped_total{reason=\"queue_full\"}");
    assert!(dropped.is_some_and(|count| count > 0.0), "{metrics}");
    // Shutdown gives up on the stalled collector within its bound.
    signal(&process, "INT");
    let status = process.exited_within(Duration::from_secs(20)).await;
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
    drop(silent);
}

#[actix_web::test]
async fn a_collector_that_is_down_fails_no_request_and_its_losses_are_counted() {
    let issuer = TestIssuer::start(standard_jwks());
    let (mut process, base) = service(
        &issuer,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &dead_url()),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ],
    );
    wait_until_ready(&base).await;
    let token = sign(&keys().ed, &claims(&issuer.url));
    let client = reqwest::Client::new();

    let requests = (0..50).map(|_| {
        client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&token)
            .send()
    });
    let replies = futures_util::future::join_all(requests).await;

    for reply in replies {
        assert_eq!(reply.unwrap().status(), 200);
    }
    let mut lost = 0.0;
    for _ in 0..500 {
        let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
        let text = metrics.text().await.unwrap();
        lost = sample(&text, "trace_spans_dropped_total{reason=\"export_failed\"}").unwrap();
        if lost > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(lost > 0.0, "no failed export counted");
    process.stop();
}

#[actix_web::test]
async fn export_settings_this_service_cannot_honour_stop_startup_naming_the_variable() {
    let issuer = TestIssuer::start(standard_jwks());
    let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_TRACES_SAMPLER", "parentbased_sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
    ] {
        let sampler = ("OTEL_TRACES_SAMPLER", "traceidratio");
        let (mut process, _) = service(&issuer, &[endpoint, sampler, (name, value)]);

        let status = process.exited_within(Duration::from_secs(10)).await;

        assert_eq!(
            status.and_then(|status| status.code()),
            Some(2),
            "{name}={value}"
        );
        assert!(process.stop().contains(name), "{name}={value}");
    }
}

#[actix_web::test]
async fn disabled_or_unset_export_starts_nothing_and_still_continues_the_gateway_trace_in_logs() {
    let receiver = Receiver::start();
    let issuer = TestIssuer::start(standard_jwks());
    let (mut process, base) = service(
        &issuer,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    );
    wait_until_ready(&base).await;
    let token = sign(&keys().ed, &claims(&issuer.url));

    let reply = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE}-{GATEWAY_SPAN}-01"))
        .send()
        .await
        .unwrap();

    assert_eq!(reply.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.spans().is_empty());
    let logs = process.stop();
    let access = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            line["target"] == "access" && line["message"].as_str().unwrap().contains("/api/v1/me")
        })
        .expect("the request's access line");
    assert_eq!(access["trace_id"], TRACE, "{logs}");
    assert_eq!(access["span_id"], GATEWAY_SPAN);
}

#[actix_web::test]
async fn a_failed_key_fetch_is_a_client_span_with_the_failure() {
    let receiver = Receiver::start();
    let issuer = TestIssuer::start(standard_jwks());
    issuer.set_failing(true);

    let (mut process, _) = service(
        &issuer,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    );

    let failed = |span: &Span| {
        let attrs = attributes(&span.attributes);
        attrs.get("auth.document").is_some_and(|doc| doc == "jwks")
            && attrs
                .get("http.response.status_code")
                .is_some_and(|s| s == "503")
    };
    within(Duration::from_secs(10), "the failed fetch exported", || {
        receiver.spans().iter().any(failed)
    })
    .await;
    let spans = receiver.spans();
    let span = spans.iter().find(|span| failed(span)).unwrap();
    assert_eq!(span.kind, SpanKind::Client as i32);
    assert_eq!(attributes(&span.attributes)["error.type"], "status");
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, 2, "status error");
    assert_eq!(status.message, "the issuer answered HTTP 503");
    process.stop();
}
