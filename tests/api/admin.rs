//! The example's operator route: guarded by the role `admin`, it reports the items' figures.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::common::{claims, get, keys, sign, standard_app};

#[actix_web::test]
async fn the_admin_route_needs_the_admin_role() {
    let (issuer, app) = standard_app().await;
    let mut operator = claims(&issuer.url);
    operator["roles"] = json!(["operator"]);
    let mut admin = claims(&issuer.url);
    admin["roles"] = json!(["admin"]);

    assert_eq!(
        get(&app, "/api/v1/admin/stats", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let wrong_role = get(
        &app,
        "/api/v1/admin/stats",
        Some(&format!("Bearer {}", sign(&keys().ed, &operator))),
    )
    .await;
    assert_eq!(wrong_role.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong_role.body["error"], "insufficient_scope");
    assert_eq!(
        wrong_role.body["detail"],
        "this route requires the role admin"
    );
    let allowed = get(
        &app,
        "/api/v1/admin/stats",
        Some(&format!("Bearer {}", sign(&keys().ed, &admin))),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.body, json!({"items": 0, "creators": 0}));
}
