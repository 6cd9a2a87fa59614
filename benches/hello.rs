//! The bare actix-web servers `make bench` and `make instructions` measure this service against:
//! the same actix-web version and release profile, one worker, no middleware. Serves on
//! 127.0.0.1:`PORT` (default 18090) until killed:
//!
//! - `GET /`: a hello world, the ceiling of every case.
//! - `POST /v1/traces`: an OTLP/HTTP sink that takes a batch of spans and answers 200 unread,
//!   the collector of the trace-export bench.
//! - With `JWKS_FILE` set, `GET /<alg>` (e.g. `/RS256`): the crypto bound of the distinct-token
//!   cases, the hello world plus one `jsonwebtoken::decode` a request. It verifies
//!   `Authorization: Bearer <token>` with the key of that algorithm from the JWKS file,
//!   checking `ISSUER`, `AUDIENCE` and the lifetime as the verification bench's bare decode
//!   does, and answers 200 or 401. As there, the keys are also loaded as this service's key
//!   set, so signatures are checked with the keys parsed once, as the service checks them.
//!   Served, the signature runs between requests exactly as it does in the service, rather
//!   than in a benchmark's hot loop.

use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use app::auth::inspect::KeySet;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// One signing family's key and the checks its tokens get.
struct Family {
    path: String,
    key: DecodingKey,
    validation: Validation,
}

/// The families of the JWKS at `JWKS_FILE`, none when it is not set, and the key set that
/// keeps their keys parsed while it lives.
fn families() -> (Vec<Arc<Family>>, Option<KeySet>) {
    let Ok(jwks_file) = std::env::var("JWKS_FILE") else {
        return (Vec::new(), None);
    };
    let var = |name| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (issuer, audience) = (var("ISSUER"), var("AUDIENCE"));
    let text = std::fs::read_to_string(jwks_file).expect("JWKS_FILE is readable");
    let algorithms = [Algorithm::RS256, Algorithm::EdDSA, Algorithm::ES256];
    let parsed = KeySet::parse(text.as_bytes(), &algorithms, 16, None).expect("a usable JWKS");
    let set: JwkSet = serde_json::from_str(&text).expect("JWKS_FILE holds a JWK set");
    let families = set
        .keys
        .iter()
        .filter_map(|jwk| {
            let alg = Algorithm::try_from(jwk.common.key_algorithm?).ok()?;
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[&issuer]);
            validation.set_audience(&[&audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.validate_nbf = true;
            Some(Arc::new(Family {
                path: format!("/{alg:?}"),
                key: DecodingKey::from_jwk(jwk).ok()?,
                validation,
            }))
        })
        .collect();
    (families, Some(parsed))
}

fn verify(family: &Family, req: &HttpRequest) -> HttpResponse {
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match token.map(|token| {
        jsonwebtoken::decode::<Map<String, Value>>(token, &family.key, &family.validation)
    }) {
        Some(Ok(_)) => HttpResponse::Ok().body("verified"),
        _ => HttpResponse::Unauthorized().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(18090);
    let (families, _parsed_keys) = families();
    HttpServer::new(move || {
        let hello = App::new()
            .route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("Hello, world!") }),
            )
            .app_data(web::PayloadConfig::new(64 << 20))
            .route(
                "/v1/traces",
                web::post().to(|_batch: web::Bytes| async {
                    HttpResponse::Ok()
                        .content_type("application/x-protobuf")
                        .finish()
                }),
            );
        families.iter().fold(hello, |app, family| {
            let family = Arc::clone(family);
            app.route(
                &family.path.clone(),
                web::get().to(move |req: HttpRequest| std::future::ready(verify(&family, &req))),
            )
        })
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
