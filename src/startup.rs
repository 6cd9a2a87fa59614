//! Serves the shared state: `Application::build` binds its own listener (port 0 allowed) so
//! tests can run the real server and read the port it got; `app` assembles the middleware and
//! routes both the server and the tests use; `Shutdown` stops it gracefully.

use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{LOCATION, WWW_AUTHENTICATE};
use actix_web::middleware::{Condition, Next, from_fn};
use actix_web::{App, HttpServer, web};

use crate::request_id::RequestId;
use crate::settings::{CorsSettings, Settings};
use crate::state::{AppState, StateError};
use crate::{errors, observe, request_id, routes};

/// Why the service could not start.
#[derive(Debug)]
pub enum StartupError {
    Bind(std::io::Error),
    State(StateError),
    /// `wait_for_keys_seconds` passed without a key set.
    NoKeys(Duration),
    Serve(std::io::Error),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bind(error) => write!(f, "cannot listen: {error}"),
            Self::State(error) => error.fmt(f),
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

/// A bound, configured server, ready to run.
pub struct Application {
    port: u16,
    public_url: String,
    state: AppState,
    server: Server,
    /// `/metrics` on its own port, when `metrics_port` is set.
    metrics: Option<(u16, Server)>,
    wait_for_keys: Option<Duration>,
    shutdown_delay: Duration,
}

impl Application {
    /// Binds the listener, builds the shared state and starts loading keys in the background.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let (listener, port) = listen(&settings.server.host, settings.server.port)?;
        let public_url = settings.public_url(port);
        let state = AppState::new(&settings, &public_url).map_err(StartupError::State)?;
        for store in state.stores() {
            // Keys handed over are read before serving, so the service is ready as it starts.
            if store.keys_handed_over() {
                let _ = store.refresh().await;
            }
            store.spawn_refresher();
        }
        if let Some(store) = &state.replay_store {
            // Reached before serving when it answers; the replica is not ready until it has.
            store.clone().into_inner().watch().await;
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
        let metrics = metrics_server(&settings, &state)?;
        Ok(Self {
            port,
            public_url,
            state,
            server: server.run(),
            metrics,
            wait_for_keys: Some(Duration::from_secs(settings.auth.wait_for_keys_seconds))
                .filter(|wait| !wait.is_zero()),
            shutdown_delay: Duration::from_secs(settings.server.shutdown_delay_seconds),
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
            metrics_server: self.metrics.as_ref().map(|(_, server)| server.handle()),
        }
    }

    /// The port `/metrics` is served on when it has its own (`metrics_port`).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
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
    ///
    /// On SIGTERM or SIGINT, `/ready` answers 503 at once while requests are still accepted and
    /// served for `shutdown_delay_seconds`: a balancer that health-checks `/ready`, or
    /// Kubernetes removing the pod's endpoint, needs that long to stop sending traffic, and a
    /// server that stopped accepting in the same instant would refuse what is still sent. A
    /// second signal ends the delay. Then the graceful stop of [`Shutdown::begin`].
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let shutdown = self.shutdown();
        let serving = actix_web::rt::spawn(self.server);
        if let Some((_, metrics)) = self.metrics {
            actix_web::rt::spawn(metrics);
        }
        let on_signal = shutdown.clone();
        let delay = self.shutdown_delay;
        actix_web::rt::spawn(async move {
            let Ok(mut signals) = TerminationSignals::new() else {
                log::error!("termination signals cannot be received: stop the process by kill");
                return;
            };
            signals.next().await;
            on_signal.state.draining.set();
            log::info!(
                "termination signal: /ready answers 503; serving on for {} s, then draining",
                delay.as_secs()
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = signals.next() => log::info!("second termination signal: draining now"),
            }
            on_signal.begin().await;
        });
        if let Some(deadline) = self.wait_for_keys
            && !Self::all_keys_within(&self.state, deadline).await
        {
            shutdown.stop_servers(false).await;
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
    metrics_server: Option<ServerHandle>,
}

impl Shutdown {
    /// Begins the stop and waits for the server to finish it.
    pub async fn begin(&self) {
        self.state.draining.set();
        for store in self.state.stores() {
            store.stop_refreshing();
        }
        self.stop_servers(true).await;
    }

    /// Stops the API (gracefully: in-flight requests finish) and then the metrics server, so
    /// the drain itself can still be scraped.
    async fn stop_servers(&self, graceful: bool) {
        self.server.stop(graceful).await;
        if let Some(metrics_server) = &self.metrics_server {
            metrics_server.stop(graceful).await;
        }
    }
}

/// A listener on `host:port` and the port it got (port 0 picks a free one).
fn listen(host: &str, port: u16) -> Result<(TcpListener, u16), StartupError> {
    let listener = TcpListener::bind((host, port)).map_err(StartupError::Bind)?;
    let port = listener.local_addr().map_err(StartupError::Bind)?.port();
    Ok((listener, port))
}

/// `/metrics` alone on its own listener (one worker: scrapes are rare), or `None` when it is a
/// route of the API.
fn metrics_server(
    settings: &Settings,
    state: &AppState,
) -> Result<Option<(u16, Server)>, StartupError> {
    let Some(port) = settings.server.metrics_port else {
        return Ok(None);
    };
    let (listener, port) = listen(&settings.server.host, port)?;
    let (metrics, verifier) = (state.metrics.clone(), state.verifier.clone());
    let authenticator = state.authenticator.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .app_data(verifier.clone())
            .service(routes::metrics_route(&authenticator))
            .default_service(web::to(errors::not_found))
            // Its errors (404, 405) as problems, as the API's are; uncounted, unlogged.
            .wrap(from_fn(|req: ServiceRequest, next: Next<_>| async move {
                let id = RequestId::for_request(&req);
                Ok::<_, actix_web::Error>(errors::as_problem(next.call(req).await?, &id))
            }))
    })
    .listen(listener)
    .map_err(StartupError::Bind)?
    .disable_signals()
    .workers(1)
    .shutdown_timeout(settings.server.drain_seconds)
    .run();
    Ok(Some((port, server)))
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

/// SIGTERM (from an orchestrator) and Ctrl-C, listened to from startup on, so that no signal
/// between the first and the wait for a second is missed.
struct TerminationSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl TerminationSignals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// The next SIGTERM or SIGINT.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => {}
                _ = self.interrupt.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The whole application: routes (with authentication on the protected scope) inside, then,
/// outward, CORS, the request middleware (request id, problem responses, metrics, access log)
/// and the request's trace span, so a request meets them in the reverse order. CORS wraps authentication, so preflights
/// are never challenged and error responses carry CORS headers; metrics and the log see every
/// response, problems included, under its request id. Tests build the same application.
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
    let metrics = state.metrics.clone();
    App::new()
        .configure(|cfg| routes::configure(cfg, &state))
        .wrap(Condition::new(
            !state.cors.allowed_origins.is_empty(),
            cors(&state.cors),
        ))
        .wrap(from_fn(move |req, next| {
            observe::observe(metrics.clone(), req, next)
        }))
        .wrap(from_fn(issuer_trust::actix::trace_requests))
}

/// The CORS policy. Its lists were checked when the settings loaded; were one unparsable, it
/// would allow none of it, never more.
fn cors(settings: &CorsSettings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(settings.methods().unwrap_or_default())
        .allowed_headers(settings.headers().unwrap_or_default())
        .expose_headers([
            WWW_AUTHENTICATE,
            LOCATION,
            request_id::REQUEST_ID,
            crate::auth::DPOP_NONCE,
        ])
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
