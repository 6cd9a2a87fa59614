//! The OpenAPI 3.1 document, generated from the handlers' and types' own annotations, served at
//! `GET /openapi.json`. What every operation shares (the bearer scheme and the problem+json
//! errors) is added here once rather than on each handler.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, OpenApi as Document, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{admin, api, health, items, well_known};
use crate::problem::{PROBLEM_JSON, Problem};

/// The name of the bearer security scheme every protected operation refers to.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    paths(
        health::health,
        health::ready,
        super::metrics::exposition,
        serve,
        well_known::protected_resource,
        well_known::dev_discovery,
        well_known::dev_jwks,
        api::me,
        items::list,
        items::create,
        items::get,
        items::replace,
        items::update,
        items::delete,
        admin::stats,
    ),
    components(schemas(Problem)),
    modifiers(&SharedResponses),
)]
struct ApiDoc;

/// The document as served: rendered once per process and configuration, shared without copying.
pub struct OpenApiJson(web::Bytes);

/// The rendered document for this configuration (see [`document`]), rendered by the first
/// worker that asks and shared by every other.
pub fn rendered(dev_issuer: bool, metrics: bool) -> web::Data<OpenApiJson> {
    static RENDERED: [OnceLock<web::Data<OpenApiJson>>; 4] = [const { OnceLock::new() }; 4];
    let variant = usize::from(dev_issuer) * 2 + usize::from(metrics);
    RENDERED[variant]
        .get_or_init(|| {
            let json = document(dev_issuer, metrics).to_json().unwrap_or_default();
            web::Data::new(OpenApiJson(json.into()))
        })
        .clone()
}

/// The document for this configuration: the development issuer's routes, and `/metrics`, are
/// described only where the API serves them.
pub fn document(dev_issuer: bool, metrics: bool) -> Document {
    let mut document = ApiDoc::openapi();
    if !dev_issuer {
        for path in [
            "/.well-known/openid-configuration",
            "/.well-known/jwks.json",
        ] {
            document.paths.paths.remove(path);
        }
    }
    if !metrics {
        document.paths.paths.remove("/metrics");
    }
    document
}

/// `GET /openapi.json`
#[utoipa::path(get, path = "/openapi.json", tag = "discovery", responses((status = 200,
    description = "This document: OpenAPI 3.1", body = Object)))]
pub async fn serve(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}

/// Adds the bearer scheme, and to every operation the errors it can answer with, each as
/// problem details: 401 and 403 (with the RFC 6750 challenge) where a token is required, the
/// body errors where a body is read, 404 where an id is named, and `default` for the rest
/// (405, 500, 503).
struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT access token from a trusted issuer (RFC 6750, RFC 9068). The \
                         array of a requirement lists the scopes the operation needs, or the \
                         role for admin operations.",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_an_id = path.contains('{');
            for operation in operations(item) {
                add_errors(operation, names_an_id);
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn add_errors(operation: &mut Operation, names_an_id: bool) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    // Requirements serialize as `[{"bearer": [scopes or role]}]`.
    let needs_permission = serde_json::to_value(&operation.security).is_ok_and(|security| {
        security
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|requirement| requirement.as_object())
            .flat_map(|requirement| requirement.values())
            .any(|scopes| scopes.as_array().is_some_and(|scopes| !scopes.is_empty()))
    });
    let reads_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    // The first description given for a status stands.
    let mut add = |status: &str, description: &str, challenge: bool| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(description, challenge)));
    };
    if secured && reads_body {
        add(
            "400",
            "The Authorization header is malformed (`invalid_request`), or the body is not \
             well-formed JSON",
            true,
        );
    }
    if secured {
        add(
            "400",
            "The Authorization header is malformed (`invalid_request`)",
            true,
        );
        add("401", "No token, or one that failed verification", true);
    }
    if needs_permission {
        add(
            "403",
            "The token lacks the scope or role this operation requires",
            true,
        );
    }
    if reads_body {
        add("400", "The body is not well-formed JSON", false);
        add("413", "The body is larger than the configured limit", false);
        add("415", "The body is not application/json", false);
        add(
            "422",
            "The body is JSON but not a valid item; `errors` lists each field",
            false,
        );
    }
    if names_an_id {
        add("404", "No item has this id", false);
    }
    add("default", "Any other error (405, 500, 503)", false);
}

fn problem_response(description: &str, challenge: bool) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(Problem::name())))
            .build(),
    );
    if challenge {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new().schema_type(Type::String),
                ))
                .description(Some(
                    "The RFC 6750 Bearer challenge, with resource_metadata",
                ))
                .build(),
        );
    }
    response.build()
}
