//! Builds the shared state once and serves it: `Application::build` binds its own listener
//! (port 0 allowed) so tests can run the real server and read the port it got.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{LOCATION, WWW_AUTHENTICATE};
use actix_web::middleware::{Condition, Logger, from_fn};
use actix_web::{App, HttpServer, web};
use reqwest::Url;

use crate::auth::fetch::Fetcher;
use crate::auth::jwks::JwksSource;
use crate::auth::verifier::IssuerPolicy;
use crate::auth::{Challenge, JwksStore, Requirements, RolesClaim, Verifier};
use crate::dev_issuer::{DevIssuer, DevIssuerError};
use crate::errors;
use crate::items::{InMemoryItemStore, ItemStore};
use crate::metrics::{self, Metrics};
use crate::request_id;
use crate::routes::{self, ResourceMetadata};
use crate::settings::{AuthSettings, CorsSettings, Settings};

/// Why the service could not start.
#[derive(Debug)]
pub enum StartupError {
    Bind(std::io::Error),
    DevIssuer(DevIssuerError),
    InvalidUrl(&'static str, String),
    /// `wait_for_keys_seconds` passed without a key set.
    NoKeys(Duration),
    Serve(std::io::Error),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bind(error) => write!(f, "cannot listen: {error}"),
            Self::DevIssuer(error) => error.fmt(f),
            Self::InvalidUrl(what, value) => write!(f, "{what} `{value}` is not a valid URL"),
            Self::NoKeys(waited) => write!(
                f,
                "no signing keys from the issuer within {} s (APP__AUTH__WAIT_FOR_KEYS_SECONDS)",
                waited.as_secs()
            ),
            Self::Serve(error) => write!(f, "server error: {error}"),
        }
    }
}

impl std::error::Error for StartupError {}

/// Everything the routes share, built once and cloned cheaply into each worker.
#[derive(Clone)]
pub struct AppState {
    pub verifier: web::Data<Verifier>,
    pub challenge: web::Data<Challenge>,
    pub metadata: web::Data<ResourceMetadata>,
    pub dev_issuer: Option<web::Data<DevIssuer>>,
    pub roles_claim: web::Data<RolesClaim>,
    pub items: web::Data<dyn ItemStore>,
    /// Every route's permission requirement; the source of `scopes_supported`.
    pub requirements: Requirements,
    pub max_json_bytes: usize,
    pub cors: CorsSettings,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub draining: web::Data<Draining>,
    pub metrics: web::Data<Metrics>,
}

/// Whether the service is shutting down.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Marks the service as shutting down.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl AppState {
    /// Builds the verifier, its key store and the metadata for a service reachable at
    /// `public_url`. No I/O: call [`JwksStore::spawn_refresher`] (or `refresh`) to load keys.
    pub fn new(settings: &Settings, public_url: &str) -> Result<Self, StartupError> {
        let public_url = public_url.trim_end_matches('/');
        let auth = &settings.auth;
        let dev_issuer = if settings.dev_issuer.enabled {
            let issuer = DevIssuer::load_or_create(
                dev_issuer_url(public_url),
                settings.dev_issuer.key_path().as_deref(),
            )
            .map_err(StartupError::DevIssuer)?;
            Some(web::Data::new(issuer))
        } else {
            None
        };
        let metrics = Arc::new(Metrics::default());
        let verifier = verifier(&settings.auth, public_url, &metrics)?;
        let authorization_servers = verifier
            .stores()
            .map(|store| store.issuer().to_owned())
            .collect();
        let metadata_url = format!("{public_url}/.well-known/oauth-protected-resource");
        Ok(Self {
            verifier: web::Data::new(verifier),
            challenge: web::Data::new(Challenge {
                realm: auth.realm.clone(),
                resource_metadata: metadata_url,
            }),
            metadata: web::Data::new(ResourceMetadata {
                resource: public_url.to_owned(),
                authorization_servers,
                bearer_methods_supported: vec!["header"],
            }),
            dev_issuer,
            roles_claim: web::Data::new(RolesClaim(auth.roles_claim.clone())),
            items: web::Data::from(Arc::new(InMemoryItemStore::default()) as Arc<dyn ItemStore>),
            requirements: Requirements::default(),
            max_json_bytes: settings.server.max_json_bytes,
            cors: settings.cors.clone(),
            draining: web::Data::new(Draining::default()),
            metrics: web::Data::from(metrics),
        })
    }

    /// The key stores behind the verifier, one per trusted issuer.
    pub fn stores(&self) -> impl Iterator<Item = &Arc<JwksStore>> {
        self.verifier.stores()
    }
}

