//! Prints a token from the development issuer, for `make token`.
//!
//! Reads `TOKEN_SUB`, `TOKEN_SCOPE`, `TOKEN_ROLES` (comma-separated, placed at the configured
//! roles claim), `TOKEN_TTL` (seconds), `TOKEN_ALG` (EdDSA, RS256 or ES256),
//! `TOKEN_AUD` (comma-separated), `TOKEN_ACR` and `TOKEN_AUTH_TIME` (Unix seconds; default now)
//! for step-up routes, `TOKEN_CNF_JKT` (a client key's thumbprint, to bind the token with
//! DPoP), `TOKEN_CNF_X5T` (a client certificate's thumbprint, to bind it with RFC 8705), and `TOKEN_COUNT` (how many distinct tokens to print, one a line;
//! default 1), with the same settings as `make run`, so the tokens are signed by the keys
//! the running service trusts.

use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use app::settings::{Settings, split_commas};
use issuer_trust::dev::{DevIssuer, TokenRequest};
use jsonwebtoken::Algorithm;

fn main() -> ExitCode {
    match tokens() {
        Ok(tokens) => {
            for token in tokens {
                println!("{token}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("make token: {message}");
            ExitCode::from(2)
        }
    }
}

fn tokens() -> Result<Vec<String>, String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    if !settings.dev_issuer.enabled {
        return Err(
            "the development issuer is off in this profile (APP__DEV_ISSUER__ENABLED)".into(),
        );
    }
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let ttl = var("TOKEN_TTL")
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("TTL `{v}` is not a number of seconds"))
        })
        .transpose()?
        .unwrap_or(3600);
    let algorithm = var("TOKEN_ALG")
        .map(|v| {
            Algorithm::from_str(v.trim())
                .map_err(|_| format!("ALG `{v}` is not EdDSA, RS256 or ES256"))
        })
        .transpose()?
        .unwrap_or(Algorithm::EdDSA);
    let audience = var("TOKEN_AUD")
        .map(|v| split_commas(&v))
        .unwrap_or_else(|| development_audience(&settings));
    let request = TokenRequest {
        subject: var("TOKEN_SUB").unwrap_or_else(|| "dev-user".to_owned()),
        audience,
        scope: var("TOKEN_SCOPE"),
        roles: var("TOKEN_ROLES").map_or_else(Vec::new, |v| split_commas(&v)),
        roles_claim: settings
            .auth
            .shorthand
            .roles_claim
            .clone()
            .unwrap_or_else(|| "roles".to_owned()),
        ttl: Duration::from_secs(ttl),
        algorithm,
        acr: var("TOKEN_ACR"),
        cnf_jkt: var("TOKEN_CNF_JKT"),
        cnf_x5t_s256: var("TOKEN_CNF_X5T"),
        auth_time: var("TOKEN_AUTH_TIME")
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("AUTH_TIME `{v}` is not a Unix time in seconds"))
            })
            .transpose()?,
    };
    let issuer_url = settings.public_url(settings.server.port);
    let count = var("TOKEN_COUNT")
        .map(|v| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("COUNT `{v}` is not a number"))
        })
        .transpose()?
        .unwrap_or(1);
    let issuer = DevIssuer::load_or_create(issuer_url, settings.dev_issuer.key_path().as_deref())
        .map_err(|e| e.to_string())?;
    // Each token has its own random `jti`, so every one is distinct.
    (0..count)
        .map(|_| issuer.sign(&request).map_err(|e| e.to_string()))
        .collect()
}

/// The audience the service expects of development tokens: the shorthand's, which the
/// development issuer takes, else the first listed issuer's.
fn development_audience(settings: &Settings) -> Vec<String> {
    let auth = &settings.auth;
    std::iter::once(&auth.shorthand)
        .chain(&auth.issuers)
        .map(|issuer| issuer.audience.clone())
        .find(|audience| !audience.is_empty())
        .unwrap_or_default()
}
