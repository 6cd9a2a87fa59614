//! The list of trusted issuers: the single-issuer `APP__AUTH__*` shorthand, any
//! `[[auth.issuers]]` tables, or the development issuer when neither names one.

use std::collections::BTreeMap;

use actix_web::http::header::{AUTHORIZATION, HeaderName};
use reqwest::Url;
use serde::Deserialize;

use super::checks::{check_url, parse_algorithms, positive};
use super::{DpopMode, IssuerSettings, SettingsError, TokenLocation, list};
use crate::auth::token_type::{ACCEPTED_TYPES, media_type};

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
    // The claim rules, as in `RawClaimRules`; written out rather than flattened so that every
    // key is a named field and an unknown one can be reported.
    #[serde(default, deserialize_with = "list::optional_string")]
    audience_claim: Option<String>,
    #[serde(default)]
    required_claims: BTreeMap<String, list::StringList>,
    #[serde(default, deserialize_with = "list::optional_string")]
    roles_claim: Option<String>,
    #[serde(default, deserialize_with = "list::optional_string")]
    require_typ: Option<String>,
    #[serde(default, deserialize_with = "list::optional_number")]
    max_token_lifetime_seconds: Option<u64>,
    #[serde(default, deserialize_with = "list::optional_string")]
    token_header: Option<String>,
    // An empty prefix is a choice (the bare token), so it is kept as given.
    token_prefix: Option<String>,
    #[serde(default, deserialize_with = "list::optional_string")]
    dpop: Option<String>,
}

/// The claim rules an issuer table and the `APP__AUTH__*` shorthand share.
#[derive(Debug, Default)]
pub(super) struct RawClaimRules {
    pub audience_claim: Option<String>,
    pub required_claims: BTreeMap<String, list::StringList>,
    pub roles_claim: Option<String>,
    pub require_typ: Option<String>,
    pub max_token_lifetime_seconds: Option<u64>,
    pub token_header: Option<String>,
    pub token_prefix: Option<String>,
    pub dpop: Option<String>,
}

/// The `APP__AUTH__ISSUER`, `_AUDIENCE`, `_JWKS_URI`, `_ALGORITHMS`, `_LEEWAY_SECONDS` keys and
/// the claim rules: one issuer, and the defaults of every listed one (see [`inherit`]).
pub(super) struct Shorthand {
    pub issuer: Option<String>,
    pub audience: Vec<String>,
    pub jwks_uri: Option<String>,
    pub algorithms: Vec<String>,
    pub leeway_seconds: u64,
    pub claims: RawClaimRules,
}

/// The rules of one issuer, checked.
struct ClaimRules {
    audience_claim: Option<String>,
    required_claims: Vec<(String, Vec<String>)>,
    roles_claim: String,
    require_typ: Option<String>,
    max_token_lifetime_seconds: Option<u64>,
    token_location: TokenLocation,
    dpop: DpopMode,
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
    let shorthand_key = |field: &str| format!("APP__AUTH__{}", field.to_ascii_uppercase());
    let defaults = claim_rules(&shorthand_key, shorthand.claims, None)?;
    let mut issuers = Vec::with_capacity(listed.len() + 1);

