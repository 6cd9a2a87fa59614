//! Issuers as a service configures them: [`IssuerConfig`] read with serde from whatever the
//! service's configuration holds (TOML, environment variables), checked and built into what the
//! verifier takes by [`trust_all`], every refusal a [`SettingsError`] naming the setting and the
//! fix. The checks that keep verification safe (no symmetric algorithm, bounded leeway, https
//! in production) live here, beside the verifier, so a service takes their fixes with the
//! library.

mod checks;
mod dpop;
mod error;
mod http;
mod issuer;
mod key_sets;
mod mtls;
#[cfg(feature = "redis")]
mod redis;
pub mod values;

pub use checks::{check_url, parse_algorithms, positive};
pub use dpop::{DpopConfig, ReplayStore};
pub use error::SettingsError;
pub use http::HttpConfig;
pub use issuer::{IssuerConfig, TrustedIssuer};
pub use key_sets::KeySetConfig;
pub use mtls::{ForwardedCertificates, MtlsConfig};
#[cfg(feature = "redis")]
pub use redis::RedisConfig;

pub use crate::caller::RolesClaim;
pub use crate::client_cert::{CertificateFormat, MtlsMode};
pub use crate::jwks::{KeySetLimits, StaticKeys};
pub use crate::keys::ASYMMETRIC_ALGORITHMS;
pub use crate::policy::RequiredClaim;
pub use crate::tenant::AllowedTenants;

/// Every trusted issuer, checked and built: the shorthand's when it names an issuer (or stands
/// for a development issuer at `dev_issuer` when nothing else is listed), then each listed one,
/// taking the shorthand's values where it sets none of its own (its algorithms, leeway, roles
/// claim, required `typ`, longest lifetime, token location and DPoP mode; never its audience,
/// audience claim or required claims, which describe its own tokens). In `production`, what is
/// fetched must be https (or loopback). `key` names a setting in a refusal: of the shorthand
/// (`None`) or of the listed issuer at that index.
pub fn trust_all(
    shorthand: &IssuerConfig,
    listed: &[IssuerConfig],
    limits: &KeySetLimits,
    dev_issuer: Option<&str>,
    production: bool,
    key: &dyn Fn(Option<usize>, &str) -> String,
) -> Result<Vec<TrustedIssuer>, SettingsError> {
    let shorthand_key = |field: &str| key(None, field);
    // The defaults of every listed issuer are checked as the shorthand's own.
    shorthand.policy(&shorthand_key)?;
    shorthand.token_location(&shorthand_key)?;
    shorthand.dpop_mode(&shorthand_key)?;
    let mut trusted: Vec<TrustedIssuer> = Vec::with_capacity(listed.len() + 1);
    let development = dev_issuer.filter(|_| shorthand.issuer.is_none() && listed.is_empty());
    if shorthand.issuer.is_some() || development.is_some() {
        let dev_issuer = development.unwrap_or_default();
        trusted.push(shorthand.trusted(&shorthand_key, limits, dev_issuer, production)?);
    }
    for (index, listed) in listed.iter().enumerate() {
        let key = |field: &str| key(Some(index), field);
        let Some(name) = &listed.issuer else {
            return Err(SettingsError::new(
                &key("issuer"),
                "no issuer is given",
                "set it to the exact `iss` this issuer's tokens carry",
            ));
        };
        let issuer = listed
            .inherit(shorthand)
            .trusted(&key, limits, "", production)?;
        if trusted.iter().any(|known| known.source.issuer == *name) {
            return Err(SettingsError::new(
                &key("issuer"),
                format!("`{name}` is configured twice"),
                "list each issuer once",
            ));
        }
        check_one_prefix_per_header(&key, &issuer, &trusted)?;
        trusted.push(issuer);
    }
    if trusted.is_empty() {
        return Err(SettingsError::new(
            &shorthand_key("issuer"),
            "no issuer is configured",
            "set it to the exact `iss` your tokens carry, e.g. https://<gateway>/__zuplo/issuer",
        ));
    }
    Ok(trusted)
}

/// One header holds one credential, read with one auth-scheme: two issuers reading the same
/// header must agree on its prefix (compared case-insensitively, as the scheme is), or the
/// later could never authenticate.
fn check_one_prefix_per_header(
    key: &dyn Fn(&str) -> String,
    issuer: &TrustedIssuer,
    known: &[TrustedIssuer],
) -> Result<(), SettingsError> {
    let clash = known.iter().find(|other| {
        other.token_header == issuer.token_header
            && !other
                .token_prefix
                .eq_ignore_ascii_case(&issuer.token_prefix)
    });
    match clash {
        Some(other) => Err(SettingsError::new(
            &key("token_prefix"),
            format!(
                "the {} header is read with the prefix `{}` here and `{}` for another issuer",
                issuer.token_header, issuer.token_prefix, other.token_prefix
            ),
            "give issuers that share a header the same prefix, or give this one a header of its own",
        )),
        None => Ok(()),
    }
}
