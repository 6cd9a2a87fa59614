//! The list of trusted issuers: the single-issuer `APP__AUTH__*` shorthand, any
//! `[[auth.issuers]]` tables, or the development issuer when neither names one.

use serde::Deserialize;

use super::validate::{check_url, parse_algorithms};
use super::{IssuerSettings, SettingsError, list};

const MAX_LEEWAY_SECONDS: u64 = 300;

/// One `[[auth.issuers]]` table, e.g. Zuplo and Auth0 side by side during a migration.
#[derive(Debug, Deserialize)]
pub(super) struct RawIssuer {
    issuer: String,
    #[serde(default, deserialize_with = "list::string_list")]
    audience: Vec<String>,
    #[serde(default, deserialize_with = "list::optional_string")]
    jwks_uri: Option<String>,
    #[serde(default, deserialize_with = "list::string_list")]
    algorithms: Vec<String>,
    leeway_seconds: Option<u64>,
}

/// The `APP__AUTH__ISSUER`, `_AUDIENCE`, `_JWKS_URI`, `_ALGORITHMS` and `_LEEWAY_SECONDS` keys:
/// one issuer, and the defaults of every listed one.
pub(super) struct Shorthand {
    pub issuer: Option<String>,
    pub audience: Vec<String>,
    pub jwks_uri: Option<String>,
    pub algorithms: Vec<String>,
    pub leeway_seconds: u64,
}

/// Validates every trusted issuer. `dev_issuer` stands in when none is configured.
pub(super) fn trusted_issuers(
    shorthand: Shorthand,
    listed: Vec<RawIssuer>,
    dev_issuer: bool,
    production: bool,
) -> Result<Vec<IssuerSettings>, SettingsError> {
    let default_algorithms = parse_algorithms("APP__AUTH__ALGORITHMS", &shorthand.algorithms)?;
    check_leeway("APP__AUTH__LEEWAY_SECONDS", shorthand.leeway_seconds)?;
    let mut issuers = Vec::with_capacity(listed.len() + 1);

    if shorthand.issuer.is_some() || (listed.is_empty() && dev_issuer) {
        if let Some(issuer) = &shorthand.issuer {
            check_url("APP__AUTH__ISSUER", issuer, production)?;
        }
        if let Some(jwks_uri) = &shorthand.jwks_uri {
            check_url("APP__AUTH__JWKS_URI", jwks_uri, production)?;
        }
        require_audience("APP__AUTH__AUDIENCE", &shorthand.audience)?;
        issuers.push(IssuerSettings {
            issuer: shorthand.issuer,
            audience: shorthand.audience,
            jwks_uri: shorthand.jwks_uri,
            algorithms: default_algorithms.clone(),
            leeway_seconds: shorthand.leeway_seconds,
        });
    }
    for (index, raw) in listed.into_iter().enumerate() {
        let key = |field: &str| format!("auth.issuers[{index}].{field}");
        check_url(&key("issuer"), &raw.issuer, production)?;
        if let Some(jwks_uri) = &raw.jwks_uri {
            check_url(&key("jwks_uri"), jwks_uri, production)?;
        }
        require_audience(&key("audience"), &raw.audience)?;
        let leeway_seconds = raw.leeway_seconds.unwrap_or(shorthand.leeway_seconds);
        check_leeway(&key("leeway_seconds"), leeway_seconds)?;
        let algorithms = if raw.algorithms.is_empty() {
            default_algorithms.clone()
        } else {
            parse_algorithms(&key("algorithms"), &raw.algorithms)?
        };
        if issuers
            .iter()
            .any(|known: &IssuerSettings| known.issuer.as_deref() == Some(&raw.issuer))
        {
            return Err(SettingsError::new(
                &key("issuer"),
                format!("`{}` is configured twice", raw.issuer),
                "list each issuer once",
            ));
        }
        issuers.push(IssuerSettings {
            issuer: Some(raw.issuer),
            audience: raw.audience,
            jwks_uri: raw.jwks_uri,
            algorithms,
            leeway_seconds,
        });
    }
    if issuers.is_empty() {
        return Err(SettingsError::new(
            "APP__AUTH__ISSUER",
            "no issuer is configured",
            "set it to the exact `iss` your tokens carry, e.g. https://<gateway>/__zuplo/issuer",
        ));
    }
    Ok(issuers)
}

fn require_audience(key: &str, audience: &[String]) -> Result<(), SettingsError> {
    if audience.is_empty() {
        return Err(SettingsError::new(
            key,
            "no audience is configured",
            "set it to the `aud` your issuer puts in tokens for this API (comma-separate several)",
        ));
    }
    Ok(())
}

fn check_leeway(key: &str, leeway: u64) -> Result<(), SettingsError> {
    if leeway > MAX_LEEWAY_SECONDS {
        return Err(SettingsError::new(
            key,
            format!("{leeway} s is more clock skew than is safe"),
            format!("use at most {MAX_LEEWAY_SECONDS}"),
        ));
    }
    Ok(())
}
