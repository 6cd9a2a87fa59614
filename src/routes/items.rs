//! `/api/v1/items`: the example resource. Reads need `items:read`, writes `items:write`; each
//! requirement is declared on its route below, where the route is declared.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::ProtectedRoutes;
use crate::auth::{Caller, Requirement};
use crate::errors::ApiError;
use crate::items::{Creator, Item, ItemDraft, ItemPatch, ItemStore, StoreError};
use crate::problem::FieldError;

pub const ITEMS_READ: &str = "items:read";
pub const ITEMS_WRITE: &str = "items:write";

const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

const READ: Requirement = Requirement::Scope(ITEMS_READ);
const WRITE: Requirement = Requirement::Scope(ITEMS_WRITE);

/// The items routes, each with the scope it requires, and the store they share.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    api: &ProtectedRoutes,
    store: &web::Data<dyn ItemStore>,
) {
    cfg.app_data(store.clone())
        .service(api.at("/items").get(READ, list).post(WRITE, create))
        .service(
            api.at("/items/{id}")
                .get(READ, get)
                .put(WRITE, replace)
                .patch(WRITE, update)
                .delete(WRITE, delete),
        );
}

/// The items operations, nested under the API's prefix by the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get, replace, update, delete))]
pub struct ItemsApi;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("item"),
            StoreError::NameTaken => Self::Conflict("an item with this name already exists"),
            StoreError::Unavailable(why) => Self::Internal(why),
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// One page of items.
#[derive(Serialize, ToSchema)]
pub struct ItemPage {
    items: Vec<Item>,
    /// Pass as `cursor` to fetch the following page; null on the last page.
    next_cursor: Option<String>,
}

/// `GET /items?limit=&cursor=`: oldest first; `next_cursor` fetches the following page.
#[utoipa::path(get, path = "/items", tag = "items",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, pattern = "^[0-9]{1,19}$",
            description = "The `next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of items, oldest first", body = ItemPage)))]
pub async fn list(
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
    Ok(HttpResponse::Ok().json(ItemPage {
        items: page.items,
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// `POST /items`: 201 with `Location`; the item records who created it.
#[utoipa::path(post, path = "/items", tag = "items",
    request_body(content = ItemDraft, content_type = "application/json"),
    responses((status = 201, description = "Created; `Location` names the new item", body = Item,
        headers(("Location" = String, description = "The new item's path")))))]
pub async fn create(
    caller: Caller,
    store: web::Data<dyn ItemStore>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let draft = ItemDraft::from_json(&body).map_err(ApiError::Invalid)?;
    let created_by = Creator {
        iss: caller.issuer().to_owned(),
        sub: caller.subject().map(str::to_owned),
    };
    let item = store.create(draft, created_by).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/items/{}", item.id)))
        .json(item))
}

/// `GET /items/{id}`
#[utoipa::path(get, path = "/items/{id}", tag = "items",
    params(("id" = String, Path, description = "The item's id")),
    responses((status = 200, description = "The item", body = Item)))]
pub async fn get(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(store.get(&id).await?))
}

/// `PUT /items/{id}`: replaces every field.
#[utoipa::path(put, path = "/items/{id}", tag = "items",
    params(("id" = String, Path, description = "The item's id")),
    request_body(content = ItemDraft, content_type = "application/json"),
    responses((status = 200, description = "The replaced item", body = Item)))]
pub async fn replace(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let draft = ItemDraft::from_json(&body).map_err(ApiError::Invalid)?;
    Ok(HttpResponse::Ok().json(store.replace(&id, draft).await?))
}

/// `PATCH /items/{id}`: changes the fields present.
#[utoipa::path(patch, path = "/items/{id}", tag = "items",
    params(("id" = String, Path, description = "The item's id")),
    request_body(content = ItemPatch, content_type = "application/json"),
    responses((status = 200, description = "The updated item", body = Item)))]
pub async fn update(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = ItemPatch::from_json(&body).map_err(ApiError::Invalid)?;
    Ok(HttpResponse::Ok().json(store.update(&id, patch).await?))
}

/// `DELETE /items/{id}`: 204.
#[utoipa::path(delete, path = "/items/{id}", tag = "items",
    params(("id" = String, Path, description = "The item's id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    store: web::Data<dyn ItemStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    store.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A cursor is the position of the last item served, in decimal: a format the document states
/// exactly (`^[0-9]{1,19}$`, every such number fits a u64), so that every cursor the schema
/// allows is one this service accepts.
fn encode_cursor(position: u64) -> String {
    position.to_string()
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let digits = (1..=MAX_CURSOR_DIGITS).contains(&cursor.len())
        && cursor.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| cursor.parse().ok()).flatten()
}

const MAX_CURSOR_DIGITS: usize = 19;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(
            decode_cursor("9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for foreign in [
            "",
            "not a cursor",
            "-1",
            "+1",
            "1.5",
            "00000000000000000001",
        ] {
            assert_eq!(decode_cursor(foreign), None, "{foreign:?}");
        }
    }
}
