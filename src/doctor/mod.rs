//! `make doctor`: checks, from this machine, everything verification depends on, and says what
//! it found in plain words: each issuer's discovery, JWKS, cache headers and keys (usable and
//! skipped), and, given a token, every check it passes or fails.

mod token;

use std::fmt::Write;

use crate::auth::inspect::{self, KeySet};
use crate::auth::{IssuerPolicy, JwksSource};
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
    let trusted = match settings.trusted_issuers(&public_url) {
        Ok(trusted) => trusted,
        Err(error) => {
            let _ = writeln!(out, "{error}");
            return false;
        }
    };
    let fetcher = match settings.auth.fetcher() {
        Ok(fetcher) => fetcher,
        Err(error) => {
            let _ = writeln!(out, "{error}");
            return false;
        }
    };
    let _ = writeln!(out, "{}", settings.auth.http.describe());
    match settings.auth.forwarded_certificates(&trusted) {
        Ok(forwarded) => {
            let _ = writeln!(out, "{}", forwarded.describe());
        }
        Err(error) => {
            let _ = writeln!(out, "{error}");
            return false;
        }
    }
    let export = issuer_trust::trace::describe_export(env!("CARGO_PKG_NAME"));
    let _ = writeln!(
        out,
        "{}",
        export
            .as_ref()
            .map_or_else(ToString::to_string, Clone::clone)
    );
    let mut findings = Vec::with_capacity(trusted.len());
    let mut healthy = export.is_ok();
    for issuer in &trusted {
        let (source, policy) = (issuer.source.clone(), issuer.policy.clone());
        let keys = inspect::describe_issuer(&fetcher, &source, &policy, out).await;
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
        let built =
            crate::trust::verifier(&settings.auth, &trusted, &unobserved).and_then(|verifier| {
                crate::trust::dpop(&settings.auth, &trusted, &public_url)
                    .map(|dpop| (verifier, dpop))
            });
        let (verifier, dpop) = match built {
            Ok(built) => built,
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
