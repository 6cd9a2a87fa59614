//! Explains, check by check, why a token would be accepted or rejected, then asks the real
//! verifier for the verdict so the explanation can never disagree with the service.

use std::fmt::Write;

use jsonwebtoken::get_current_timestamp;

use super::IssuerFindings;
use crate::auth::inspect::{self, Fix, IssuerView};
use crate::auth::{AuthError, Dpop, Scheme, TokenError, Verifier};

/// Writes one line per check; true when the verifier accepts the token.
///
/// The verdict is the verifier's, then the DPoP rules' (the same check a request passes): a
/// bound token is accepted only as a DPoP token, and an issuer may refuse either kind.
pub(super) async fn explain(
    token: &str,
    issuers: &[IssuerFindings],
    (verifier, dpop): (&Verifier, &Dpop),
    max_token_bytes: usize,
    out: &mut String,
) -> bool {
    let _ = writeln!(out, "token");
    explain_checks(token, issuers, max_token_bytes, out);
    for store in verifier.stores() {
        let _ = store.refresh().await;
    }
    let caller = match verifier.verify(token).await {
        Ok(caller) => caller,
        Err(error) => {
            let _ = writeln!(out, "  verdict: rejected: {}", error.reason());
            return false;
        }
    };
    let presented = |scheme| dpop.check(&caller, token, scheme, None, "GET", "/");
    let verdict = match presented(Scheme::Bearer).await {
        Ok(()) => Ok("accepted"),
        Err(AuthError::InvalidToken(TokenError::DpopBoundAsBearer)) => {
            match presented(Scheme::Dpop).await {
                // Accepted up to the proof, which no token alone carries.
                Ok(()) | Err(AuthError::InvalidDpopProof(_)) => Ok(
                    "accepted as a DPoP token: it is bound to a client key (cnf.jkt), so send it \
                     as `Authorization: DPoP <token>` with a proof by that key (make dpop-proof)",
                ),
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    let _ = match verdict {
        Ok(verdict) => writeln!(out, "  verdict: {verdict}"),
        Err(error) => writeln!(out, "  verdict: rejected: {}", error.reason()),
    };
    verdict.is_ok()
}

/// The library's checks, one line each, with the setting a fix names written as this
/// service's.
fn explain_checks(
    token: &str,
    issuers: &[IssuerFindings],
    max_token_bytes: usize,
    out: &mut String,
) {
    let trusted: Vec<IssuerView<'_>> = issuers
        .iter()
        .map(|issuer| IssuerView {
            issuer: &issuer.source.issuer,
            policy: &issuer.policy,
            keys: issuer.keys.as_ref(),
        })
        .collect();
    for check in inspect::explain(token, &trusted, max_token_bytes, get_current_timestamp()) {
        let fix = match check.fix {
            Some(Fix::AudienceClaim(name)) => format!(
                ": set APP__AUTH__AUDIENCE_CLAIM={name} (audience_claim = \"{name}\" in an \
                 [[auth.issuers]] table) to accept it"
            ),
            Some(Fix::SomeAudienceClaim) => "; set APP__AUTH__AUDIENCE_CLAIM to the claim that \
                holds this API's audience (Cognito access tokens: client_id)"
                .to_owned(),
            None => String::new(),
        };
        let mark = if check.passed { "✓" } else { "✗" };
        let _ = writeln!(out, "  {mark} {}{fix}", check.text);
    }
}
