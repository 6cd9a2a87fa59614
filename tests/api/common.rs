//! Shared test fixtures: signing keys made at test time, a controllable issuer on 127.0.0.1
//! port 0 that counts its hits, settings built through the real configuration layers, and
//! requests through the routing table that production serves.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, body::MessageBody, test, web};
use app::settings::{Settings, SettingsError};
use app::state::AppState;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, get_current_timestamp};
use serde_json::{Value, json};

pub const AUDIENCE: &str = "api://test";

/// Key sets live exactly 1 s, so background refreshes happen within a test.
pub const SHORT_LIFETIMES: [(&str, &str); 2] = [
    ("APP__AUTH__JWKS_MIN_TTL_SECONDS", "1"),
    ("APP__AUTH__JWKS_MAX_TTL_SECONDS", "1"),
];

/// A private key with the public JWK an issuer would publish for it.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

/// Keys shared by every test of this binary (RSA generation is slow).
pub struct Keys {
    pub rsa: TestKey,
    pub ec: TestKey,
    pub ed: TestKey,
    /// An EC P-384 key (ES384), published only where a test adds it.
    pub ec384: TestKey,
    /// An RSA key no issuer publishes.
    pub rogue_rsa: TestKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    // The service's crypto provider, before these keys make jsonwebtoken pick its default.
    app::auth::install_crypto_provider();
    KEYS.get_or_init(|| Keys {
        rsa: rsa_key("rsa-1"),
        ec: ec_key("ec-1"),
        ed: ed_key("ed-1"),
        ec384: ec384_key("ec384-1"),
        rogue_rsa: rsa_key("rogue"),
    })
}

pub fn rsa_key(kid: &str) -> TestKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pem = pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        pair.as_der().unwrap().as_ref(),
    ));
    test_key(
        kid,
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
}

