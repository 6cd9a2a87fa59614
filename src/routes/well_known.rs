//! `/.well-known` documents: RFC 9728 metadata for this resource, and, when the development
//! issuer is on, its discovery document and JWKS.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::Requirements;
use crate::dev_issuer::DevIssuer;

/// RFC 9728 protected resource metadata, less the scopes, which come from the routes.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceMetadata {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub bearer_methods_supported: Vec<&'static str>,
}

/// `GET /.well-known/oauth-protected-resource`: `scopes_supported` lists exactly the scopes the
/// routes declare.
pub async fn protected_resource(
    metadata: web::Data<ResourceMetadata>,
    requirements: web::Data<Requirements>,
) -> HttpResponse {
    let mut document = serde_json::to_value(metadata.get_ref()).unwrap_or_default();
    document["scopes_supported"] = serde_json::json!(requirements.scopes());
    HttpResponse::Ok().json(document)
}

/// `GET /.well-known/openid-configuration` of the development issuer.
pub async fn dev_discovery(issuer: web::Data<DevIssuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.discovery())
}

/// `GET /.well-known/jwks.json` of the development issuer.
pub async fn dev_jwks(issuer: web::Data<DevIssuer>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(issuer.jwks())
}
