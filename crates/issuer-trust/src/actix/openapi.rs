//! An OpenAPI document's security, read from the [`RouteTable`] rather than written beside each
//! handler: the bearer (and DPoP) schemes, each operation's requirement, its step-up demand,
//! the authentication errors it can answer with, and HEAD beside every GET the table serves.
//! Operations the table does not serve are dropped, so the document describes what is served.

use actix_web::http::Method;
use serde_json::Value;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Type};

use super::problem::PROBLEM_JSON;
use super::require::Requirement;
use super::routes::RouteTable;
use crate::step_up::StepUp;

/// The name of the bearer security scheme every protected operation refers to.
const BEARER: &str = "bearer";
/// The name of the DPoP security scheme (RFC 9449), offered beside it where DPoP is accepted.
const DPOP: &str = "dpop";

/// `document` as served by `routes`, as JSON: each operation kept where the table serves it,
/// with the security its declaration requires and the authentication errors it can answer with
/// (bodies of the schema named `problem_schema`), then whatever `describe` adds to it (given
/// the operation's path); with `dpop`, each protected operation accepts the DPoP scheme as well
/// as the bearer one.
pub fn secured_document(
    mut document: OpenApi,
    routes: &RouteTable,
    dpop: bool,
    problem_schema: &str,
    describe: impl Fn(&str, &mut Operation),
) -> Value {
    add_bearer_scheme(&mut document);
    let served = routes.entries();
    for (path, item) in document.paths.paths.iter_mut() {
        let declared = |method: &Method| {
            served
                .iter()
                .find(|route| &route.path == path && route.method == method)
        };
        for method in [
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
        ] {
            let slot = operation_slot(item, &method);
            match (slot.as_mut(), declared(&method)) {
                (Some(operation), Some(route)) => {
                    if let Some(step_up) = route.step_up.as_deref() {
                        describe_step_up(operation, step_up, problem_schema);
                    }
                    operation.security = route
                        .requirement
                        .map(|requirement| security(requirement, dpop));
                    add_auth_errors(operation, problem_schema);
                    describe(path, operation);
                }
                _ => *slot = None,
            }
        }
        item.head = match declared(&Method::HEAD) {
            Some(_) => item.get.clone().map(as_head),
            None => None,
        };
    }
    document.paths.paths.retain(|_, item| {
        [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .iter()
            .any(|operation| operation.is_some())
    });
    let mut json = serde_json::to_value(document).unwrap_or_default();
    if dpop {
        // OpenAPI's http schemes are IANA's, DPoP among them; utoipa names no DPoP.
        json["components"]["securitySchemes"][DPOP] = serde_json::json!({
            "type": "http",
            "scheme": "DPoP",
            "description": "A DPoP-bound JWT access token (RFC 9449) in \
                `Authorization: DPoP <token>`, with one proof for this request in the `DPoP` \
                header. The array lists the scope or role the operation needs.",
        });
    }
    json
}

/// The alternatives a requirement accepts: OpenAPI's empty requirement (callable without a
/// token) where authentication is optional, then each scheme accepted.
fn security(requirement: Requirement, dpop: bool) -> Vec<SecurityRequirement> {
    let anonymous = (requirement == Requirement::Optional).then(SecurityRequirement::default);
    let schemes = [Some(BEARER), dpop.then_some(DPOP)];
    anonymous
        .into_iter()
        .chain(
            schemes
                .into_iter()
                .flatten()
                .map(|scheme| SecurityRequirement::new(scheme, requirement.name())),
        )
        .collect()
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

fn add_bearer_scheme(document: &mut OpenApi) {
    let components = document
        .components
        .get_or_insert_with(|| ComponentsBuilder::new().build());
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A JWT access token from a trusted issuer (RFC 6750, RFC 9068). The array \
                     of a requirement lists the scope or role the operation needs.",
                ))
                .build(),
        ),
    );
}

/// Adds the authentication errors an operation can answer with, where a token is required:
/// 400 and 401 with the RFC 6750 challenge, and 403 where a scope or role is. A description
/// already given for a status stands.
fn add_auth_errors(operation: &mut Operation, problem_schema: &str) {
    let Some(security) = &operation.security else {
        return;
    };
    if security.is_empty() {
        return;
    }
    // Requirements serialize as `[{"bearer": [scopes or role]}]`.
    let needs_permission = serde_json::to_value(security).is_ok_and(|security| {
        security
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|requirement| requirement.as_object())
            .flat_map(|requirement| requirement.values())
            .any(|scopes| scopes.as_array().is_some_and(|scopes| !scopes.is_empty()))
    });
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(description, true, problem_schema)));
    };
    add(
        "400",
        "The Authorization header is malformed (`invalid_request`)",
    );
    add("401", "No token, or one that failed verification");
    if needs_permission {
        add(
            "403",
            "The token lacks the scope or role this operation requires",
        );
    }
}

/// States an operation's step-up demand (RFC 9470): as `x-step-up` (`acr_values`, `max_age`),
/// for tools, and as its 401, for readers.
fn describe_step_up(operation: &mut Operation, step_up: &StepUp, problem_schema: &str) {
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
        RefOr::T(problem_response(&description, true, problem_schema)),
    );
}

/// A problem response described by `description`, of the schema `problem_schema`; with
/// `challenge`, it carries `WWW-Authenticate`.
pub fn problem_response(description: &str, challenge: bool, problem_schema: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(problem_schema)))
            .build(),
    );
    if challenge {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(
                    "The RFC 6750 Bearer challenge, with resource_metadata",
                ))
                .build(),
        );
    }
    response.build()
}
