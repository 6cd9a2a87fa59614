//! `/.well-known` documents: RFC 9728 metadata for this resource, and, when the development
//! issuer is on, its discovery document and JWKS.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::dev_issuer::DevIssuer;

/// RFC 9728 protected resource metadata.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceMetadata {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub bearer_methods_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
}

/// `GET /.well-known/oauth-protected-resource`
pub async fn protected_resource(metadata: web::Data<ResourceMetadata>) -> HttpResponse {
    HttpResponse::Ok().json(metadata.get_ref())
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
