//! What an issuer offers, described line by line for a person: its claim rules, where its keys
//! are found, what its key set's response says, and which keys are usable or skipped and why.
//! Every value the issuer sent is escaped, so it cannot forge a line of the report.

use std::fmt::Write;

use serde_json::Value;

use crate::jwks::StaticKeys;
use crate::keys::KeySet;
use crate::tenant::AllowedTenants;
use crate::{Fetcher, IssuerPolicy, JwksSource};

/// Writes the issuer's report to `out`, fetching its discovery document and key set as the
/// verifier would; the usable keys when there are any.
pub async fn describe_issuer(
    fetcher: &Fetcher,
    source: &JwksSource,
    policy: &IssuerPolicy,
    out: &mut String,
) -> Option<KeySet> {
    let _ = writeln!(out, "issuer {}", source.issuer);
    let _ = writeln!(out, "  audience: {}", policy.audience.join(", "));
    describe_rules(policy, out);
    inspect_keys(fetcher, source, out).await
}

/// The issuer's claim rules, each with its value or what its absence means.
fn describe_rules(policy: &IssuerPolicy, out: &mut String) {
    let or = |value: Option<String>, otherwise: &str| value.unwrap_or_else(|| otherwise.to_owned());
    let _ = writeln!(
        out,
        "  audience_claim: {}",
        or(policy.audience_claim.clone(), "none (aud is required)")
    );
    let required: Vec<String> = policy
        .required_claims
        .iter()
        .map(|rule| format!("{} ∈ {:?}", rule.name, rule.one_of))
        .collect();
    let required = (!required.is_empty()).then(|| required.join(", "));
    let _ = writeln!(out, "  required_claims: {}", or(required, "none"));
    if let Some(tenants) = &policy.allowed_tenants {
        let tenants = match tenants {
            AllowedTenants::Any => "any tenant (*)".to_owned(),
            AllowedTenants::Listed(listed) => listed.join(", "),
        };
        let _ = writeln!(out, "  allowed_tenants: {tenants}");
    }
    let _ = writeln!(out, "  roles_claim: {}", policy.roles_claim.0);
    let _ = writeln!(
        out,
        "  require_typ: {}",
        or(policy.require_typ.clone(), "none (absent, JWT or at+jwt)")
    );
    let lifetime = policy.max_token_lifetime_seconds.map(|s| format!("{s} s"));
    let _ = writeln!(
        out,
        "  max_token_lifetime_seconds: {}",
        or(lifetime, "none")
    );
}

async fn inspect_keys(fetcher: &Fetcher, source: &JwksSource, out: &mut String) -> Option<KeySet> {
    let body = match &source.static_keys {
        Some(keys) => static_body(keys, source, out)?,
        None => fetched_body(fetcher, source, out).await?,
    };
    list_published_keys(&body, out);
    match KeySet::parse(&body, &source.algorithms, source.limits.max_keys, None) {
        Ok(set) => {
            let _ = writeln!(
                out,
                "  ✓ {} usable key(s): {}",
                set.len(),
                set.kids()
                    .iter()
                    .map(|kid| kid.escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for skipped in set.skipped() {
                let kid = skipped.kid.as_deref().unwrap_or("(no kid)");
                let _ = writeln!(
                    out,
                    "  ! skipped key {}: {}",
                    kid.escape_debug(),
                    skipped.reason
                );
            }
            Some(set)
        }
        Err(error) => {
            let _ = writeln!(out, "  ✗ {error}");
            None
        }
    }
}

/// The key set handed over, read as the store reads it (PEM keys as the JWKS they stand for).
fn static_body(keys: &StaticKeys, source: &JwksSource, out: &mut String) -> Option<Vec<u8>> {
    let body = handed_over(keys, source, out)?;
    match crate::pem_keys::as_jwks(body) {
        Ok(jwks) => Some(jwks),
        Err(error) => {
            let _ = writeln!(out, "  ✗ {error}");
            None
        }
    }
}

fn handed_over(keys: &StaticKeys, source: &JwksSource, out: &mut String) -> Option<Vec<u8>> {
    match keys {
        StaticKeys::File(path) => match std::fs::read(path) {
            Ok(body) => {
                let _ = writeln!(
                    out,
                    "  ✓ jwks_file {} ({} bytes; no discovery, no fetch; read again every {} s)",
                    path.display(),
                    body.len(),
                    source.limits.min_ttl.as_secs()
                );
                Some(body)
            }
            Err(error) => {
                let _ = writeln!(out, "  ✗ jwks_file {}: {error}", path.display());
                None
            }
        },
        StaticKeys::Inline(text) => {
            let _ = writeln!(
                out,
                "  ✓ jwks_inline ({} bytes; no discovery, no fetch)",
                text.len()
            );
            Some(text.as_bytes().to_vec())
        }
    }
}

/// The key set fetched as the store fetches it, found by discovery unless configured.
async fn fetched_body(fetcher: &Fetcher, source: &JwksSource, out: &mut String) -> Option<Vec<u8>> {
    if !source.fetch_headers.is_empty() {
        let names: Vec<&str> = source
            .fetch_headers
            .keys()
            .map(|name| name.as_str())
            .collect();
        let _ = writeln!(out, "  fetch_headers: {} (values hidden)", names.join(", "));
    }
    let jwks_uri = match &source.jwks_uri {
        Some(uri) => {
            let _ = writeln!(out, "  ✓ jwks_uri {uri} (configured, discovery skipped)");
            uri.clone()
        }
        None => match fetcher
            .discover_jwks_uri(&source.issuer, &source.fetch_headers)
            .await
        {
            Ok(uri) => {
                let _ = writeln!(
                    out,
                    "  ✓ jwks_uri {uri} (discovery, or the jwks.json fallback)"
                );
                uri
            }
            Err(error) => {
                let _ = writeln!(out, "  ✗ discovery: {error}");
                return None;
            }
        },
    };
    let fetched = match fetcher
        .get(&source.issuer, &jwks_uri, &source.fetch_headers)
        .await
    {
        Ok(fetched) => fetched,
        Err(error) => {
            let _ = writeln!(out, "  ✗ JWKS: {error}");
            return None;
        }
    };
    let max_age = fetched
        .max_age
        .map_or("absent".to_owned(), |age| format!("{} s", age.as_secs()));
    let _ = writeln!(
        out,
        "  ✓ JWKS fetched: {} bytes; Cache-Control max-age {max_age}; keys kept {} s",
        fetched.body.len(),
        source.lifetime(fetched.max_age).as_secs()
    );
    Some(fetched.body)
}

/// Each published key as the issuer describes it: kid, kty, crv, alg, use.
fn list_published_keys(body: &[u8], out: &mut String) {
    let document: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(keys) = document.get("keys").and_then(Value::as_array) else {
        return;
    };
    for key in keys {
        // The issuer's text, escaped so that it cannot forge a line of this report.
        let field = |name: &str| {
            key.get(name)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .escape_debug()
                .to_string()
        };
        let _ = writeln!(
            out,
            "    key kid={} kty={} crv={} alg={} use={}",
            field("kid"),
            field("kty"),
            field("crv"),
            field("alg"),
            field("use")
        );
    }
}
