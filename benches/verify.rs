//! The cost of verification, beside a bare `jsonwebtoken::decode` with a prepared key in the same
//! run: the difference is what this service adds per request (header checks, issuer and key
//! lookup, claim checks). Also the cached path, lookup in a set of 1 key against 100, and how
//! both paths scale: the same work from 1 thread and from 2 at once, in elements per second.
//!
//! The verifier loads its keys over HTTP from a JWKS server on 127.0.0.1, as in production.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use app::auth::Verifier;
use app::settings::Settings;
use app::state::AppState;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, get_current_timestamp,
};
use serde_json::{Map, Value, json};

const AUDIENCE: &str = "api://bench";

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn signing_key(kid: &str, alg: Algorithm) -> SigningKey {
    // The service's crypto provider, before these keys make jsonwebtoken pick its default.
    app::auth::install_crypto_provider();
    let encoding = match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let pem = pem::encode(&pem::Pem::new(
                "PRIVATE KEY",
                pair.as_der().unwrap().as_ref(),
            ));
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
        }
        Algorithm::ES256 => {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            EncodingKey::from_ec_der(pkcs8.as_ref())
        }
        _ => EncodingKey::from_ed_der(
            Ed25519KeyPair::generate()
                .unwrap()
                .to_pkcs8v1()
                .unwrap()
                .as_ref(),
        ),
    };
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    jwk.as_object_mut().unwrap().remove("alg");
    SigningKey {
        kid: kid.to_owned(),
        encoding,
        jwk,
    }
}

/// Serves `jwks` at `/.well-known/jwks.json` on a free loopback port, on its own thread.
fn serve_jwks(jwks: Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let jwks = jwks.clone();
                App::new().route(
                    "/.well-known/jwks.json",
                    web::get().to(move || {
                        let jwks = jwks.clone();
                        async move { HttpResponse::Ok().json(jwks) }
                    }),
                )
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    url
}

