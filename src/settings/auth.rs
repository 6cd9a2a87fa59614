//! The `[auth]` section: how tokens are verified, the key sets fetched, and DPoP proofs judged.
//! The issuer keys in it (`APP__AUTH__ISSUER`, `_AUDIENCE`, …) are the single-issuer shorthand,
//! read as an [`IssuerConfig`] of their own; each `[[auth.issuers]]` table is another.

use std::time::Duration;

use issuer_trust::Fetcher;
use issuer_trust::config::{
    DpopConfig, ForwardedCertificates, HttpConfig, IssuerConfig, KeySetConfig, MtlsConfig,
    ReplayStore, TrustedIssuer, positive, trust_all, values,
};
use serde::Deserialize;

use super::{SettingsError, StepUpSettings};
use crate::auth::ProofRules;

/// A setting of this section as an environment variable names it, for refusals.
fn auth_key(field: &str) -> String {
    format!("APP__AUTH__{}", field.to_ascii_uppercase())
}

/// How tokens are verified.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// The single-issuer shorthand, the issuer keys of `[auth]` itself: one issuer, and the
    /// defaults of every listed one. Read from the same table as the rest of the section.
    #[serde(skip)]
    pub shorthand: IssuerConfig,
    /// The `[[auth.issuers]]` tables, each an issuer trusted beside the shorthand's.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// Tokens longer than this are rejected before any parsing. Defaults to 16384 bytes: Entra ID
    /// tokens with many groups reach ~12 KB.
    pub max_token_bytes: usize,
    /// How many verified tokens are remembered to skip repeated signature checks; 0 disables.
    /// Defaults to 10000.
    pub token_cache_size: usize,
    /// The bytes those tokens may hold, each weighed by its claims' text (twice: the text and
    /// what is read out of it) plus a fixed part, so large tokens are remembered fewer at a
    /// time. Defaults to 16777216 (16 MiB).
    pub token_cache_max_bytes: u64,
    /// With a value above 0, the service waits this long at startup for signing keys and exits
    /// if none arrive; with 0 it serves at once and answers 503 until they do. Defaults to 0.
    pub wait_for_keys_seconds: u64,
    /// Connect and total timeout of each request to the issuer. Defaults to 5 s.
    pub http_timeout_seconds: u64,
    /// Largest JWKS or discovery document accepted. Defaults to 524288 bytes (512 KiB).
    pub max_jwks_bytes: usize,
    /// How issuers are reached through a company network: a private CA's roots, a proxy.
    #[serde(default)]
    pub http: HttpConfig,
    /// Certificate-bound tokens (RFC 8705): where the gateway forwards the client certificate.
    #[serde(default)]
    pub mtls: MtlsConfig,
    /// The `realm` of `WWW-Authenticate` challenges. Defaults to the package name.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub realm: Option<String>,
    /// What a route declared with the configured step-up demands (RFC 9470).
    pub step_up: StepUpSettings,
    /// How long key sets live and how stale they may serve, read from the same table as the
    /// rest of the section.
    #[serde(skip)]
    pub key_sets: KeySetConfig,
    /// How DPoP proofs are judged, read from the same table as the rest of the section (the
    /// `dpop_*` keys).
    #[serde(skip)]
    pub dpop: DpopConfig,
}

impl AuthSettings {
    /// Where used DPoP proofs are remembered.
    pub fn replay_store(&self) -> Result<ReplayStore, SettingsError> {
        self.dpop.replay_store(&auth_key)
    }

    /// The HTTP client every key store and the doctor use, bounded by these settings, through
    /// the company network's roots and proxy when set.
    pub fn fetcher(&self) -> Result<Fetcher, SettingsError> {
        self.http.fetcher(
            Duration::from_secs(self.http_timeout_seconds),
            self.max_jwks_bytes,
            &|field| format!("APP__AUTH__HTTP__{}", field.to_ascii_uppercase()),
        )
    }

    /// Refuses every value the service could not run safely with; `dev_issuer` is where the
    /// development issuer would be reached, when it is on.
    pub(super) fn check(
        &self,
        dev_issuer: Option<&str>,
        production: bool,
    ) -> Result<(), SettingsError> {
        positive("APP__AUTH__MAX_TOKEN_BYTES", self.max_token_bytes as u64)?;
        positive(
            "APP__AUTH__TOKEN_CACHE_MAX_BYTES",
            self.token_cache_max_bytes,
        )?;
        positive("APP__AUTH__HTTP_TIMEOUT_SECONDS", self.http_timeout_seconds)?;
        positive("APP__AUTH__MAX_JWKS_BYTES", self.max_jwks_bytes as u64)?;
        self.fetcher()?;
        self.dpop.rules(production, &auth_key)?;
        let trusted = self.trusted_issuers(dev_issuer, production)?;
        self.forwarded_certificates(&trusted).map(drop)
    }

    /// Where the client certificate of certificate-bound tokens is read, and each trusted
    /// issuer's mode.
    pub fn forwarded_certificates(
        &self,
        trusted: &[TrustedIssuer],
    ) -> Result<ForwardedCertificates, SettingsError> {
        self.mtls.forwarded(trusted, &|field| {
            format!("APP__AUTH__MTLS__{}", field.to_ascii_uppercase())
        })
    }

    /// Every trusted issuer, as the verifier takes it; `dev_issuer` is where the development
    /// issuer is reached, when it is on.
    pub fn trusted_issuers(
        &self,
        dev_issuer: Option<&str>,
        production: bool,
    ) -> Result<Vec<TrustedIssuer>, SettingsError> {
        let limits = self.key_sets.limits(production, &auth_key)?;
        let key = |issuer: Option<usize>, field: &str| match issuer {
            None => format!("APP__AUTH__{}", field.to_ascii_uppercase()),
            Some(index) => format!("auth.issuers[{index}].{field}"),
        };
        trust_all(
            &self.shorthand,
            &self.issuers,
            &limits,
            dev_issuer,
            production,
            &key,
        )
    }

    /// The rules DPoP proofs are judged by (their production bounds are checked at load).
    pub fn proof_rules(&self) -> Result<ProofRules, SettingsError> {
        self.dpop.rules(false, &auth_key)
    }

    /// The `realm` every challenge names.
    pub fn realm(&self) -> &str {
        self.realm.as_deref().unwrap_or(env!("CARGO_PKG_NAME"))
    }
}
