//! `/.well-known` documents: RFC 9728 metadata for this resource, and, when the development
//! issuer is on, its discovery document and JWKS.

use actix_web::{HttpResponse, web};

use crate::auth::ResourceMetadata;
use crate::auth::RouteTable;
use issuer_trust::dev::DevIssuer;

/// `GET /.well-known/oauth-protected-resource`: `scopes_supported` lists exactly the scopes the
/// routes declare, and is left out (it is optional) where they declare none.
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource", tag = "discovery",
    responses((status = 200, description = "RFC 9728 protected resource metadata, with \
        `scopes_supported` listing every scope a route requires", body = ResourceMetadata)))]
pub async fn protected_resource(
    metadata: web::Data<ResourceMetadata>,
    routes: web::Data<RouteTable>,
) -> HttpResponse {
    let mut document = serde_json::to_value(metadata.get_ref()).unwrap_or_default();
    let scopes = routes.scopes();
    if !scopes.is_empty() {
        document["scopes_supported"] = serde_json::json!(scopes);
    }
    HttpResponse::Ok().json(document)
}

/// `GET /.well-known/openid-configuration` of the development issuer.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "development issuer",
    responses((status = 200, description = "The development issuer's discovery document \
        (development profile only)", body = Object)))]
pub async fn dev_discovery(issuer: web::Data<DevIssuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.discovery())
}

/// `GET /.well-known/jwks.json` of the development issuer.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "development issuer",
    responses((status = 200, description = "The development issuer's public keys, an RFC 7517 \
        JWK set (development profile only)", body = Object)))]
pub async fn dev_jwks(issuer: web::Data<DevIssuer>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(issuer.jwks())
}
