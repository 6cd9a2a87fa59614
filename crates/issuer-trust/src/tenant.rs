//! Issuers of many tenants, as Entra ID runs them for multi-tenant apps: one issuer identifier
//! with a `{tenantid}` placeholder (`https://login.microsoftonline.com/{tenantid}/v2.0`, or the
//! v1 `https://sts.windows.net/{tenantid}/`), whose common discovery document names that same
//! template as its `issuer`. A token's `iss` is the template with its own `tid` in place of the
//! placeholder, and the service names the tenants whose tokens it takes.

use std::borrow::Cow;

use super::claim_set::ClaimSet;
use super::error::TokenError;

/// The placeholder a multi-tenant issuer holds in place of the tenant id.
pub const PLACEHOLDER: &str = "{tenantid}";

/// Where a v1 multi-tenant issuer's keys are discovered: its own host has no common document.
const V1_ISSUER: &str = "https://sts.windows.net/{tenantid}/";
const V1_DISCOVERY: &str = "https://login.microsoftonline.com/common";

/// The tenants whose tokens a multi-tenant issuer's tokens may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedTenants {
    /// Any tenant: an explicit choice (`*`), for apps every organization may sign in to.
    Any,
    /// Only these tenant ids, lowercase.
    Listed(Vec<String>),
}

impl AllowedTenants {
    fn allows(&self, tenant: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Listed(tenants) => tenants.iter().any(|allowed| allowed == tenant),
        }
    }
}

/// Whether `issuer` is a multi-tenant template.
pub fn is_template(issuer: &str) -> bool {
    issuer.contains(PLACEHOLDER)
}

/// Whether the unverified `iss` of a token can be one of `template`'s: the template with some
/// tenant id in place of the placeholder. Only chooses the issuer; [`check`] decides.
pub fn matches(template: &str, iss: &str) -> bool {
    tenant_in(template, iss).is_some()
}

/// The tenant id `iss` holds where `template` holds the placeholder.
fn tenant_in<'a>(template: &str, iss: &'a str) -> Option<&'a str> {
    let (before, after) = template.split_once(PLACEHOLDER)?;
    let tenant = iss.strip_prefix(before)?.strip_suffix(after)?;
    let plain = !tenant.is_empty()
        && tenant
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
    plain.then_some(tenant)
}

/// The verified claims of a token of `template`: its `tid` must be a string naming an allowed
/// tenant, and its `iss` exactly the template with that `tid` in place.
pub fn check(
    template: &str,
    allowed: &AllowedTenants,
    claims: &ClaimSet<'_>,
) -> Result<(), TokenError> {
    let tid = claims
        .text("tid")
        .map_err(|_| TokenError::MalformedClaims)?
        .ok_or(TokenError::MissingClaim)?;
    let iss = claims
        .text("iss")
        .map_err(|_| TokenError::MalformedClaims)?
        .ok_or(TokenError::MissingClaim)?;
    if iss != template.replacen(PLACEHOLDER, &tid, 1) {
        return Err(TokenError::TenantMismatch);
    }
    if !allowed.allows(&tid.to_ascii_lowercase()) {
        return Err(TokenError::TenantNotAllowed);
    }
    Ok(())
}

/// Where discovery for `issuer` starts: for a template, the common document of every tenant
/// (`organizations` in place of the placeholder; Entra's v1 issuer is discovered at
/// `login.microsoftonline.com/common`); any other issuer is its own base.
pub fn discovery_base(issuer: &str) -> Cow<'_, str> {
    if issuer == V1_ISSUER {
        Cow::Borrowed(V1_DISCOVERY)
    } else if is_template(issuer) {
        Cow::Owned(issuer.replacen(PLACEHOLDER, "organizations", 1))
    } else {
        Cow::Borrowed(issuer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::claim_set;

    const V2: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn check_claims(
        iss: &str,
        tid: serde_json::Value,
        allowed: &AllowedTenants,
    ) -> Result<(), TokenError> {
        check(
            V2,
            allowed,
            &claim_set::for_test(&json!({ "iss": iss, "tid": tid })),
        )
    }

    #[test]
    fn a_token_of_an_allowed_tenant_names_it_in_both_iss_and_tid() {
        let iss = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
        let listed = AllowedTenants::Listed(vec![TENANT.to_owned()]);
        assert!(matches(V2, &iss));
        assert_eq!(check_claims(&iss, json!(TENANT), &listed), Ok(()));
        assert_eq!(
            check_claims(&iss, json!(TENANT), &AllowedTenants::Any),
            Ok(())
        );
        let other = "00000000-0000-0000-0000-000000000001";
        let elsewhere = format!("https://login.microsoftonline.com/{other}/v2.0");
        assert_eq!(
            check_claims(&elsewhere, json!(other), &listed),
            Err(TokenError::TenantNotAllowed)
        );
        assert_eq!(
            check_claims(&iss, json!(other), &AllowedTenants::Any),
            Err(TokenError::TenantMismatch),
            "iss names another tenant than tid"
        );
        assert_eq!(
            check_claims(&iss, json!(7), &AllowedTenants::Any),
            Err(TokenError::MalformedClaims)
        );
        let no_tid = claim_set::for_test(&json!({ "iss": iss }));
        assert_eq!(check(V2, &listed, &no_tid), Err(TokenError::MissingClaim));
    }

    #[test]
    fn only_a_plain_tenant_id_fills_the_placeholder() {
        for iss in [
            "https://login.microsoftonline.com//v2.0",
            "https://login.microsoftonline.com/a/b/v2.0",
            "https://login.microsoftonline.com/a?b/v2.0",
            "https://evil.example/x/v2.0",
            "https://login.microsoftonline.com/x/v2.0/",
        ] {
            assert!(!matches(V2, iss), "{iss}");
        }
        assert!(!matches("https://issuer.example", "https://issuer.example"));
    }

    #[test]
    fn a_template_is_discovered_at_its_common_document() {
        assert_eq!(
            discovery_base(V2),
            "https://login.microsoftonline.com/organizations/v2.0"
        );
        assert_eq!(
            discovery_base("https://sts.windows.net/{tenantid}/"),
            "https://login.microsoftonline.com/common"
        );
        assert_eq!(
            discovery_base("https://issuer.example"),
            "https://issuer.example"
        );
    }
}
