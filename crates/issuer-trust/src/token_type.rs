//! JWS `typ` values, compared as media types (RFC 7515 §4.1.9): case-insensitive, with or without
//! the `application/` prefix. Shared by the settings that require a type and the header check
//! that reads one, so both normalise alike.

/// The token types accepted at all: `jwt` (RFC 7519) and `at+jwt` (RFC 9068), normalised.
pub const ACCEPTED_TYPES: [&str; 2] = ["jwt", "at+jwt"];

/// A `typ` normalised: lowercase, without an `application/` prefix.
pub fn media_type(typ: &str) -> String {
    let typ = typ.to_ascii_lowercase();
    match typ.strip_prefix("application/") {
        Some(short) => short.to_owned(),
        None => typ,
    }
}
