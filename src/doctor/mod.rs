//! `make doctor`: checks, from this machine, everything verification depends on, and says what
//! it found in plain words: each issuer's discovery, JWKS, cache headers and keys (usable and
//! skipped), and, given a token, every check it passes or fails.

mod token;

use std::fmt::Write;

use serde_json::Value;

use crate::auth::Fetcher;
use crate::auth::IssuerPolicy;
use crate::auth::JwksSource;
use crate::auth::inspect::KeySet;
use crate::settings::Settings;

/// What one issuer offered, beside what its tokens must satisfy.
struct IssuerFindings {
    source: JwksSource,
    policy: IssuerPolicy,
    keys: Option<KeySet>,
}

/// Writes the report to `out`; true when every issuer yields usable keys and the token, if
/// any, is accepted.
pub async fn diagnose(settings: &Settings, token: Option<&str>, out: &mut String) -> bool {
    let public_url = settings.public_url(settings.server.port);
    let fetcher = crate::trust::fetcher(&settings.auth);
    let trusted = match settings.trusted_issuers(&public_url) {
        Ok(trusted) => trusted,
        Err(error) => {
            let _ = writeln!(out, "{error}");
            return false;
        }
    };
    let mut findings = Vec::with_capacity(trusted.len());
    let mut healthy = true;
    for issuer in &trusted {
        let (source, policy) = (issuer.source.clone(), issuer.policy.clone());
        let _ = writeln!(out, "issuer {}", source.issuer);
        let _ = writeln!(out, "  audience: {}", policy.audience.join(", "));
        describe_rules(&policy, out);
        let keys = inspect_keys(&fetcher, &source, out).await;
        healthy &= keys.is_some();
        findings.push(IssuerFindings {
            source,
            policy,
            keys,
        });
    }
    if let Some(token) = token {
        let unobserved: std::sync::Arc<dyn crate::auth::Observer> =
            std::sync::Arc::new(crate::auth::Unobserved);
        let verifier = crate::trust::verifier(&settings.auth, &trusted, &unobserved);
        let dpop = match crate::trust::dpop(&settings.auth, &trusted, &public_url) {
            Ok(dpop) => dpop,
            Err(error) => {
                let _ = writeln!(out, "{error}");
                return false;
            }
        };
        healthy &= token::explain(
            token,
            &findings,
            (&verifier, &dpop),
            settings.auth.max_token_bytes,
            out,
        )
        .await;
    }
    let _ = writeln!(
        out,
        "{}",
        if healthy {
            "doctor: all checks passed"
        } else {
            "doctor: some checks failed"
        }
    );
    healthy
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
    let jwks_uri = match &source.jwks_uri {
        Some(uri) => {
            let _ = writeln!(out, "  ✓ jwks_uri {uri} (configured, discovery skipped)");
            uri.clone()
        }
        None => match fetcher.discover_jwks_uri(&source.issuer).await {
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
    let fetched = match fetcher.get(&jwks_uri).await {
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
    list_published_keys(&fetched.body, out);
    match KeySet::parse(
        &fetched.body,
        &source.algorithms,
        source.limits.max_keys,
        None,
    ) {
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