/// Where each configured issuer's keys come from, and what its tokens must satisfy.
pub fn trusted_issuers(
    auth: &AuthSettings,
    public_url: &str,
) -> Result<Vec<(JwksSource, IssuerPolicy)>, StartupError> {
    auth.issuers
        .iter()
        .map(|trusted| {
            let jwks_uri = trusted
                .jwks_uri
                .as_deref()
                .map(|uri| {
                    Url::parse(uri).map_err(|_| StartupError::InvalidUrl("jwks_uri", uri.into()))
                })
                .transpose()?;
            let source = JwksSource {
                issuer: trusted
                    .issuer
                    .clone()
                    .unwrap_or_else(|| dev_issuer_url(public_url)),
                jwks_uri,
                algorithms: trusted.algorithms.clone(),
                default_ttl: Duration::from_secs(auth.jwks_ttl_seconds),
                min_ttl: Duration::from_secs(auth.jwks_min_ttl_seconds),
                max_ttl: Duration::from_secs(auth.jwks_max_ttl_seconds),
                max_stale: Duration::from_secs(auth.max_stale_seconds),
                max_keys: auth.max_jwks_keys,
                unknown_kid_capacity: auth.unknown_kid_cache_size,
                unknown_kid_lifetime: Duration::from_secs(auth.unknown_kid_cache_seconds),
                refetch_cooldown: Duration::from_secs(auth.refetch_cooldown_seconds),
            };
            let policy = IssuerPolicy {
                audience: trusted.audience.clone(),
                algorithms: trusted.algorithms.clone(),
                leeway_seconds: trusted.leeway_seconds,
            };
            Ok((source, policy))
        })
        .collect()
}

/// The HTTP client every key store and the doctor use, bounded by the settings.
pub fn fetcher(auth: &AuthSettings) -> Fetcher {
    Fetcher::new(
        Duration::from_secs(auth.http_timeout_seconds),
        auth.max_jwks_bytes,
    )
}

/// A verifier trusting every configured issuer, each with its own key store. The stores share
/// one HTTP client.
pub fn verifier(
    auth: &AuthSettings,
    public_url: &str,
    metrics: &Arc<Metrics>,
) -> Result<Verifier, StartupError> {
    let fetcher = fetcher(auth);
    let verifier = trusted_issuers(auth, public_url)?.into_iter().fold(
        Verifier::new(
            auth.max_token_bytes,
            auth.token_cache_size,
            Arc::clone(metrics),
        ),
        |verifier, (source, policy)| {
            let store = JwksStore::new(source, fetcher.clone(), Arc::clone(metrics));
            verifier.trust(Arc::new(store), &policy)
        },
    );
    Ok(verifier)
}

/// The development issuer's URL: the service's own public URL.
pub fn dev_issuer_url(public_url: &str) -> String {
    public_url.trim_end_matches('/').to_owned()
}

/// The public URL: configured, or derived from the bound address.
pub fn public_url(settings: &Settings, port: u16) -> String {
    match &settings.server.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = match settings.server.host.as_str() {
                "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
                host => host,
            };
            format!("http://{host}:{port}")
        }
    }
}

/// A bound, configured server, ready to run.
pub struct Application {
    port: u16,
    public_url: String,
    state: AppState,
    server: Server,
    wait_for_keys: Option<Duration>,
}

impl Application {
    /// Binds the listener, builds the shared state and starts loading keys in the background.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .map_err(StartupError::Bind)?;
        let port = listener.local_addr().map_err(StartupError::Bind)?.port();
        let public_url = public_url(&settings, port);
        let state = AppState::new(&settings, &public_url)?;
        for store in state.stores() {
            store.spawn_refresher();
        }

