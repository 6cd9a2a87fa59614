//! Cross-origin access for browsers: off unless origins are listed, and every listed value
//! checked at startup rather than at the first preflight.

use actix_web::http::Method;
use actix_web::http::header::HeaderName;
use reqwest::Url;
use serde::Deserialize;

use super::SettingsError;
use issuer_trust::config::values;

/// Which browser origins may call the API. Off (no CORS headers at all) when `allowed_origins`
/// is empty, the default.
#[derive(Debug, Clone, Deserialize)]
pub struct CorsSettings {
    /// Exact origins (`https://app.example.com`), or `*` for any. Defaults to none.
    #[serde(default, deserialize_with = "values::string_list")]
    pub allowed_origins: Vec<String>,
    /// Defaults to GET, POST, PUT, PATCH, DELETE.
    #[serde(default, deserialize_with = "values::string_list")]
    pub allowed_methods: Vec<String>,
    /// Defaults to authorization, content-type, x-request-id, dpop.
    #[serde(default, deserialize_with = "values::string_list")]
    pub allowed_headers: Vec<String>,
    /// How long browsers may cache a preflight answer. Defaults to 600 s.
    pub max_age_seconds: usize,
}

impl CorsSettings {
    /// The methods, parsed (checked at load: see [`Self::check`]).
    pub fn methods(&self) -> Result<Vec<Method>, SettingsError> {
        self.allowed_methods
            .iter()
            .map(|name| {
                Method::from_bytes(name.to_ascii_uppercase().as_bytes()).map_err(|_| {
                    SettingsError::new(
                        "APP__CORS__ALLOWED_METHODS",
                        format!("`{name}` is not an HTTP method"),
                        "list methods such as GET,POST",
                    )
                })
            })
            .collect()
    }

    /// The headers, parsed (checked at load: see [`Self::check`]).
    pub fn headers(&self) -> Result<Vec<HeaderName>, SettingsError> {
        self.allowed_headers
            .iter()
            .map(|name| {
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    SettingsError::new(
                        "APP__CORS__ALLOWED_HEADERS",
                        format!("`{name}` is not a header name"),
                        "list header names such as authorization,content-type",
                    )
                })
            })
            .collect()
    }

    pub(super) fn check(&self) -> Result<(), SettingsError> {
        for origin in &self.allowed_origins {
            if origin != "*" && !is_origin(origin) {
                return Err(SettingsError::new(
                    "APP__CORS__ALLOWED_ORIGINS",
                    format!("`{origin}` is not an origin"),
                    "list origins as scheme://host[:port] with no path, or * for any",
                ));
            }
        }
        self.methods()?;
        self.headers().map(drop)
    }
}

/// `scheme://host[:port]` exactly: what a browser sends in `Origin`.
fn is_origin(value: &str) -> bool {
    Url::parse(value).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.path() == "/"
            && !value.ends_with('/')
            && url.query().is_none()
    })
}