fn ec_key(kid: &str) -> TestKey {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    test_key(
        kid,
        Algorithm::ES256,
        EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
}

fn ec384_key(kid: &str) -> TestKey {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    test_key(
        kid,
        Algorithm::ES384,
        EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
}

pub fn ed_key(kid: &str) -> TestKey {
    let pkcs8 = Ed25519KeyPair::generate().unwrap().to_pkcs8v1().unwrap();
    test_key(
        kid,
        Algorithm::EdDSA,
        EncodingKey::from_ed_der(pkcs8.as_ref()),
    )
}

fn test_key(kid: &str, alg: Algorithm, encoding: EncodingKey) -> TestKey {
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    // Publish without `alg` so one RSA key serves RS* and PS* alike.
    jwk.as_object_mut().unwrap().remove("alg");
    TestKey {
        kid: kid.to_owned(),
        alg,
        encoding,
        jwk,
    }
}

/// The JWKS of the usual keys: RSA, EC P-256 and Ed25519.
pub fn standard_jwks() -> Value {
    let keys = keys();
    json!({ "keys": [keys.rsa.jwk, keys.ec.jwk, keys.ed.jwk] })
}

#[derive(Default)]
struct IssuerState {
    url: OnceLock<String>,
    jwks: Mutex<Value>,
    discovery: Mutex<bool>,
    discovery_issuer: Mutex<Option<String>>,
    cache_control: Mutex<Option<String>>,
    failing: Mutex<bool>,
    delay: Mutex<Option<std::time::Duration>>,
    byte_order_mark: Mutex<bool>,
    content_type: Mutex<Option<String>>,
    chunked: Mutex<bool>,
    /// The `ETag` and `Last-Modified` the JWKS is served with; a request naming them gets 304.
    etag: Mutex<Option<String>>,
    last_modified: Mutex<Option<String>>,
    /// The headers of every discovery and JWKS request, in order.
    requests: Mutex<Vec<HeaderMap>>,
    jwks_hits: AtomicUsize,
    not_modified_hits: AtomicUsize,
    other_hits: AtomicUsize,
}

/// An issuer on 127.0.0.1 port 0: discovery at the usual path, its JWKS at `/keys` (and at
/// `/.well-known/jwks.json`), 404 and a hit count for anything else.
pub struct TestIssuer {
    pub url: String,
    state: Arc<IssuerState>,
}

impl TestIssuer {
    pub fn start(jwks: Value) -> Self {
        Self::serve(jwks, None)
    }

    /// The issuer over TLS (`https://127.0.0.1:<port>`), presenting the certificate of `tls`.
    pub fn start_tls(jwks: Value, tls: rustls::ServerConfig) -> Self {
        Self::serve(jwks, Some(tls))
    }

    fn serve(jwks: Value, tls: Option<rustls::ServerConfig>) -> Self {
        let state = Arc::new(IssuerState::default());
        *state.jwks.lock().unwrap() = jwks;
        *state.discovery.lock().unwrap() = true;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let port = listener.local_addr().unwrap().port();
        let url = format!("{scheme}://127.0.0.1:{port}");
        state.url.set(url.clone()).unwrap();
        let shared = Arc::clone(&state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(Arc::clone(&shared)))
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                // Where a multi-tenant issuer's common document is found.
                .route(
                    "/organizations/v2.0/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/keys", web::get().to(jwks_document))
                .route("/.well-known/jwks.json", web::get().to(jwks_document))
                .route("/moved", web::get().to(|| redirect("/keys")))
                .route("/loop", web::get().to(redirect_loop))
                .default_service(web::to(other))
        })
        .workers(1)
        .disable_signals();
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        };
        actix_web::rt::spawn(server.unwrap().run());
        Self { url, state }
    }

    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// JWKS requests answered 304 because they named the current `ETag` or `Last-Modified`.
    pub fn not_modified_hits(&self) -> usize {
        self.state.not_modified_hits.load(Ordering::SeqCst)
    }

    /// Serve the JWKS with this `ETag`, and answer 304 to a request naming it.
    pub fn set_etag(&self, value: &str) {
        *self.state.etag.lock().unwrap() = Some(value.to_owned());
    }

    /// Serve the JWKS with this `Last-Modified`, and answer 304 to a request naming it.
    pub fn set_last_modified(&self, value: &str) {
        *self.state.last_modified.lock().unwrap() = Some(value.to_owned());
    }

    /// The values of header `name` on each discovery and JWKS request so far, in order.
    pub fn received(&self, name: &str) -> Vec<Option<String>> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|headers| {
                headers
                    .get(name)
                    .map(|value| value.to_str().unwrap().to_owned())
            })
            .collect()
    }

    pub fn other_hits(&self) -> usize {
        self.state.other_hits.load(Ordering::SeqCst)
    }

    pub fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    /// Serve the JWKS with this `Cache-Control` value.
    pub fn set_cache_control(&self, value: &str) {
        *self.state.cache_control.lock().unwrap() = Some(value.to_owned());
    }

    /// Hold every JWKS response back this long, like an issuer that hangs.
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self.state.delay.lock().unwrap() = Some(delay);
    }

    /// Answer every JWKS request with 503 (still counted) until told otherwise.
    pub fn set_failing(&self, failing: bool) {
        *self.state.failing.lock().unwrap() = failing;
    }

    /// Serve discovery and JWKS documents as this media type, as providers variously do.
    pub fn set_content_type(&self, value: &str) {
        *self.state.content_type.lock().unwrap() = Some(value.to_owned());
    }

    /// Stream documents in two chunks with no Content-Length, as a proxy might.
    pub fn set_chunked(&self) {
        *self.state.chunked.lock().unwrap() = true;
    }

    /// Start discovery and JWKS documents with a UTF-8 byte-order mark.
    pub fn set_byte_order_mark(&self) {
        *self.state.byte_order_mark.lock().unwrap() = true;
    }

    /// Name this issuer in the discovery document (by default, its URL).
    pub fn set_discovery_issuer(&self, issuer: &str) {
        *self.state.discovery_issuer.lock().unwrap() = Some(issuer.to_owned());
    }

    /// Answer discovery with 404, as Zuplo's issuer does.
    pub fn disable_discovery(&self) {
        *self.state.discovery.lock().unwrap() = false;
    }
}

