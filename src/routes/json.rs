//! JSON answers on the hot routes, built without what `HttpResponseBuilder::json` repeats on
//! every call: converting its `mime` into a header value and growing its buffer from empty.

use actix_web::HttpResponse;
use actix_web::body::MessageBody;
use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;

/// The media type, as a header value made once.
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A 200 answer of JSON text already written (such as a constant).
pub fn ok_body<B: MessageBody>(json: B) -> HttpResponse<B> {
    let mut response = HttpResponse::with_body(StatusCode::OK, json);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON);
    response
}

/// `value` as a 200 JSON answer, written into a buffer of `capacity` bytes: the caller knows
/// about how long it is. A value that cannot be written is a 500 (which the request middleware
/// turns into a problem), as with `HttpResponseBuilder::json`.
pub fn ok(value: &impl Serialize, capacity: usize) -> HttpResponse {
    let mut json = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut json, value) {
        Ok(()) => ok_body(json).map_into_boxed_body(),
        Err(error) => HttpResponse::from_error(JsonPayloadError::Serialize(error)),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    #[actix_web::test]
    async fn a_value_is_answered_as_json_text() {
        let response = ok(&serde_json::json!({"a": [1, "b"]}), 4);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers().get(CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body = to_bytes(response.into_body()).await.unwrap();
        assert_eq!(body.as_ref(), br#"{"a":[1,"b"]}"#);
    }

    #[actix_web::test]
    async fn a_value_that_cannot_be_written_is_a_server_error() {
        // JSON object keys must be strings.
        let map = std::collections::BTreeMap::from([((1, 2), "x")]);
        assert_eq!(ok(&map, 0).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