/// A verifier of the issuer at `url`, keys loaded, with the token cache off or on.
fn verifier(runtime: &tokio::runtime::Runtime, url: &str, cached_tokens: usize) -> AppState {
    let vars: HashMap<String, String> = [
        ("APP_ENV", "test"),
        ("APP__AUTH__ISSUER", url),
        ("APP__AUTH__AUDIENCE", AUDIENCE),
        ("APP__AUTH__TOKEN_CACHE_SIZE", &cached_tokens.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = Settings::load_with(Path::new("config"), vars).unwrap();
    let state = AppState::new(&settings, "http://localhost:8080").unwrap();
    runtime.block_on(async {
        for store in state.stores() {
            store.refresh().await.expect("the bench JWKS loads");
        }
    });
    state
}

fn token(key: &SigningKey, alg: Algorithm, issuer: &str) -> String {
    let now = get_current_timestamp();
    let claims = json!({"iss": issuer, "sub": "bench", "aud": AUDIENCE, "iat": now, "exp": now + 3600, "scope": "items:read"});
    let mut header = Header::new(alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

fn bare_validation(alg: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let families = [
        (Algorithm::RS256, signing_key("rsa", Algorithm::RS256)),
        (Algorithm::PS256, signing_key("rsa-pss", Algorithm::PS256)),
        (Algorithm::ES256, signing_key("ec", Algorithm::ES256)),
        (Algorithm::EdDSA, signing_key("ed", Algorithm::EdDSA)),
    ];
    let jwks =
        json!({ "keys": families.iter().map(|(_, key)| key.jwk.clone()).collect::<Vec<_>>() });
    let url = serve_jwks(jwks);
    let uncached = verifier(&runtime, &url, 0);
    let cached = verifier(&runtime, &url, 10_000);

    for (alg, key) in &families {
        let token = token(key, *alg, &url);
        let decoding =
            DecodingKey::from_jwk(&serde_json::from_value(key.jwk.clone()).unwrap()).unwrap();
        let validation = bare_validation(*alg, &url);
        let mut group = c.benchmark_group(format!("{alg:?}"));
        group.bench_function("bare jsonwebtoken::decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(&token, &decoding, &validation).unwrap()
            })
        });
        bench_verify(
            &mut group,
            "full verification path",
            &runtime,
            &uncached.verifier,
            &token,
        );
        bench_verify(
            &mut group,
            "cached token",
            &runtime,
            &cached.verifier,
            &token,
        );
        group.finish();
    }
}

fn key_set_size(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let target = signing_key("target", Algorithm::EdDSA);
    let mut group = c.benchmark_group("EdDSA key lookup");
    for size in [1usize, 100] {
        let mut keys: Vec<Value> = (1..size)
            .map(|n| signing_key(&format!("filler-{n}"), Algorithm::EdDSA).jwk)
            .collect();
        keys.push(target.jwk.clone());
        let url = serve_jwks(json!({ "keys": keys }));
        let state = verifier(&runtime, &url, 0);
        let token = token(&target, Algorithm::EdDSA, &url);
        bench_verify(
            &mut group,
            &format!("JWKS of {size} keys"),
            &runtime,
            &state.verifier,
            &token,
        );
    }
    group.finish();
}

/// Verifications of 1,000 distinct EdDSA tokens, cached and uncached, from 1 thread and from 2
/// threads at once; criterion reports elements per second, so the 2-thread figure over the
/// 1-thread one is the scaling (2.0 would be perfect on two cores). Then 5,000 cached tokens:
/// more than a thread keeps handles for (an eighth of the 10,000 the cache holds), so most hits
/// come from the shared map.
fn scaling(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = signing_key("ed", Algorithm::EdDSA);
    let url = serve_jwks(json!({ "keys": [key.jwk.clone()] }));
    let tokens: Vec<String> = (0..5000)
        .map(|n| {
            let now = get_current_timestamp();
            let claims = json!({"iss": url, "sub": format!("user-{n}"), "aud": AUDIENCE,
                "iat": now, "exp": now + 3600, "scope": "items:read"});
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some(key.kid.clone());
            jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
        })
        .collect();
    for (name, cached_tokens, tokens) in [
        ("uncached", 0, &tokens[..1000]),
        ("cached", 10_000, &tokens[..1000]),
        ("cached, 5,000 tokens", 10_000, &tokens[..]),
    ] {
        let state = verifier(&runtime, &url, cached_tokens);
        let verifier = &*state.verifier;
        for token in tokens {
            runtime
                .block_on(verifier.verify(token))
                .expect("the token verifies");
        }
        let mut group = c.benchmark_group(format!("EdDSA {name}, threads at once"));
        for threads in [1u64, 2] {
            group.throughput(Throughput::Elements(threads));
            group.bench_function(format!("{threads} thread(s)"), |b| {
                b.iter_custom(|iterations| {
                    let start = Instant::now();
                    std::thread::scope(|scope| {
                        for offset in 0..threads as usize {
                            scope.spawn(move || {
                                let start = offset * tokens.len() / 2;
                                for n in 0..iterations as usize {
                                    let token = &tokens[(n * 7 + start) % tokens.len()];
                                    verifier
                                        .verify(token)
                                        .now_or_never()
                                        .expect("no I/O")
                                        .unwrap();
                                }
                            });
                        }
                    });
                    start.elapsed()
                })
            });
        }
        group.finish();
    }
}

fn bench_verify(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    verifier: &Verifier,
    token: &str,
) {
    // With its key loaded, verification never waits on I/O: poll it once, with no runtime in
    // the measurement, exactly like the bare decode beside it.
    runtime
        .block_on(verifier.verify(token))
        .expect("the token verifies");
    group.bench_function(name, |b| {
        b.iter(|| {
            verifier
                .verify(token)
                .now_or_never()
                .expect("no I/O")
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = verification, key_set_size, scaling
}
criterion_main!(benches);
