//! HTTP to the issuer: discovery and the JWKS download, bounded in time and size, through the
//! company network's roots and proxy when configured, conditional when the issuer gave
//! validators. It returns bytes and typed failures; what the bytes mean is the key set's
//! business.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::Duration;

use headers::{CacheControl, Header};
use reqwest::header::{
    ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::{Certificate, Client, Proxy, StatusCode, Url, redirect};
use rustls::CertificateError;
use serde::Deserialize;

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Connection refused, DNS failure, a TLS failure other than the certificate, and the like.
    Unreachable,
    /// The issuer's TLS certificate was refused, and why.
    Certificate(Cow<'static, str>),
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
            Self::Certificate(why) => write!(f, "the issuer's TLS certificate was refused: {why}"),
            Self::Timeout => f.write_str("the issuer did not answer in time"),
            Self::Redirect => f.write_str("the issuer redirected too often or away from https"),
            Self::Status(status) => write!(f, "the issuer answered HTTP {status}"),
            Self::TooLarge { limit } => write!(f, "the response exceeds {limit} bytes"),
            Self::BadDiscovery(why) => write!(f, "the discovery document {why}"),
            Self::IssuerMismatch => f.write_str("the discovery document names a different issuer"),
        }
    }
}

impl FetchError {
    /// The failure's kind, a fixed word: for a span's `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Certificate(_) => "certificate_refused",
            Self::Timeout => "timeout",
            Self::Redirect => "redirect",
            Self::Status(_) => "status",
            Self::TooLarge { .. } => "too_large",
            Self::BadDiscovery(_) => "bad_discovery",
            Self::IssuerMismatch => "issuer_mismatch",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A fetched document (a leading UTF-8 byte-order mark dropped), how long its server says it
/// stays fresh, and what to send to ask whether it changed.
pub struct Fetched {
    /// The answer's status, a success, for the fetch's span.
    #[cfg(feature = "opentelemetry")]
    pub status: u16,
    pub body: Vec<u8>,
    /// `Cache-Control: max-age`; zero for `no-store` or `no-cache`; `None` when absent.
    pub max_age: Option<Duration>,
    pub validators: Validators,
}

/// The answer to a conditional request: a new document, or 304 with the freshness it renews.
pub enum Answer {
    Changed(Fetched),
    NotModified { max_age: Option<Duration> },
}

/// A document's `ETag` and `Last-Modified`, sent back as `If-None-Match` and
/// `If-Modified-Since` (RFC 9110 §13.1) so an unchanged key set costs the issuer no body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

impl Validators {
    fn of(headers: &HeaderMap) -> Self {
        Self {
            etag: headers.get(ETAG).cloned(),
            last_modified: headers.get(LAST_MODIFIED).cloned(),
        }
    }

    /// Whether there is anything to ask with.
    pub fn any(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }

    fn conditions(&self) -> HeaderMap {
        let mut conditions = HeaderMap::new();
        if let Some(etag) = &self.etag {
            conditions.insert(IF_NONE_MATCH, etag.clone());
        }
        if let Some(date) = &self.last_modified {
            conditions.insert(IF_MODIFIED_SINCE, date.clone());
        }
        conditions
    }
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
    /// none of which may leave https except to a loopback host; the system's roots, and the
    /// proxy of `HTTPS_PROXY` / `HTTP_PROXY` when set. The configuration's `HttpConfig`
    /// builds one with private roots or a proxy of its own.
    pub fn new(timeout: Duration, max_bytes: usize) -> Self {
        Self::build(timeout, max_bytes, Vec::new(), false, None)
            .expect("the HTTP client builds with the system's roots")
    }