    if shorthand.issuer.is_some() || (listed.is_empty() && dev_issuer) {
        let jwks_uri = check_endpoints(
            &shorthand_key,
            shorthand.issuer.as_deref(),
            shorthand.jwks_uri.as_deref(),
            production,
        )?;
        require_audience("APP__AUTH__AUDIENCE", &shorthand.audience)?;
        issuers.push(issuer_settings(
            shorthand.issuer,
            shorthand.audience,
            jwks_uri,
            default_algorithms.clone(),
            shorthand.leeway_seconds,
            defaults.clone_rules(),
        ));
    }
    for (index, raw) in listed.into_iter().enumerate() {
        let key = |field: &str| format!("auth.issuers[{index}].{field}");
        let jwks_uri =
            check_endpoints(&key, Some(&raw.issuer), raw.jwks_uri.as_deref(), production)?;
        require_audience(&key("audience"), &raw.audience)?;
        let leeway_seconds = raw.leeway_seconds.unwrap_or(shorthand.leeway_seconds);
        check_leeway(&key("leeway_seconds"), leeway_seconds)?;
        let algorithms = if raw.algorithms.is_empty() {
            default_algorithms.clone()
        } else {
            parse_algorithms(&key("algorithms"), &raw.algorithms)?
        };
        let raw_rules = RawClaimRules {
            audience_claim: raw.audience_claim,
            required_claims: raw.required_claims,
            roles_claim: raw.roles_claim,
            require_typ: raw.require_typ,
            max_token_lifetime_seconds: raw.max_token_lifetime_seconds,
            token_header: raw.token_header,
            token_prefix: raw.token_prefix,
            dpop: raw.dpop,
        };
        let rules = claim_rules(&key, raw_rules, Some(&defaults))?;
        check_one_prefix_per_header(&key, &rules.token_location, &issuers)?;
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
        issuers.push(issuer_settings(
            Some(raw.issuer),
            raw.audience,
            jwks_uri,
            algorithms,
            leeway_seconds,
            rules,
        ));
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

fn issuer_settings(
    issuer: Option<String>,
    audience: Vec<String>,
    jwks_uri: Option<Url>,
    algorithms: Vec<jsonwebtoken::Algorithm>,
    leeway_seconds: u64,
    rules: ClaimRules,
) -> IssuerSettings {
    IssuerSettings {
        issuer,
        audience,
        jwks_uri,
        algorithms,
        leeway_seconds,
        audience_claim: rules.audience_claim,
        required_claims: rules.required_claims,
        roles_claim: rules.roles_claim,
        require_typ: rules.require_typ,
        max_token_lifetime_seconds: rules.max_token_lifetime_seconds,
        token_location: rules.token_location,
        dpop: rules.dpop,
    }
}

impl ClaimRules {
    fn clone_rules(&self) -> Self {
        Self {
            audience_claim: self.audience_claim.clone(),
            required_claims: self.required_claims.clone(),
            roles_claim: self.roles_claim.clone(),
            require_typ: self.require_typ.clone(),
            max_token_lifetime_seconds: self.max_token_lifetime_seconds,
            token_location: self.token_location.clone(),
            dpop: self.dpop,
        }
    }
}

/// Checks an issuer's claim rules. A listed issuer takes its roles claim, required `typ`,
/// longest lifetime, token location and DPoP mode from `defaults` (the shorthand) when it sets none; its
/// audience claim and required claims describe its own tokens' shape, so they are never
/// inherited.
fn claim_rules(
    key: &dyn Fn(&str) -> String,
    raw: RawClaimRules,
    defaults: Option<&ClaimRules>,
) -> Result<ClaimRules, SettingsError> {
    let require_typ = match raw.require_typ {
        Some(typ) => {
            let normal = media_type(&typ);
            if !ACCEPTED_TYPES.contains(&normal.as_str()) {
                return Err(SettingsError::new(
                    &key("require_typ"),
                    format!("`{typ}` is not a token type this service accepts"),
                    "use at+jwt (RFC 9068 access tokens) or JWT",
                ));
            }
            Some(normal)
        }
        None => defaults.and_then(|d| d.require_typ.clone()),
    };
    if let Some(max) = raw.max_token_lifetime_seconds {
        positive(&key("max_token_lifetime_seconds"), max)?;
    }
    let mut required_claims = Vec::with_capacity(raw.required_claims.len());
    for (claim, values) in raw.required_claims {
        if values.0.is_empty() {
            return Err(SettingsError::new(
                &key(&format!("required_claims.{claim}")),
                "no value is given",
                "give the value the claim must have, or a list of accepted values",
            ));
        }
        required_claims.push((claim, values.0));
    }
    let token_location = TokenLocation {
        header: match raw.token_header {
            Some(name) => HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                SettingsError::new(
                    &key("token_header"),
                    format!("`{name}` is not a header name"),
                    "name the header the token arrives in, e.g. Authorization or X-Gateway-Token",
                )
            })?,
            None => defaults.map_or(AUTHORIZATION, |d| d.token_location.header.clone()),
        },
        prefix: match raw.token_prefix {
            Some(prefix) => check_prefix(&key("token_prefix"), prefix.trim())?,
            None => {
                defaults.map_or_else(|| "Bearer".to_owned(), |d| d.token_location.prefix.clone())
            }
        },
    };
    let dpop = match raw.dpop {
        Some(mode) => match mode.trim().to_ascii_lowercase().as_str() {
            "allowed" => DpopMode::Allowed,
            "required" => DpopMode::Required,
            "off" => DpopMode::Off,
            _ => {
                return Err(SettingsError::new(
                    &key("dpop"),
                    format!("`{mode}` is not a DPoP mode"),
                    "use allowed (the default), required or off",
                ));
            }
        },
        None => defaults.map_or(DpopMode::Allowed, |d| d.dpop),
    };
    Ok(ClaimRules {
        token_location,
        dpop,
        audience_claim: raw.audience_claim,
        required_claims,
        roles_claim: raw
            .roles_claim
            .or_else(|| defaults.map(|d| d.roles_claim.clone()))
            .unwrap_or_else(|| "roles".to_owned()),
        require_typ,
        max_token_lifetime_seconds: raw
            .max_token_lifetime_seconds
            .or_else(|| defaults.and_then(|d| d.max_token_lifetime_seconds)),
    })
}

