//! Where a request's token is read from. Each issuer names a header and the auth-scheme before
//! the token in it (default `Authorization: Bearer …`); a gateway may put its own token in a
//! header of its choosing while the caller's `Authorization` passes through untouched. A token
//! is read only from a configured header, never from the query string or a form, and is
//! accepted only from the header its issuer is configured for.

use actix_web::http::header::{AUTHORIZATION, HeaderName};

/// The header a token arrives in and the word before it there, e.g. a gateway that sends its
/// own token in a header of its choosing while the caller's `Authorization` passes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLocation {
    /// Defaults to `Authorization`.
    pub header: HeaderName,
    /// The auth-scheme before the token, compared case-insensitively: defaults to `Bearer`;
    /// empty when the header holds the bare token.
    pub prefix: String,
}

impl TokenLocation {
    /// The location a configuration names: a header (any case) and the auth-scheme before the
    /// token there; `None` when the header is no header name.
    pub fn new(header: &str, prefix: &str) -> Option<Self> {
        Some(Self {
            header: HeaderName::from_bytes(header.as_bytes()).ok()?,
            prefix: prefix.to_owned(),
        })
    }
}

/// One configured location and the issuers whose tokens may arrive in it.
#[derive(Debug)]
struct Source {
    location: TokenLocation,
    issuers: Vec<String>,
}

/// Every configured location once, the custom headers before `Authorization`: a gateway's own
/// header wins over the caller's `Authorization` it passes through.
#[derive(Debug)]
pub struct TokenSources(Vec<Source>);

/// Which of the [`TokenSources`] a credential came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIndex(usize);

impl TokenSources {
    /// Each issuer's location: issuers sharing one are read from it together.
    pub fn new(issuers: impl IntoIterator<Item = (TokenLocation, String)>) -> Self {
        let mut sources: Vec<Source> = Vec::new();
        for (location, issuer) in issuers {
            // The prefix is an auth-scheme, compared case-insensitively (RFC 9110 §11.1).
            match sources.iter_mut().find(|source| {
                source.location.header == location.header
                    && source
                        .location
                        .prefix
                        .eq_ignore_ascii_case(&location.prefix)
            }) {
                Some(source) => source.issuers.push(issuer),
                None => sources.push(Source {
                    location,
                    issuers: vec![issuer],
                }),
            }
        }
        sources.sort_by_key(|source| source.location.header == AUTHORIZATION);
        Self(sources)
    }

    /// The first location whose header the request carries, with that header's name and the
    /// auth-scheme expected before the token (empty: none).
    pub fn find(
        &self,
        has_header: impl Fn(&HeaderName) -> bool,
    ) -> Option<(SourceIndex, &TokenLocation)> {
        self.0
            .iter()
            .enumerate()
            .find(|(_, source)| has_header(&source.location.header))
            .map(|(index, source)| (SourceIndex(index), &source.location))
    }

    /// Whether `issuer`'s tokens may arrive at `source`. With one location, every issuer's do.
    pub fn accepts(&self, source: SourceIndex, issuer: &str) -> bool {
        self.0.len() == 1
            || self.0[source.0]
                .issuers
                .iter()
                .any(|accepted| accepted == issuer)
    }
}
