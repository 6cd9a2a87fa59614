//! `/api/v1/items`: the example resource. Reads need `items:read`, writes `items:write`; each
//! requirement is declared on its route below, where the route is declared.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Caller, Requirements};
use crate::errors::{ApiError, method_not_allowed};
use crate::items::{FieldError, ItemDraft, ItemPatch, ItemStore};

pub const ITEMS_READ: &str = "items:read";
pub const ITEMS_WRITE: &str = "items:write";

const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

/// The items routes, each with the scope it requires.
pub fn configure(cfg: &mut web::ServiceConfig, require: &Requirements) {
    cfg.service(
        web::resource("/items")
            .route(web::get().to(list).wrap(require.scope(ITEMS_READ)))
            .route(web::post().to(create).wrap(require.scope(ITEMS_WRITE)))
            .default_service(web::to(method_not_allowed("GET, POST"))),
    )
    .service(
        web::resource("/items/{id}")
            .route(web::get().to(get).wrap(require.scope(ITEMS_READ)))
            .route(web::put().to(replace).wrap(require.scope(ITEMS_WRITE)))
            .route(web::patch().to(update).wrap(require.scope(ITEMS_WRITE)))
            .route(web::delete().to(delete).wrap(require.scope(ITEMS_WRITE)))
            .default_service(web::to(method_not_allowed("GET, PUT, PATCH, DELETE"))),
    );
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /items?limit=&cursor=`: oldest first; `next_cursor` fetches the following page.
async fn list(
    store: web::Data<dyn ItemStore>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let limit = match query.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    "must be a whole number from 1 to 100",
                ));
                DEFAULT_PAGE
            }
        },
    };
    let after = match query.cursor.as_deref() {
        None => None,
        Some(cursor) => decode_cursor(cursor).or_else(|| {
            errors.push(FieldError::new(
                "cursor",
                "is not a cursor this service issued",
            ));
            None
        }),
    };
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let page = store.list(after, limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": page.items,
        "next_cursor": page.next.map(encode_cursor),
    })))
}

/// `POST /items`: 201 with `Location`; the item records who created it.
async fn create(
    caller: Caller,
    store: web::Data<dyn ItemStore>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let draft = ItemDraft::from_json(&body).map_err(ApiError::Invalid)?;
    let created_by = caller.subject().unwrap_or_default().to_owned();
    let item = store.create(draft, created_by).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/items/{}", item.id)))
        .json(item))
}

/// `GET /items/{id}`
async fn get(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(store.get(&id).await?))
}

/// `PUT /items/{id}`: replaces every field.
async fn replace(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let draft = ItemDraft::from_json(&body).map_err(ApiError::Invalid)?;
    Ok(HttpResponse::Ok().json(store.replace(&id, draft).await?))
}

/// `PATCH /items/{id}`: changes the fields present.
async fn update(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = ItemPatch::from_json(&body).map_err(ApiError::Invalid)?;
    Ok(HttpResponse::Ok().json(store.update(&id, patch).await?))
}

/// `DELETE /items/{id}`: 204.
async fn delete(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    store.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Cursors are opaque to clients: the position of the last item served, base64url-encoded.
fn encode_cursor(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(position.to_string())
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("-1")), None);
    }
}
