//! The state every worker shares, built once from the settings: the verifier with one key store
//! per trusted issuer, the challenge and metadata, the item store, metrics and the shutdown
//! flag. Building it does no I/O; loading keys is the stores' business.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::web;
use reqwest::Url;

use crate::auth::fetch::Fetcher;
use crate::auth::jwks::JwksSource;
use crate::auth::policy::{IssuerPolicy, RequiredClaim};
use crate::auth::{Challenge, JwksStore, Requirements, RolesClaim, Verifier};
use crate::dev_issuer::DevIssuer;
use crate::items::{InMemoryItemStore, ItemStore};
use crate::metrics::Metrics;
use crate::routes::ResourceMetadata;
use crate::routes::openapi::{self, OpenApiJson};
use crate::settings::{AuthSettings, CorsSettings, Settings};
use crate::startup::StartupError;

/// Everything the routes share, built once and cloned cheaply into each worker.
#[derive(Clone)]
pub struct AppState {
    pub verifier: web::Data<Verifier>,
    pub challenge: web::Data<Challenge>,
    pub metadata: web::Data<ResourceMetadata>,
    pub dev_issuer: Option<web::Data<DevIssuer>>,
    pub items: web::Data<dyn ItemStore>,
    /// Every route's permission requirement; the source of `scopes_supported`.
    pub requirements: Requirements,
    pub max_json_bytes: usize,
    pub cors: CorsSettings,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub draining: web::Data<Draining>,
    pub metrics: web::Data<Metrics>,
    /// The OpenAPI document, rendered once for every worker to serve.
    pub openapi: web::Data<OpenApiJson>,
    /// Whether `/metrics` is a route of the API (rather than on its own port).
    pub metrics_beside_api: bool,
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
        let metrics_beside_api = settings.server.metrics_port.is_none();
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
            openapi: web::Data::new(OpenApiJson::new(&openapi::document(
                dev_issuer.is_some(),
                metrics_beside_api,
            ))),
            metrics_beside_api,
            dev_issuer,
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
                refetch_cooldown: Duration::from_secs(auth.refetch_cooldown_seconds),
            };
            let policy = IssuerPolicy {
                audience: trusted.audience.clone(),
                algorithms: trusted.algorithms.clone(),
                leeway_seconds: trusted.leeway_seconds,
                audience_claim: trusted.audience_claim.clone(),
                required_claims: trusted
                    .required_claims
                    .iter()
                    .map(|(claim, one_of)| RequiredClaim::new(claim, one_of.clone()))
                    .collect(),
                roles_claim: RolesClaim(trusted.roles_claim.clone()),
                require_typ: trusted.require_typ.clone(),
                max_token_lifetime_seconds: trusted.max_token_lifetime_seconds,
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
            verifier.trust(Arc::new(store), policy)
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