async fn discovery(request: HttpRequest, state: web::Data<IssuerState>) -> HttpResponse {
    state
        .requests
        .lock()
        .unwrap()
        .push(request.headers().clone());
    if !*state.discovery.lock().unwrap() {
        return HttpResponse::NotFound().finish();
    }
    let url = state.url.get().unwrap();
    let issuer = state.discovery_issuer.lock().unwrap().clone();
    json_document(
        &state,
        HttpResponse::Ok(),
        &json!({ "issuer": issuer.as_deref().unwrap_or(url), "jwks_uri": format!("{url}/keys") }),
    )
}

/// A JSON response, led by a byte-order mark when the issuer is set to send one.
fn json_document(
    state: &IssuerState,
    mut response: actix_web::HttpResponseBuilder,
    document: &Value,
) -> HttpResponse {
    let mut body = Vec::new();
    if *state.byte_order_mark.lock().unwrap() {
        body.extend_from_slice("\u{feff}".as_bytes());
    }
    body.extend(serde_json::to_vec(document).unwrap());
    let content_type = state.content_type.lock().unwrap().clone();
    response.content_type(content_type.as_deref().unwrap_or("application/json"));
    if *state.chunked.lock().unwrap() {
        let second = web::Bytes::from(body.split_off(body.len() / 2));
        let chunks = [
            Ok::<_, actix_web::Error>(web::Bytes::from(body)),
            Ok(second),
        ];
        return response.streaming(futures_util::stream::iter(chunks));
    }
    response.body(body)
}

