//! The OpenAPI 3.1 document, generated from the handlers' and types' own annotations, served at
//! `GET /openapi.json`. What every operation shares (the bearer scheme and the problem+json
//! errors) is added here once rather than on each handler.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use issuer_trust::actix::openapi::{problem_response, secured_document};
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Operation;
use utoipa::{OpenApi, ToSchema};

use super::{api, health, well_known};
use crate::auth::RouteTable;
use crate::problem::Problem;

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
        api::greeting,
    ),
    nest(
        (path = "/api/v1", api = super::items::ItemsApi),
        (path = "/api/v1", api = super::admin::AdminApi),
    ),
    components(schemas(Problem)),
)]
struct ApiDoc;

/// The document as served: rendered from the [`RouteTable`] by the first request for it, once
/// every route is declared, and shared without copying after.
pub struct OpenApiJson {
    routes: RouteTable,
    dpop: bool,
    rendered: OnceLock<web::Bytes>,
}

impl OpenApiJson {
    /// The document of `routes`; with `dpop`, each protected operation accepts the DPoP scheme
    /// as well as the bearer one.
    pub fn new(routes: RouteTable, dpop: bool) -> Self {
        Self {
            routes,
            dpop,
            rendered: OnceLock::new(),
        }
    }

    fn bytes(&self) -> web::Bytes {
        self.rendered
            .get_or_init(|| {
                let document = secured_document(
                    ApiDoc::openapi(),
                    &self.routes,
                    self.dpop,
                    &Problem::name(),
                    add_errors,
                );
                serde_json::to_vec(&document).unwrap_or_default().into()
            })
            .clone()
    }
}

/// `GET /openapi.json`
#[utoipa::path(get, path = "/openapi.json", tag = "discovery", responses((status = 200,
    description = "This document: OpenAPI 3.1", body = Object)))]
pub async fn serve(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.bytes())
}

/// Adds the errors an operation can answer with beside authentication's, each as problem
/// details: the body errors where a body is read, 404 where an id is named, and `default` for
/// the rest (405, 500, 503).
fn add_errors(path: &str, operation: &mut Operation) {
    let reads_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    if reads_body && responses.contains_key("400") {
        responses.insert(
            "400".to_owned(),
            RefOr::T(problem_response(
                "The Authorization header is malformed (`invalid_request`), or the body is not \
                 well-formed JSON",
                true,
                &Problem::name(),
            )),
        );
    }
    // The first description given for a status stands.
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(description, false, &Problem::name())));
    };
    if reads_body {
        add("400", "The body is not well-formed JSON");
        add("413", "The body is larger than the configured limit");
        add("415", "The body is not application/json");
        add(
            "422",
            "The body is JSON but breaks the resource's rules; `errors` lists each field",
        );
    }
    if path.contains('{') {
        add("404", "Nothing has this id");
    }
    add("default", "Any other error (405, 500, 503)");
}
