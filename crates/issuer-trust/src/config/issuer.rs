//! One issuer's configuration, checked and turned into what the verifier takes by one
//! function, so a value is read in one place whether it is being checked at load or used at
//! startup.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::checks::{check_url, parse_algorithms, positive};
use super::{AllowedTenants, KeySetLimits, MtlsMode, RequiredClaim, RolesClaim, StaticKeys};
use super::{SettingsError, values};
use crate::dpop::DpopMode;
use crate::keys::KeySet;
use crate::tenant;
use crate::token_type::{ACCEPTED_TYPES, media_type};
use crate::{IssuerPolicy, JwksSource};

const MAX_LEEWAY_SECONDS: u64 = 300;

/// One issuer as configured: a listed issuer (e.g. Zuplo and Auth0 side by side during a
/// migration), or the single-issuer shorthand, which also holds the defaults of every listed
/// issuer (see [`trust_all`](super::trust_all)). Values stay as written until they are checked
/// and built into a [`TrustedIssuer`]. Lists are read from arrays or comma-separated strings
/// and numbers from strings too, so environment variables and TOML agree.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerConfig {
    /// The exact `iss` to require. Unset in the shorthand with the development issuer on: that
    /// issuer, this server's own public URL.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub issuer: Option<String>,
    /// Accepted `aud` values; a token must name at least one.
    #[serde(default, deserialize_with = "values::string_list")]
    pub audience: Vec<String>,
    /// Where the issuer publishes its keys. Defaults to discovery, falling back to
    /// `{issuer}/.well-known/jwks.json`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub jwks_uri: Option<String>,
    /// A file holding the issuer's JWKS, or PEM public keys (each named by its RFC 7638
    /// thumbprint), instead of fetching it: no discovery and no fetch, the
    /// file read again every `jwks_min_ttl_seconds` (a mounted Secret or ConfigMap updated in
    /// place is taken without a restart). Defaults to none.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub jwks_file: Option<String>,
    /// The issuer's JWKS itself, as JSON, instead of fetching it. Defaults to none.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub jwks_inline: Option<String>,
    /// Allowed signature algorithms. Defaults to every asymmetric JWS algorithm supported.
    #[serde(default, deserialize_with = "values::string_list")]
    pub algorithms: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Defaults to 30 s; at most 300 s.
    #[serde(default)]
    pub leeway_seconds: Option<u64>,
    /// A claim compared with the audiences when a token has no `aud`, e.g. `client_id` for
    /// Cognito access tokens; a present `aud` is always the one compared. Defaults to none:
    /// `aud` is required.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub audience_claim: Option<String>,
    /// Claims a token must carry with one of the given values (an array claim must contain
    /// one), e.g. Cognito's `token_use = "access"`. Defaults to none.
    #[serde(default)]
    pub required_claims: BTreeMap<String, values::StringList>,
    /// The claim holding the caller's roles: a name, or a dotted path such as
    /// `realm_access.roles` (Keycloak). Defaults to `roles`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub roles_claim: Option<String>,
    /// The `typ` every token must carry, compared as a media type, e.g. `at+jwt` (RFC 9068).
    /// Defaults to none (`typ` may be absent, `JWT` or `at+jwt`).
    #[serde(default, deserialize_with = "values::optional_string")]
    pub require_typ: Option<String>,
    /// Tokens whose `exp − iat` exceeds this many seconds are refused, and `iat` is then
    /// required. Defaults to none.
    #[serde(default, deserialize_with = "values::optional_number")]
    pub max_token_lifetime_seconds: Option<u64>,
    /// The header tokens arrive in. Defaults to `Authorization`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub token_header: Option<String>,
    /// The auth-scheme before the token in that header. Defaults to `Bearer`; empty (a choice,
    /// so kept as given) when the header holds the bare token.
    #[serde(default)]
    pub token_prefix: Option<String>,
    /// Whether this issuer's tokens may (`allowed`) or must (`required`) be DPoP-bound, or
    /// never are (`off`). Defaults to `allowed`.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub dpop: Option<String>,
    /// Headers sent with this issuer's discovery and key set requests, e.g. an API key its key
    /// endpoint requires; values are secrets, never logged or shown. In a name `_` reads as
    /// `-`, as an environment variable must spell it. Defaults to none, and a listed issuer
    /// never takes the shorthand's.
    #[serde(default)]
    pub fetch_headers: BTreeMap<String, String>,
    /// For a multi-tenant issuer (`{tenantid}` in `issuer`, as Entra ID's
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`): the tenant ids whose tokens are
    /// taken, or `*` for any tenant, a choice that must be written out. Required for such an
    /// issuer, refused for any other; never taken from the shorthand.
    #[serde(default, deserialize_with = "values::string_list")]
    pub allowed_tenants: Vec<String>,
    /// Whether this issuer's tokens may (`allowed`) or must (`required`) be bound to a client
    /// certificate (RFC 8705). Defaults to the service's certificate-binding mode.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub mtls_mode: Option<String>,
}

/// One issuer as the verifier takes it: where its keys come from, what its tokens must
/// satisfy, where they arrive and whether they may or must be DPoP-bound.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// Where its keys come from, and the bounds they are held within.
    pub source: JwksSource,
    /// What its tokens must satisfy.
    pub policy: IssuerPolicy,
    /// The header its tokens arrive in, lowercase.
    pub token_header: String,
    /// The auth-scheme before the token in that header; empty when it holds the bare token.
    pub token_prefix: String,
    /// Whether its tokens may or must be DPoP-bound.
    pub dpop: DpopMode,
    /// Whether its tokens may or must be certificate-bound, where it says; `None` takes the
    /// service's mode.
    pub mtls: Option<MtlsMode>,
}

/// The header tokens arrive in by default.
const AUTHORIZATION: &str = "authorization";

impl IssuerConfig {
    /// This listed issuer, taking the shorthand's algorithms, leeway, roles claim, required
    /// `typ`, longest lifetime, token location and DPoP mode where it sets none. Its audience
    /// claim and required claims describe its own tokens' shape, so they are never inherited.
    pub(super) fn inherit(&self, defaults: &IssuerConfig) -> IssuerConfig {
        let or = |own: &Option<String>, default: &Option<String>| own.clone().or(default.clone());
        IssuerConfig {
            algorithms: if self.algorithms.is_empty() {
                defaults.algorithms.clone()
            } else {
                self.algorithms.clone()
            },
            leeway_seconds: self.leeway_seconds.or(defaults.leeway_seconds),
            roles_claim: or(&self.roles_claim, &defaults.roles_claim),
            require_typ: or(&self.require_typ, &defaults.require_typ),
            max_token_lifetime_seconds: self
                .max_token_lifetime_seconds
                .or(defaults.max_token_lifetime_seconds),
            token_header: or(&self.token_header, &defaults.token_header),
            token_prefix: or(&self.token_prefix, &defaults.token_prefix),
            dpop: or(&self.dpop, &defaults.dpop),
            ..self.clone()
        }
    }

    /// Checks every value and builds the issuer; `key` names a setting in the refusal, and
    /// `dev_issuer` stands for the development issuer where no `issuer` is set. In production,
    /// what is fetched must be https (or loopback).
    pub(super) fn trusted(
        &self,
        key: &dyn Fn(&str) -> String,
        limits: &KeySetLimits,
        dev_issuer: &str,
        production: bool,
    ) -> Result<TrustedIssuer, SettingsError> {
        let policy = self.policy(key)?;
        let jwks_uri = self
            .jwks_uri
            .as_deref()
            .map(|uri| check_url(&key("jwks_uri"), uri, production))
            .transpose()?;
        let static_keys = self.static_keys(key, &policy.algorithms, limits)?;
        if let Some(issuer) = &self.issuer {
            let no_discovery = jwks_uri.is_some() || static_keys.is_some();
            check_issuer(key, issuer, no_discovery, production)?;
        }
        if self.audience.is_empty() {
            return Err(SettingsError::new(
                &key("audience"),
                "no audience is configured",
                "set it to the `aud` your issuer puts in tokens for this API (comma-separate several)",
            ));
        }
        let source = JwksSource {
            issuer: self.issuer.as_deref().unwrap_or(dev_issuer).to_owned(),
            jwks_uri,
            algorithms: policy.algorithms.clone(),
            limits: limits.clone(),
            static_keys,
            fetch_headers: self.fetch_headers(key)?,
        };
        let (token_header, token_prefix) = self.token_location(key)?;
        let allowed_tenants = self.allowed_tenants(key, &source.issuer)?;
        Ok(TrustedIssuer {
            source,
            policy: IssuerPolicy {
                audience: self.audience.clone(),
                allowed_tenants,
                ..policy
            },
            token_header,
            token_prefix,
            dpop: self.dpop_mode(key)?,
            mtls: self
                .mtls_mode
                .as_deref()
                .map(|mode| super::mtls::parse_mode(&key("mtls_mode"), mode))
                .transpose()?,
        })
    }

    /// The tenants a multi-tenant `issuer` takes tokens of: required for a template and
    /// refused for any other issuer; each a tenant id (a GUID, compared in lowercase), or `*`
    /// alone.
    fn allowed_tenants(
        &self,
        key: &dyn Fn(&str) -> String,
        issuer: &str,
    ) -> Result<Option<AllowedTenants>, SettingsError> {
        let refused = |problem: String, fix: &str| {
            Err(SettingsError::new(&key("allowed_tenants"), problem, fix))
        };
        if !tenant::is_template(issuer) {
            if self.allowed_tenants.is_empty() {
                return Ok(None);
            }
            return refused(
                format!("`{issuer}` is not a multi-tenant issuer"),
                "remove it, or give the issuer with {tenantid} in place of the tenant id",
            );
        }
        if issuer.matches(tenant::PLACEHOLDER).count() > 1 {
            return Err(SettingsError::new(
                &key("issuer"),
                format!("`{issuer}` holds {} more than once", tenant::PLACEHOLDER),
                "give {tenantid} once, where the tenant id goes",
            ));
        }
        match self.allowed_tenants.as_slice() {
            [] => refused(
                format!("`{issuer}` takes tokens of any tenant that names it, and none is allowed"),
                "list the tenant ids whose tokens this API takes, or `*` to take any tenant's",
            ),
            [any] if any == "*" => Ok(Some(AllowedTenants::Any)),
            listed => {
                let mut tenants = Vec::with_capacity(listed.len());
                for tenant in listed {
                    if !is_guid(tenant) {
                        return refused(
                            format!("`{}` is not a tenant id", tenant.escape_debug()),
                            "give tenant ids as GUIDs, or `*` alone to take any tenant's",
                        );
                    }
                    tenants.push(tenant.to_ascii_lowercase());
                }
                Ok(Some(AllowedTenants::Listed(tenants)))
            }
        }
    }

    /// The extra request headers, each name and value valid in HTTP, each value marked
    /// sensitive so that no debug output shows it.
    fn fetch_headers(&self, key: &dyn Fn(&str) -> String) -> Result<HeaderMap, SettingsError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.fetch_headers {
            let refused = |problem: String| {
                SettingsError::new(
                    &key("fetch_headers"),
                    problem,
                    "give header names of letters, digits and `-`, and values of visible ASCII",
                )
            };
            let name = HeaderName::from_bytes(name.replace('_', "-").as_bytes())
                .map_err(|_| refused(format!("`{}` is no header name", name.escape_debug())))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| refused(format!("the value of `{name}` is no header value")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Ok(headers)
    }

    /// The keys handed over, when they are: at most one of `jwks_uri`, `jwks_file` and
    /// `jwks_inline` is set, and a file or document given must hold a usable key set now.
    fn static_keys(
        &self,
        key: &dyn Fn(&str) -> String,
        algorithms: &[crate::Algorithm],
        limits: &KeySetLimits,
    ) -> Result<Option<StaticKeys>, SettingsError> {
        let (static_keys, name, body) = match (&self.jwks_file, &self.jwks_inline) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => return Err(one_key_source(key, "jwks_inline")),
            (Some(path), None) => {
                let body = std::fs::read(path).map_err(|error| {
                    SettingsError::new(
                        &key("jwks_file"),
                        format!("`{path}` cannot be read ({error})"),
                        "give the path of a file holding the issuer's JWKS",
                    )
                })?;
                (StaticKeys::File(path.into()), "jwks_file", body)
            }
            (None, Some(text)) => (
                StaticKeys::Inline(text.clone()),
                "jwks_inline",
                text.as_bytes().to_vec(),
            ),
        };
        if self.jwks_uri.is_some() {
            return Err(one_key_source(key, name));
        }
        crate::pem_keys::as_jwks(body)
            .and_then(|jwks| KeySet::parse(&jwks, algorithms, limits.max_keys, None))
            .map_err(|error| {
                SettingsError::new(
                    &key(name),
                    format!("{error}"),
                    "give a JWKS document (`{\"keys\": [...]}`) or PEM public keys, holding a key \
                     for the allowed algorithms",
                )
            })?;
        Ok(Some(static_keys))
    }

    /// The claim rules, checked. The audience is left empty: the shorthand's rules are checked
    /// (as every listed issuer's defaults) even where it names no issuer of its own.
    pub(super) fn policy(
        &self,
        key: &dyn Fn(&str) -> String,
    ) -> Result<IssuerPolicy, SettingsError> {
        let leeway_seconds = self.leeway_seconds.unwrap_or(30);
        if leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(SettingsError::new(
                &key("leeway_seconds"),
                format!("{leeway_seconds} s is more clock skew than is safe"),
                format!("use at most {MAX_LEEWAY_SECONDS}"),
            ));
        }
        let require_typ = match &self.require_typ {
            Some(typ) => {
                let normal = media_type(typ);
                if !ACCEPTED_TYPES.contains(&normal.as_str()) {
                    return Err(SettingsError::new(
                        &key("require_typ"),
                        format!("`{typ}` is not a token type this service accepts"),
                        "use at+jwt (RFC 9068 access tokens) or JWT",
                    ));
                }
                Some(normal)
            }
            None => None,
        };
        if let Some(max) = self.max_token_lifetime_seconds {
            positive(&key("max_token_lifetime_seconds"), max)?;
        }
        let mut required_claims = Vec::with_capacity(self.required_claims.len());
        for (claim, values) in &self.required_claims {
            if values.0.is_empty() {
                return Err(SettingsError::new(
                    &key(&format!("required_claims.{claim}")),
                    "no value is given",
                    "give the value the claim must have, or a list of accepted values",
                ));
            }
            required_claims.push(RequiredClaim::new(claim, values.0.clone()));
        }
        Ok(IssuerPolicy {
            audience: Vec::new(),
            algorithms: parse_algorithms(&key("algorithms"), &self.algorithms)?,
            leeway_seconds,
            audience_claim: self.audience_claim.clone(),
            required_claims,
            roles_claim: RolesClaim(self.roles_claim.clone().unwrap_or_else(|| "roles".into())),
            require_typ,
            max_token_lifetime_seconds: self.max_token_lifetime_seconds,
            allowed_tenants: None,
        })
    }

    /// The header tokens arrive in (lowercase, as header names compare) and the auth-scheme
    /// before them there.
    pub(super) fn token_location(
        &self,
        key: &dyn Fn(&str) -> String,
    ) -> Result<(String, String), SettingsError> {
        let header = match &self.token_header {
            Some(name) => HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| {
                    SettingsError::new(
                        &key("token_header"),
                        format!("`{name}` is not a header name"),
                        "name the header the token arrives in, e.g. Authorization or X-Gateway-Token",
                    )
                })?
                .as_str()
                .to_owned(),
            None => AUTHORIZATION.to_owned(),
        };
        let prefix = match &self.token_prefix {
            Some(prefix) => check_prefix(&key("token_prefix"), prefix.trim())?,
            None => "Bearer".to_owned(),
        };
        Ok((header, prefix))
    }

    pub(super) fn dpop_mode(
        &self,
        key: &dyn Fn(&str) -> String,
    ) -> Result<DpopMode, SettingsError> {
        let Some(mode) = &self.dpop else {
            return Ok(DpopMode::Allowed);
        };
        match mode.trim().to_ascii_lowercase().as_str() {
            "allowed" => Ok(DpopMode::Allowed),
            "required" => Ok(DpopMode::Required),
            "off" => Ok(DpopMode::Off),
            _ => Err(SettingsError::new(
                &key("dpop"),
                format!("`{mode}` is not a DPoP mode"),
                "use allowed (the default), required or off",
            )),
        }
    }
}

/// The refusal of a second place keys come from, naming the later one.
fn one_key_source(key: &dyn Fn(&str) -> String, name: &str) -> SettingsError {
    SettingsError::new(
        &key(name),
        "more than one of jwks_uri, jwks_file and jwks_inline is set",
        "keep the one this issuer's keys come from",
    )
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
/// `http://<host>/adfs/services/trust`.
fn check_issuer(
    key: &dyn Fn(&str) -> String,
    issuer: &str,
    has_jwks_uri: bool,
    production: bool,
) -> Result<(), SettingsError> {
    check_url(&key("issuer"), issuer, false)?;
    if production && !has_jwks_uri {
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
    Ok(())
}

/// Whether `text` is a GUID as Entra ID writes tenant ids: 8-4-4-4-12 hexadecimal digits.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}