        let app_state = state.clone();
        let mut server = HttpServer::new(move || app(app_state.clone()))
            .listen(listener)
            .map_err(StartupError::Bind)?
            // Signals are ours to handle (see `Shutdown`), so readiness can turn 503 first.
            .disable_signals()
            .shutdown_timeout(settings.server.drain_seconds);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Self {
            port,
            public_url,
            state,
            server: server.run(),
            wait_for_keys: Some(Duration::from_secs(settings.auth.wait_for_keys_seconds))
                .filter(|wait| !wait.is_zero()),
        })
    }

    /// Whether every issuer's keys arrive within `deadline`.
    async fn all_keys_within(state: &AppState, deadline: Duration) -> bool {
        let give_up = tokio::time::Instant::now() + deadline;
        for store in state.stores() {
            let left = give_up.saturating_duration_since(tokio::time::Instant::now());
            if !store.wait_until_ready(left).await {
                return false;
            }
        }
        true
    }

    /// What stops this application gracefully; SIGTERM and Ctrl-C trigger it too.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown {
            state: self.state.clone(),
            server: self.server.handle(),
        }
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base URL the service announces.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The shared state, e.g. to watch key loading.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is told to stop. With `wait_for_keys_seconds` set, stops with
    /// [`StartupError::NoKeys`] if no key set arrives in time (the server already answers
    /// meanwhile, so a development issuer on this same server can be fetched).
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let shutdown = self.shutdown();
        let serving = actix_web::rt::spawn(self.server);
        let on_signal = shutdown.clone();
        actix_web::rt::spawn(async move {
            if termination_signal().await.is_ok() {
                log::info!("termination signal: draining");
                on_signal.begin().await;
            }
        });
        if let Some(deadline) = self.wait_for_keys
            && !Self::all_keys_within(&self.state, deadline).await
        {
            shutdown.server.stop(false).await;
            return Err(StartupError::NoKeys(deadline));
        }
        match serving.await {
            Ok(result) => result.map_err(StartupError::Serve),
            Err(_) => Err(StartupError::Serve(std::io::Error::other(
                "server task failed",
            ))),
        }
    }
}

/// A graceful stop: readiness turns 503 at once, key refreshers end, and the server stops
/// accepting and lets in-flight requests finish within `drain_seconds`.
#[derive(Clone)]
pub struct Shutdown {
    state: AppState,
    server: ServerHandle,
}

impl Shutdown {
    /// Begins the stop and waits for the server to finish it.
    pub async fn begin(&self) {
        self.state.draining.set();
        for store in self.state.stores() {
            store.stop_refreshing();
        }
        self.server.stop(true).await;
    }
}

/// Asks `/health` of the server these settings describe, on loopback: the container health check.
pub async fn probe_health(settings: &Settings) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{}/health", settings.server.port);
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())?
        .get(&url)
        .send()
        .await
        .map_err(|_| format!("{url} did not answer"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", response.status()))
    }
}

/// SIGTERM (from an orchestrator) or Ctrl-C.
async fn termination_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = terminate.recv() => Ok(()),
            result = tokio::signal::ctrl_c() => result,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// The whole application: routes inside, then (outward) problem responses, CORS, request id
/// and the access log. CORS wraps authentication, so preflights are never challenged and error
/// responses carry CORS headers. Tests build the same application.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .configure(|cfg| routes::configure(cfg, &state))
        .wrap(errors::problem_responses())
        .wrap(Condition::new(
            !state.cors.allowed_origins.is_empty(),
            cors(&state.cors),
        ))
        .wrap(from_fn(metrics::record))
        .wrap(from_fn(request_id::assign))
        .wrap(request_logger())
}

fn cors(settings: &CorsSettings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(settings.allowed_methods.clone())
        .allowed_headers(settings.allowed_headers.clone())
        .expose_headers([WWW_AUTHENTICATE, LOCATION, request_id::REQUEST_ID])
        .max_age(settings.max_age_seconds);
    for origin in &settings.allowed_origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// Access log with the request id and without the query string, where a misbehaving client
/// might put a token.
fn request_logger() -> Logger {
    Logger::new("%a \"%{method}xi %U\" %s %b %Dms id=%{x-request-id}o")
        .custom_request_replace("method", |req| req.method().to_string())
}