/// The JWKS as it was when the request arrived, held back by any delay, as a slow network or
/// cache in front of the issuer would deliver it.
async fn jwks_document(request: HttpRequest, state: web::Data<IssuerState>) -> HttpResponse {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    state
        .requests
        .lock()
        .unwrap()
        .push(request.headers().clone());
    let jwks = state.jwks.lock().unwrap().clone();
    let delay = *state.delay.lock().unwrap();
    if let Some(delay) = delay {
        actix_web::rt::time::sleep(delay).await;
    }
    if *state.failing.lock().unwrap() {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let validators = [
        ("ETag", "If-None-Match", state.etag.lock().unwrap().clone()),
        (
            "Last-Modified",
            "If-Modified-Since",
            state.last_modified.lock().unwrap().clone(),
        ),
    ];
    let unchanged = validators.iter().any(|(_, condition, value)| {
        value.is_some()
            && request
                .headers()
                .get(*condition)
                .and_then(|v| v.to_str().ok())
                == value.as_deref()
    });
    let mut response = if unchanged {
        state.not_modified_hits.fetch_add(1, Ordering::SeqCst);
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    if let Some(value) = state.cache_control.lock().unwrap().clone() {
        response.insert_header(("Cache-Control", value));
    }
    for (header, _, value) in validators {
        if let Some(value) = value {
            response.insert_header((header, value));
        }
    }
    if unchanged {
        return response.finish();
    }
    json_document(&state, response, &jwks)
}

async fn redirect(to: &'static str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", to))
        .finish()
}

/// Redirects to itself forever, counting each hop as an "other" hit.
async fn redirect_loop(state: web::Data<IssuerState>) -> HttpResponse {
    state.other_hits.fetch_add(1, Ordering::SeqCst);
    redirect("/loop").await
}

async fn other(state: web::Data<IssuerState>) -> HttpResponse {
    state.other_hits.fetch_add(1, Ordering::SeqCst);
    HttpResponse::NotFound().finish()
}

/// A URL on which nothing listens.
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
}

/// Where tests place the development issuer when they read the trusted issuers of settings.
pub const DEV_ISSUER_URL: &str = "http://127.0.0.1:8080";

/// The trusted issuers of `settings`, as the verifier takes them, with the development issuer
/// (where it is on) at [`DEV_ISSUER_URL`].
pub fn trusted(settings: &Settings) -> Vec<app::settings::TrustedIssuer> {
    settings.trusted_issuers(DEV_ISSUER_URL).unwrap()
}

/// Settings of the test profile, through files and environment layers, for `issuer`.
pub fn settings(issuer: &str, overrides: &[(&str, &str)]) -> Settings {
    let base = [
        ("APP_ENV", "test"),
        ("APP__AUTH__ISSUER", issuer),
        ("APP__AUTH__AUDIENCE", AUDIENCE),
    ];
    load_settings(&base, overrides)
}

/// Settings from `config/` with `base` then `overrides` as the environment.
pub fn load_settings(base: &[(&str, &str)], overrides: &[(&str, &str)]) -> Settings {
    let vars: HashMap<String, String> = base
        .iter()
        .chain(overrides)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_with(Path::new("config"), vars).expect("test settings are valid")
}

/// A config directory holding the real `default.toml` and a `test.toml` with `extra` appended.
fn config_dir(extra: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("issuers-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("config/default.toml", dir.join("default.toml")).unwrap();
    let profile = std::fs::read_to_string("config/test.toml").unwrap();
    std::fs::write(dir.join("test.toml"), format!("{profile}\n{extra}")).unwrap();
    dir
}

/// Settings of the test profile with `extra` TOML appended to it and `vars` as the environment.
pub fn load_with_profile(extra: &str, vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let dir = config_dir(extra);
    let mut env: HashMap<String, String> = HashMap::from([("APP_ENV".into(), "test".into())]);
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = Settings::load_with(&dir, env);
    let _ = std::fs::remove_dir_all(&dir);
    settings
}

/// A test issuer publishing the standard keys, and the state of an app trusting it.
pub async fn standard_state() -> (TestIssuer, AppState) {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(&issuer.url, &[])).await;
    (issuer, state)
}

/// A test issuer publishing the standard keys, and an app trusting it with its keys loaded.
pub async fn standard_app() -> (
    TestIssuer,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let (issuer, state) = standard_state().await;
    (issuer, crate::service!(state))
}

/// Shared state for `settings`, with its keys loaded (or their loading attempted).
pub async fn state(settings: &Settings) -> AppState {
    let state = AppState::new(settings, "http://localhost:8080").unwrap();
    for store in state.stores() {
        let _ = store.refresh().await;
        store.spawn_refresher();
    }
    state
}

/// An app serving the production routing table over `state`.
#[macro_export]
macro_rules! service {
    ($state:expr) => {
        actix_web::test::init_service(app::startup::app($state.clone())).await
    };
}

/// Claims a valid token of `issuer` carries.
pub fn claims(issuer: &str) -> Value {
    let now = get_current_timestamp();
    json!({ "iss": issuer, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 300 })
}

/// Signs `claims` with `key` under its own kid and algorithm.
pub fn sign(key: &TestKey, claims: &Value) -> String {
    sign_as(key, key.alg, Some(&key.kid), claims)
}

pub fn sign_as(key: &TestKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    sign_with_header(&header, key, claims)
}

pub fn sign_with_header(header: &Header, key: &TestKey, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &key.encoding).unwrap()
}

/// base64url without padding, for hand-made tokens.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a test looks at in a response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body less its `request_id`, after checking that it matches the response header.
    pub fn body_without_request_id(&self) -> Value {
        let mut body = self.body.clone();
        let id = body.as_object_mut().and_then(|b| b.remove("request_id"));
        assert_eq!(
            id.as_ref().and_then(Value::as_str),
            self.header("x-request-id")
        );
        body
    }

    pub fn error_description(&self) -> &str {
        self.body["error_description"].as_str().unwrap_or_default()
    }
}

/// Sends a prepared request and reads its reply.
pub async fn send<S, B>(app: &S, request: test::TestRequest) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// A token of `issuer` for `alice` granting `scope` (space-separated).
pub fn token_with_scope(issuer: &str, scope: &str) -> String {
    let mut claims = claims(issuer);
    claims["scope"] = json!(scope);
    sign(&keys().ed, &claims)
}

/// GETs `path` with an optional `Authorization` header value.
pub async fn get<S, B>(app: &S, path: &str, authorization: Option<&str>) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = test::TestRequest::get().uri(path);
    if let Some(value) = authorization {
        request = request.insert_header(("Authorization", value));
    }
    send(app, request).await
}