/// One header holds one credential, read with one auth-scheme: two issuers reading the same
/// header must agree on its prefix (compared case-insensitively, as the scheme is), or the
/// later could never authenticate.
fn check_one_prefix_per_header(
    key: &dyn Fn(&str) -> String,
    location: &TokenLocation,
    known: &[IssuerSettings],
) -> Result<(), SettingsError> {
    let clash = known.iter().find(|other| {
        other.token_location.header == location.header
            && !other
                .token_location
                .prefix
                .eq_ignore_ascii_case(&location.prefix)
    });
    match clash {
        Some(other) => Err(SettingsError::new(
            &key("token_prefix"),
            format!(
                "the {} header is read with the prefix `{}` here and `{}` for another issuer",
                location.header, location.prefix, other.token_location.prefix
            ),
            "give issuers that share a header the same prefix, or give this one a header of its own",
        )),
        None => Ok(()),
    }
}

/// An auth-scheme is one token (RFC 9110 §11.1); empty stands for none.
fn check_prefix(key: &str, prefix: &str) -> Result<String, SettingsError> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if prefix.bytes().all(tchar) {
        Ok(prefix.to_owned())
    } else {
        Err(SettingsError::new(
            key,
            format!("`{prefix}` is not an auth-scheme"),
            "use one word such as Bearer, or leave it empty when the header holds the bare token",
        ))
    }
}

/// The issuer is an identifier (RFC 7519 §4.1.1), but what is fetched must be safe: in
/// production an `http://` issuer is accepted only beside an https (or loopback) `jwks_uri`,
/// since discovery would otherwise fetch over plain http. AD FS names itself
/// `http://<host>/adfs/services/trust`. Returns the JWKS URL, parsed.
fn check_endpoints(
    key: &dyn Fn(&str) -> String,
    issuer: Option<&str>,
    jwks_uri: Option<&str>,
    production: bool,
) -> Result<Option<Url>, SettingsError> {
    let parsed = jwks_uri
        .map(|uri| check_url(&key("jwks_uri"), uri, production))
        .transpose()?;
    if let Some(issuer) = issuer {
        check_url(&key("issuer"), issuer, false)?;
        if production && jwks_uri.is_none() {
            check_url(&key("issuer"), issuer, true).map_err(|_| {
                SettingsError::new(
                    &key("issuer"),
                    format!("`{issuer}` is plain http, and discovery would fetch over it"),
                    format!(
                        "use an https issuer, or set {} to its https JWKS URL",
                        key("jwks_uri")
                    ),
                )
            })?;
        }
    }
    Ok(parsed)
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
