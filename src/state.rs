//! The state every worker shares, built once from the settings: the verifier with one key store
//! per trusted issuer, the challenge and metadata, the item store, metrics and the shutdown
//! flag. Building it does no I/O; loading keys is the stores' business, and a shared DPoP
//! replay store connects on first use.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::web;

use crate::auth::dpop::SharedProofs;
use crate::auth::{Authenticator, Challenge, JwksStore, ResourceMetadata, StepUp, Verifier};
use crate::items::{InMemoryItemStore, ItemStore};
use crate::metrics::Metrics;
use crate::settings::{CorsSettings, ReplayStore, Settings, SettingsError};
use issuer_trust::dev::{DevIssuer, DevIssuerError};

/// Everything the routes share, built once and cloned cheaply into each worker.
#[derive(Clone)]
pub struct AppState {
    /// The verifier and what the bearer middleware needs beside it: where tokens arrive, the
    /// DPoP rules (RFC 9449) and the challenge.
    pub authenticator: Arc<Authenticator>,
    /// The verifier, for the readiness and metrics routes.
    pub verifier: web::Data<Verifier>,
    /// What a route declared with the configured step-up demands (`auth.step_up`).
    pub step_up: StepUp,
    pub metadata: web::Data<ResourceMetadata>,
    pub dev_issuer: Option<web::Data<DevIssuer>>,
    pub items: web::Data<dyn ItemStore>,
    pub max_json_bytes: usize,
    pub cors: CorsSettings,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub draining: web::Data<Draining>,
    pub metrics: web::Data<Metrics>,
    /// Whether `/metrics` is a route of the API (rather than on its own port).
    pub metrics_beside_api: bool,
    /// The DPoP replay store shared by the replicas, where one is configured, for readiness.
    pub replay_store: Option<web::Data<SharedProofs>>,
}

/// Why the shared state could not be built.
#[derive(Debug)]
pub enum StateError {
    DevIssuer(DevIssuerError),
    /// A setting refused as the state is built (they are checked when loaded, so only a
    /// settings value built by hand meets this).
    Settings(SettingsError),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DevIssuer(error) => error.fmt(f),
            Self::Settings(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for StateError {}

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
    pub fn new(settings: &Settings, public_url: &str) -> Result<Self, StateError> {
        let public_url = public_url.trim_end_matches('/');
        let auth = &settings.auth;
        let dev_issuer = if settings.dev_issuer.enabled {
            let issuer = DevIssuer::load_or_create(
                public_url.to_owned(),
                settings.dev_issuer.key_path().as_deref(),
            )
            .map_err(StateError::DevIssuer)?;
            Some(web::Data::new(issuer))
        } else {
            None
        };
        let metrics = Arc::new(Metrics::default());
        let observer: Arc<dyn crate::auth::Observer> = metrics.verifier.clone();
        let trusted = settings
            .trusted_issuers(public_url)
            .map_err(StateError::Settings)?;
        let verifier = Arc::new(
            crate::trust::verifier(auth, &trusted, &observer).map_err(StateError::Settings)?,
        );
        let authorization_servers = verifier
            .stores()
            .map(|store| store.issuer().to_owned())
            .collect();
        let metrics_beside_api = settings.server.metrics_port.is_none();
        let metadata_url = format!("{public_url}/.well-known/oauth-protected-resource");
        let mut dpop =
            crate::trust::dpop(auth, &trusted, public_url).map_err(StateError::Settings)?;
        let replay_store = match auth.replay_store().map_err(StateError::Settings)? {
            ReplayStore::Memory => None,
            ReplayStore::Redis => {
                let store = (settings.redis)
                    .shared_proofs(Arc::clone(&observer), &crate::settings::redis_key)
                    .map_err(StateError::Settings)?;
                dpop = dpop.sharing(Arc::clone(&store));
                Some(web::Data::from(store))
            }
        };
        let dpop_algs = dpop.accepts_dpop().then(|| dpop.algorithm_names());
        let challenge = Challenge {
            realm: auth.realm().to_owned(),
            resource_metadata: metadata_url,
            bearer: dpop.accepts_bearer(),
            dpop_algs: dpop_algs.as_ref().map(|algs| algs.join(" ")),
            problem_types: crate::problem::PROBLEM_TYPES.to_owned(),
        };
        let certificates =
            crate::trust::certificates(auth, &trusted).map_err(StateError::Settings)?;
        let metadata = ResourceMetadata {
            tls_client_certificate_bound_access_tokens: certificates
                .reads_certificates()
                .then_some(true),
            resource: public_url.to_owned(),
            authorization_servers,
            bearer_methods_supported: vec!["header"],
            dpop_bound_access_tokens_required: dpop_algs.is_some().then(|| !dpop.accepts_bearer()),
            dpop_signing_alg_values_supported: dpop_algs,
        };
        let token_sources = crate::trust::token_sources(&trusted).map_err(StateError::Settings)?;
        Ok(Self {
            authenticator: Authenticator::new(
                Arc::clone(&verifier),
                token_sources,
                dpop,
                certificates,
                challenge,
            ),
            verifier: web::Data::from(verifier),
            step_up: StepUp::new(
                settings.auth.step_up.acr_values.clone(),
                settings.auth.step_up.max_age_seconds,
            ),
            metadata: web::Data::new(metadata),
            metrics_beside_api,
            dev_issuer,
            items: web::Data::from(Arc::new(InMemoryItemStore::default()) as Arc<dyn ItemStore>),
            max_json_bytes: settings.server.max_json_bytes,
            cors: settings.cors.clone(),
            draining: web::Data::new(Draining::default()),
            metrics: web::Data::from(metrics),
            replay_store,
        })
    }

    /// The key stores behind the verifier, one per trusted issuer.
    pub fn stores(&self) -> impl Iterator<Item = &Arc<JwksStore>> {
        self.verifier.stores()
    }
}