    /// A client as [`new`](Self::new)'s, trusting `roots` too (or only, when `roots_only`),
    /// through `proxy` when given.
    pub(crate) fn build(
        timeout: Duration,
        max_bytes: usize,
        roots: Vec<Certificate>,
        roots_only: bool,
        proxy: Option<Proxy>,
    ) -> reqwest::Result<Self> {
        let policy = redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > 3 {
                attempt.error("too many redirects")
            } else if may_fetch(attempt.url()) {
                attempt.follow()
            } else {
                attempt.error("redirect away from https")
            }
        });
        let mut builder = Client::builder();
        builder = if roots_only {
            builder.tls_certs_only(roots)
        } else {
            builder.tls_certs_merge(roots)
        };
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy);
        }
        let client = builder
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
            .build()?;
        Ok(Self { client, max_bytes })
    }

    /// Finds the JWKS URL of `issuer`: OIDC discovery when it answers, otherwise the path
    /// `{issuer}/.well-known/jwks.json` where Zuplo publishes its keys.
    /// `headers` go with the request (an API key some key endpoints require).
    pub(crate) async fn discover_jwks_uri(
        &self,
        issuer: &str,
        headers: &HeaderMap,
    ) -> Result<Url, FetchError> {
        let base = crate::tenant::discovery_base(issuer);
        let base = base.trim_end_matches('/');
        let discovery_url = parse_url(&format!("{base}/.well-known/openid-configuration"))?;
        match self.get(issuer, &discovery_url, headers).await {
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

    /// GETs one of `issuer`'s documents with `headers`, refusing non-2xx answers and bodies
    /// over the size cap while streaming.
    pub(crate) async fn get(
        &self,
        issuer: &str,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<Fetched, FetchError> {
        match self
            .get_if_changed(issuer, url, headers, &Validators::default())
            .await?
        {
            Answer::Changed(fetched) => Ok(fetched),
            // Only a conditional request is answered 304.
            Answer::NotModified { .. } => Err(FetchError::Status(304)),
        }
    }

    /// GETs a document as [`get`](Self::get) does, asking with `validators` whether it changed;
    /// with the `opentelemetry` feature, as a client span whose trace context the issuer gets.
    pub(crate) async fn get_if_changed(
        &self,
        issuer: &str,
        url: &Url,
        headers: &HeaderMap,
        validators: &Validators,
    ) -> Result<Answer, FetchError> {
        #[cfg(feature = "opentelemetry")]
        {
            use opentelemetry::trace::FutureExt;
            let mut headers = headers.clone();
            let span = crate::trace::spans::Fetch::start(issuer, url, &mut headers);
            let answer = self
                .send(url, &headers, validators)
                .with_context(span.context())
                .await;
            let (status, bytes, failure) = match &answer {
                Ok(Answer::Changed(fetched)) => {
                    (Some(fetched.status), Some(fetched.body.len()), None)
                }
                Ok(Answer::NotModified { .. }) => (Some(304), None, None),
                Err(error) => {
                    let status = match error {
                        FetchError::Status(status) => Some(*status),
                        _ => None,
                    };
                    (status, None, Some((error.kind(), error.to_string())))
                }
            };
            span.finish(status, bytes, failure);
            answer
        }
        #[cfg(not(feature = "opentelemetry"))]
        {
            let _ = issuer;
            self.send(url, headers, validators).await
        }
    }

    async fn send(
        &self,
        url: &Url,
        headers: &HeaderMap,
        validators: &Validators,
    ) -> Result<Answer, FetchError> {
        let mut response = self
            .client
            .get(url.clone())
            .headers(headers.clone())
            .headers(validators.conditions())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        let max_age = max_age(response.headers().get_all(reqwest::header::CACHE_CONTROL));
        if status == StatusCode::NOT_MODIFIED && validators.any() {
            return Ok(Answer::NotModified { max_age });
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let validators = Validators::of(response.headers());
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
        Ok(Answer::Changed(Fetched {
            #[cfg(feature = "opentelemetry")]
            status: status.as_u16(),
            body,
            max_age,
            validators,
        }))
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
    } else if let Some(why) = certificate_refused(&error) {
        FetchError::Certificate(why)
    } else if error.is_redirect() {
        FetchError::Redirect
    } else if let Some(status) = error.status() {
        FetchError::Status(status.as_u16())
    } else {
        FetchError::Unreachable
    }
}

/// Why the issuer's certificate was refused, when that is what failed the connection: the TLS
/// library's error lies somewhere down the chain of causes, inside I/O errors, whose own
/// `source` skips what they wrap.
fn certificate_refused(error: &(dyn std::error::Error + 'static)) -> Option<Cow<'static, str>> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(rustls::Error::InvalidCertificate(problem)) = current.downcast_ref() {
            return Some(certificate_problem(problem));
        }
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

fn certificate_problem(problem: &CertificateError) -> Cow<'static, str> {
    match problem {
        CertificateError::UnknownIssuer => {
            "it is signed by a certificate authority this service does not trust (a private CA \
             needs its roots given as the CA file)"
                .into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it is not valid for the issuer's host name".into()
        }
        CertificateError::Revoked => "it is revoked".into(),
        other => other.to_string().into(),
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
