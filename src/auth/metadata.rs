//! RFC 9728 protected resource metadata: what a client learns at
//! `/.well-known/oauth-protected-resource`, the URL every challenge names beside the realm.

use serde::Serialize;

/// RFC 9728 protected resource metadata, less the scopes, which come from the routes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResourceMetadata {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub bearer_methods_supported: Vec<&'static str>,
}
