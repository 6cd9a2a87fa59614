//! The OpenAPI 3.1 document, generated from the handlers' and types' own annotations, served at
//! `GET /openapi.json`. What every operation shares (the bearer scheme and the problem+json
//! errors) is added here once rather than on each handler.

use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, OpenApi as Document, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{api, health, well_known};
use crate::auth::RouteTable;
use crate::auth::{Requirement, StepUp};
use crate::problem::{PROBLEM_JSON, Problem};

/// The name of the bearer security scheme every protected operation refers to.
const BEARER: &str = "bearer";
/// The name of the DPoP security scheme (RFC 9449), offered beside it where DPoP is accepted.
const DPOP: &str = "dpop";

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
    modifiers(&BearerScheme),
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
                let mut json =
                    serde_json::to_value(document(&self.routes, self.dpop)).unwrap_or_default();
                if self.dpop {
                    // OpenAPI's http schemes are IANA's, DPoP among them; utoipa names no DPoP.
                    json["components"]["securitySchemes"][DPOP] = serde_json::json!({
                        "type": "http",
                        "scheme": "DPoP",
                        "description": "A DPoP-bound JWT access token (RFC 9449) in \
                            `Authorization: DPoP <token>`, with one proof for this request in \
                            the `DPoP` header. The array lists the scope or role the \
                            operation needs.",
                    });
                }
                serde_json::to_vec(&json).unwrap_or_default().into()
            })
            .clone()
    }
}

/// The document of the routes in `routes`: each operation the handlers' annotations describe,
/// kept where the table serves it, with the security its declaration requires and the errors
/// it can answer with; HEAD beside GET wherever the table serves HEAD.
pub fn document(routes: &RouteTable, dpop: bool) -> Document {
    let mut document = ApiDoc::openapi();
    let served = routes.entries();
    for (path, item) in document.paths.paths.iter_mut() {
        let names_an_id = path.contains('{');
        let declared = |method: &Method| {
            served
                .iter()
                .find(|route| &route.path == path && route.method == method)
        };
        let requirement_of = |method: &Method| declared(method).map(|route| route.requirement);
        for method in [
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
        ] {
            let slot = operation_slot(item, &method);
            match (slot.as_mut(), requirement_of(&method)) {
                (Some(operation), Some(requirement)) => {
                    if let Some(step_up) = declared(&method).and_then(|r| r.step_up.as_deref()) {
                        describe_step_up(operation, step_up);
                    }
                    operation.security =
                        requirement.map(|requirement| {
                            // Alternatives: OpenAPI's empty requirement (callable without a token)
                            // where authentication is optional, then each scheme accepted.
                            let anonymous = (requirement == Requirement::Optional)
                                .then(SecurityRequirement::default);
                            let schemes = [Some(BEARER), dpop.then_some(DPOP)];
                            anonymous
                                .into_iter()
                                .chain(schemes.into_iter().flatten().map(|scheme| {
                                    SecurityRequirement::new(scheme, requirement.name())
                                }))
                                .collect()
                        });
                    add_errors(operation, names_an_id);
                }
                _ => *slot = None,
            }
        }
        item.head = match requirement_of(&Method::HEAD) {
            Some(_) => item.get.clone().map(as_head),
            None => None,
        };
    }
    document.paths.paths.retain(|_, item| {
        [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .iter()
            .any(|operation| operation.is_some())
    });
    document
}

fn operation_slot<'a>(item: &'a mut PathItem, method: &Method) -> &'a mut Option<Operation> {
    match *method {
        Method::GET => &mut item.get,
        Method::HEAD => &mut item.head,
        Method::PUT => &mut item.put,
        Method::POST => &mut item.post,
        Method::DELETE => &mut item.delete,
        _ => &mut item.patch,
    }
}

/// A GET operation as HEAD answers it: the same responses and headers, no bodies.
fn as_head(mut operation: Operation) -> Operation {
    operation.operation_id = operation.operation_id.map(|id| format!("{id}_head"));
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.content.clear();
        }
    }
    operation
}

/// `GET /openapi.json`
#[utoipa::path(get, path = "/openapi.json", tag = "discovery", responses((status = 200,
    description = "This document: OpenAPI 3.1", body = Object)))]
pub async fn serve(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.bytes())
}

/// Adds the bearer scheme the protected operations refer to.
struct BearerScheme;

impl Modify for BearerScheme {
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
                         array of a requirement lists the scope or role the operation needs.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the errors an operation can answer with, each as problem details: 401 and 403 (with
/// the RFC 6750 challenge) where a token is required, the body errors where a body is read,
/// 404 where an id is named, and `default` for the rest (405, 500, 503).
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
            "The body is JSON but breaks the resource's rules; `errors` lists each field",
            false,
        );
    }
    if names_an_id {
        add("404", "Nothing has this id", false);
    }
    add("default", "Any other error (405, 500, 503)", false);
}

/// States an operation's step-up demand (RFC 9470): as `x-step-up` (`acr_values`, `max_age`),
/// for tools, and as its 401, for readers.
fn describe_step_up(operation: &mut Operation, step_up: &StepUp) {
    let demand = serde_json::json!({
        "acr_values": step_up.acr_values(),
        "max_age": step_up.max_age(),
    });
    operation.extensions = Some([("x-step-up", demand)].into_iter().collect());
    let description = format!(
        "No token, one that failed verification, or (`insufficient_user_authentication`, RFC \
         9470) one whose authentication is weaker or older than this operation demands: `acr` \
         one of {:?}, `auth_time` at most {} s ago; the challenge names `acr_values` and \
         `max_age`",
        step_up.acr_values(),
        step_up
            .max_age()
            .map_or_else(|| "any number of".to_owned(), |age| age.to_string()),
    );
    operation.responses.responses.insert(
        "401".to_owned(),
        RefOr::T(problem_response(&description, true)),
    );
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