/// GETs `/api/v1/me` with `token` as a bearer credential.
pub async fn me<S, B>(app: &S, token: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    get_as(app, "/api/v1/me", token).await
}

/// `GET path` with `token` as a bearer token.
pub async fn get_as<S, B>(app: &S, path: &str, token: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    get(app, path, Some(&format!("Bearer {token}"))).await
}

/// The value of the sample whose line starts with `series` (name and labels), if any.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// The current value of one series of the app's `/metrics`, 0 when it has no sample yet.
pub async fn metric<S, B>(app: &S, series: &str) -> f64
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response =
        test::call_service(app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    sample(&text, series).unwrap_or(0.0)
}

/// Runs the real server on a free port and returns its base URL once `/ready` answers 200
/// (waiting up to 3 s).
pub async fn serve_until_ready(settings: Settings) -> String {
    let application = app::startup::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port());
    actix_web::rt::spawn(application.run_until_stopped());
    for _ in 0..300 {
        match reqwest::get(format!("{base}/ready")).await {
            Ok(ready) if ready.status() == 200 => break,
            _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    base
}

/// GETs `/api/v1/me` once per token, all at once, and returns the statuses in order.
pub async fn concurrently<S, B>(app: &S, tokens: Vec<String>) -> Vec<StatusCode>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let requests = tokens.into_iter().map(|token| {
        let request = test::TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request();
        test::call_service(app, request)
    });
    futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status())
        .collect()
}

/// Polls `condition` until `limit` has passed; panics naming `what` if it never holds.
pub async fn within(limit: std::time::Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if condition() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

/// [`within`] the time a background task gets on a busy machine.
pub async fn eventually(what: &str, condition: impl FnMut() -> bool) {
    within(std::time::Duration::from_secs(3), what, condition).await;
}

/// A child process of a test, stopped by its id when the test is done with it, or fails. Its
/// standard error goes to a file rather than a pipe, which a chatty process would fill and
/// then block on; `stop` and `exited_within` return it.
pub struct Process {
    child: Option<std::process::Child>,
    stderr: TempLog,
}

/// A log file in the temporary directory, removed when dropped.
struct TempLog(std::path::PathBuf);

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Process {
    pub fn spawn(command: &mut std::process::Command) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("test-{}-{nanos}.log", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let child = command.stderr(file).spawn().unwrap();
        Self {
            child: Some(child),
            stderr: TempLog(path),
        }
    }

    /// What the process has written to standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr.0).unwrap_or_default()
    }

    /// The process id, e.g. to signal it.
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, std::process::Child::id)
    }

    /// Kills the process and returns what it wrote to standard error.
    pub fn stop(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stderr()
    }

    /// Waits up to `limit` (without blocking the test's runtime) for the process to exit by
    /// itself, and returns its exit status; `None` if it is still running (it is then killed
    /// when dropped).
    pub async fn exited_within(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.as_mut()?.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The service binary on a free loopback port in the test profile, trusting the issuer at
/// `issuer` with two workers and `RUST_LOG=info`, with `vars` added to its environment; and its
/// base URL.
pub fn service_binary(issuer: &str, vars: &[(&str, &str)]) -> (Process, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command =
        std::process::Command::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))));
    command
        .env("APP_ENV", "test")
        .env("APP__AUTH__ISSUER", issuer)
        .env("APP__AUTH__AUDIENCE", AUDIENCE)
        .env("APP__SERVER__PORT", port.to_string())
        .env("APP__SERVER__WORKERS", "2")
        .env("RUST_LOG", "info")
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::null());
    (
        Process::spawn(&mut command),
        format!("http://127.0.0.1:{port}"),
    )
}

/// Waits up to 5 s for `base` to answer `/ready` with 200; panics if it never does.
pub async fn wait_until_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..500 {
        let ready = client.get(format!("{base}/ready")).send().await;
        if ready.is_ok_and(|reply| reply.status() == 200) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{base} never became ready");
}

/// Sends the signal `name` (`TERM`, `INT`) to `process`.
pub fn signal(process: &Process, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &process.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
