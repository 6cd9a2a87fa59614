//! HTTP to the issuer: discovery and the JWKS download, bounded in time and size. It returns
//! bytes and typed failures; what the bytes mean is the key set's business.

use std::net::IpAddr;
use std::time::Duration;

use headers::{CacheControl, Header};
use reqwest::{Client, Url, redirect};
use serde::Deserialize;

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Connection refused, DNS failure, TLS failure and the like.
    Unreachable,
    Timeout,
    /// More than three redirects, or one away from https to a non-loopback host.
    Redirect,
    Status(u16),
    TooLarge {
        limit: usize,
    },
    /// Discovery answered, but not with a usable document.
    BadDiscovery(&'static str),
    /// Discovery names another issuer, so its keys cannot be trusted for ours.
    IssuerMismatch,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable => f.write_str("the issuer could not be reached"),
            Self::Timeout => f.write_str("the issuer did not answer in time"),
            Self::Redirect => f.write_str("the issuer redirected too often or away from https"),
            Self::Status(status) => write!(f, "the issuer answered HTTP {status}"),
            Self::TooLarge { limit } => write!(f, "the response exceeds {limit} bytes"),
            Self::BadDiscovery(why) => write!(f, "the discovery document {why}"),
            Self::IssuerMismatch => f.write_str("the discovery document names a different issuer"),
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A fetched document (a leading UTF-8 byte-order mark dropped) and how long its server says it
/// stays fresh.
pub struct Fetched {
    pub body: Vec<u8>,
    /// `Cache-Control: max-age`; zero for `no-store` or `no-cache`; `None` when absent.
    pub max_age: Option<Duration>,
}

/// Bounded HTTP access to one issuer's documents.
#[derive(Clone)]
pub struct Fetcher {
    client: Client,
    max_bytes: usize,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: Option<String>,
    jwks_uri: Option<String>,
}

impl Fetcher {
    /// A client with connect and total timeouts, a size cap, and at most three redirects,
    /// none of which may leave https except to a loopback host.
    pub fn new(timeout: Duration, max_bytes: usize) -> Self {
        let policy = redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > 3 {
                attempt.error("too many redirects")
            } else if may_fetch(attempt.url()) {
                attempt.follow()
            } else {
                attempt.error("redirect away from https")
            }
        });
        let client = Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(policy)
            // No pooled connections: fetches are rare, and a pooled connection belongs to the
            // runtime that opened it while the store is shared by every worker's runtime.
            .pool_max_idle_per_host(0)
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .expect("the HTTP client builds with static settings");
        Self { client, max_bytes }
    }

    /// Finds the JWKS URL of `issuer`: OIDC discovery when it answers, otherwise the path
    /// `{issuer}/.well-known/jwks.json` where Zuplo publishes its keys.
    pub async fn discover_jwks_uri(&self, issuer: &str) -> Result<Url, FetchError> {
        let base = issuer.trim_end_matches('/');
        let discovery_url = parse_url(&format!("{base}/.well-known/openid-configuration"))?;
        match self.get(&discovery_url).await {
            Ok(fetched) => {
                let document: Discovery = serde_json::from_slice(&fetched.body)
                    .map_err(|_| FetchError::BadDiscovery("is not JSON"))?;
                if document.issuer.as_deref() != Some(issuer) {
                    return Err(FetchError::IssuerMismatch);
                }
                let jwks_uri = document
                    .jwks_uri
                    .ok_or(FetchError::BadDiscovery("has no jwks_uri"))?;
                let url = parse_url(&jwks_uri)?;
                if !may_fetch(&url) {
                    return Err(FetchError::BadDiscovery("points at a non-https jwks_uri"));
                }
                Ok(url)
            }
            Err(FetchError::Status(404)) => parse_url(&format!("{base}/.well-known/jwks.json")),
            Err(error) => Err(error),
        }
    }

    /// GETs a document, refusing non-2xx answers and bodies over the size cap while streaming.
    pub async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let max_age = max_age(response.headers().get_all(reqwest::header::CACHE_CONTROL));
        let too_large = FetchError::TooLarge {
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes as u64)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        // RFC 8259 §8.1 lets a JSON parser ignore a byte-order mark; some issuers send one.
        if body.starts_with(UTF8_BOM) {
            body.drain(..UTF8_BOM.len());
        }
        Ok(Fetched { body, max_age })
    }
}

/// Reads `Cache-Control` with hyperium's typed header; `no-store` and `no-cache` count as a
/// lifetime of zero (the caller clamps it to its minimum), whatever `max-age` says beside them.
fn max_age(values: reqwest::header::GetAll<'_, reqwest::header::HeaderValue>) -> Option<Duration> {
    let directives = CacheControl::decode(&mut values.iter()).ok()?;
    if directives.no_store() || directives.no_cache() {
        return Some(Duration::ZERO);
    }
    directives.max_age()
}

/// Whether a URL may be fetched at all: https, or plain http to a loopback host only.
fn may_fetch(url: &Url) -> bool {
    url.scheme() == "https" || is_loopback(url)
}

fn parse_url(value: &str) -> Result<Url, FetchError> {
    Url::parse(value).map_err(|_| FetchError::BadDiscovery("holds an invalid URL"))
}

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_redirect() {
        FetchError::Redirect
    } else if let Some(status) = error.status() {
        FetchError::Status(status.as_u16())
    } else {
        FetchError::Unreachable
    }
}

/// True for `localhost` and addresses in 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        for (url, allowed) in [
            ("https://issuer.example.com/keys", true),
            ("http://127.0.0.1:9000/keys", true),
            ("http://localhost/keys", true),
            ("http://issuer.example.com/keys", false),
        ] {
            assert_eq!(may_fetch(&Url::parse(url).unwrap()), allowed, "{url}");
        }
    }
}
