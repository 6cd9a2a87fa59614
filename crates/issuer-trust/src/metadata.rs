//! RFC 9728 protected resource metadata: what a client learns at
//! `/.well-known/oauth-protected-resource`, the URL every challenge names beside the realm.

use serde::Serialize;

/// RFC 9728 protected resource metadata, less the scopes, which come from the routes.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ResourceMetadata {
    /// This resource's identifier: its public URL.
    pub resource: String,
    /// The trusted issuers.
    pub authorization_servers: Vec<String>,
    /// How a token may be sent: `header` only.
    pub bearer_methods_supported: Vec<&'static str>,
    /// The algorithms DPoP proofs may use, where some issuer accepts DPoP (RFC 9728 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether only DPoP-bound tokens are accepted, where some issuer accepts DPoP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens_required: Option<bool>,
    /// Whether certificate-bound tokens are accepted (RFC 8705 §3, RFC 9728 §2): set where a
    /// forwarded client certificate is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
}
