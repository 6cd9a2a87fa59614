//! Routes of the tests' own, declared and guarded the way the API's are, so that the tests of
//! scopes, roles and their claim shapes hold whatever resources the API serves (with the example
//! resource removed too). Mounted beside the production routing table, never in it.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{HttpResponse, body::MessageBody, web};
use app::auth::RouteTable;
use app::auth::{Caller, Claims, Requirement};
use app::state::AppState;
use serde_json::json;

use crate::common::{Reply, TestIssuer, get_as, standard_state};

/// The scope `GET /probe/scoped/{id}` requires.
pub const PROBE_SCOPE: &str = "probe:read";
/// The role `GET /probe/role` requires.
pub const PROBE_ROLE: &str = "admin";

/// `GET /probe/scoped/{id}` (scope [`PROBE_SCOPE`]), `GET /probe/role` (role [`PROBE_ROLE`]),
/// `GET /probe/tenant` (the caller's claims read as [`TenantClaims`]), `POST /probe/echo` (a JSON body, read under the app's JSON limits) and `GET /probe/plain` (an
/// error answered in plain text, as the framework's own are), behind the same bearer middleware
/// as `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig, state: &AppState) {
    let probe = RouteTable::new(&state.authenticator).protected("/probe");
    cfg.service(
        probe
            .scope()
            .wrap(state.authenticator.bearer())
            .service(
                probe
                    .at("/scoped/{id}")
                    .get(Requirement::Scope(PROBE_SCOPE), answer),
            )
            .service(probe.at("/role").get(Requirement::Role(PROBE_ROLE), answer))
            .service(probe.at("/tenant").get(Requirement::Token, tenant))
            .service(probe.at("/echo").post(Requirement::Token, echo))
            .service(probe.at("/plain").get(Requirement::Token, plain)),
    )
    // A handler reading the caller on a route left unguarded: a mistake of the routing.
    .route("/probe-unguarded", web::get().to(answer));
}

/// Who passed, so a test sees the caller the requirement was checked against.
async fn answer(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": caller.subject() }))
}

/// The custom claims a route of a multi-tenant API might read.
#[derive(serde::Deserialize)]
struct TenantClaims {
    sub: String,
    tenant: String,
    #[serde(default)]
    tier: Option<u8>,
}

/// The caller's tenant, from claims read into the route's own type.
async fn tenant(claims: Claims<TenantClaims>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "sub": claims.sub,
        "tenant": claims.tenant,
        "tier": claims.tier,
    }))
}

/// The JSON body back, so the app-wide body limits are seen on a route of no resource.
async fn echo(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

/// A 400 in plain text with a header of its own, as an extractor of the framework answers.
async fn plain() -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header(("x-probe", "kept"))
        .body("can not parse the path")
}

/// An app serving the production routing table and the probe routes over `state`.
#[macro_export]
macro_rules! probe_service {
    ($state:expr) => {{
        let state = $state.clone();
        actix_web::test::init_service(
            app::startup::app(state.clone()).configure(|cfg| $crate::probe::routes(cfg, &state)),
        )
        .await
    }};
}

/// `GET /probe/scoped/an-id` with `token`.
pub async fn scoped<S, B>(app: &S, token: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    get_as(app, "/probe/scoped/an-id", token).await
}

/// `GET /probe/role` with `token`.
pub async fn role<S, B>(app: &S, token: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    get_as(app, "/probe/role", token).await
}

/// A test issuer publishing the standard keys, and the probe app trusting it.
pub async fn probe_app() -> (
    TestIssuer,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) {
    let (issuer, state) = standard_state().await;
    (issuer, crate::probe_service!(state))
}
