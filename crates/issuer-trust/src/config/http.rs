//! How discovery and key set fetches reach issuers from inside a company network: the roots an
//! issuer's certificate may chain to (an AD FS or Keycloak behind a private CA) and the egress
//! proxy. Checked and built into the one [`Fetcher`] every key store shares.

use std::time::Duration;

use reqwest::{Certificate, Proxy, Url};
use serde::Deserialize;

use super::{SettingsError, values};
use crate::Fetcher;

/// The network settings of every fetch, whichever issuer it is for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HttpConfig {
    /// A PEM file of CA certificates trusted for discovery and key set fetches, beside the
    /// system's roots. Defaults to none.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub ca_file: Option<String>,
    /// Trust only the roots of `ca_file`, not the system's. Defaults to false.
    #[serde(default)]
    pub ca_only: bool,
    /// An `http://` or `https://` proxy every fetch goes through, credentials allowed in the URL
    /// (sent to the proxy, never logged); hosts listed in `NO_PROXY` still bypass it. Defaults
    /// to none: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` apply as set.
    #[serde(default, deserialize_with = "values::optional_string")]
    pub proxy: Option<String>,
}

impl HttpConfig {
    /// The fetcher these settings describe, with `timeout` on each request and documents of at
    /// most `max_bytes`; the CA file is read now. `key` names a setting of this section in a
    /// refusal (`ca_file`, `ca_only`, `proxy`).
    pub fn fetcher(
        &self,
        timeout: Duration,
        max_bytes: usize,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Fetcher, SettingsError> {
        let roots = self.roots(key)?;
        let proxy = self
            .proxy
            .as_deref()
            .map(|url| proxy(url, key))
            .transpose()?;
        Fetcher::build(timeout, max_bytes, roots, self.ca_only, proxy).map_err(|_| {
            SettingsError::new(
                &key("ca_file"),
                "its certificates cannot be used as trust roots",
                "give PEM certificates of certificate authorities",
            )
        })
    }

    /// How the doctor shows these settings: the proxy without its credentials.
    pub fn describe(&self) -> String {
        let roots = match (&self.ca_file, self.ca_only) {
            (Some(path), true) => format!("only the roots of {path}"),
            (Some(path), false) => format!("the system's roots and those of {path}"),
            (None, _) => "the system's roots".to_owned(),
        };
        let proxy = match self.proxy.as_deref().and_then(|url| Url::parse(url).ok()) {
            Some(mut url) => {
                let hidden = !url.username().is_empty() || url.password().is_some();
                // Clearing the credentials of an http(s) URL cannot fail.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                if hidden {
                    format!("through {url} (credentials hidden)")
                } else {
                    format!("through {url}")
                }
            }
            None => "through HTTPS_PROXY / HTTP_PROXY when set".to_owned(),
        };
        format!("issuers reached {proxy}, trusting {roots}")
    }

    fn roots(&self, key: &dyn Fn(&str) -> String) -> Result<Vec<Certificate>, SettingsError> {
        let Some(path) = &self.ca_file else {
            if self.ca_only {
                return Err(SettingsError::new(
                    &key("ca_only"),
                    "no CA file is set, so no issuer's certificate would be trusted",
                    "set the CA file to the PEM bundle of your private CA, or leave this false",
                ));
            }
            return Ok(Vec::new());
        };
        let pem = std::fs::read(path).map_err(|error| {
            SettingsError::new(
                &key("ca_file"),
                format!("`{path}` cannot be read ({error})"),
                "give the path of a PEM file of CA certificates",
            )
        })?;
        match Certificate::from_pem_bundle(&pem) {
            Ok(roots) if !roots.is_empty() => Ok(roots),
            _ => Err(SettingsError::new(
                &key("ca_file"),
                format!("`{path}` holds no PEM certificate"),
                "give a file of `-----BEGIN CERTIFICATE-----` blocks",
            )),
        }
    }
}

/// The proxy at `url`; a refusal never repeats the URL, which may hold a password.
fn proxy(url: &str, key: &dyn Fn(&str) -> String) -> Result<Proxy, SettingsError> {
    let refused = |problem: &str| {
        SettingsError::new(
            &key("proxy"),
            problem,
            "give the proxy as http://host:port or https://host:port (user:password@ allowed)",
        )
    };
    let parsed = Url::parse(url).map_err(|_| refused("it is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(refused("it is not an http or https URL with a host"));
    }
    Proxy::all(parsed)
        .map(|proxy| proxy.no_proxy(reqwest::NoProxy::from_env()))
        .map_err(|_| refused("it cannot be used as a proxy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: &str) -> String {
        format!("http.{field}")
    }

    #[test]
    fn the_description_hides_the_proxys_credentials() {
        let config = HttpConfig {
            ca_file: Some("/etc/ca.pem".to_owned()),
            ca_only: true,
            proxy: Some("http://alice:s3cret@proxy.corp:3128".to_owned()),
        };
        assert_eq!(
            config.describe(),
            "issuers reached through http://proxy.corp:3128/ (credentials hidden), \
             trusting only the roots of /etc/ca.pem"
        );
        assert_eq!(
            HttpConfig::default().describe(),
            "issuers reached through HTTPS_PROXY / HTTP_PROXY when set, trusting the system's roots"
        );
    }

    #[test]
    fn the_defaults_build_and_ca_only_needs_a_file() {
        let timeout = Duration::from_secs(1);
        assert!(HttpConfig::default().fetcher(timeout, 1024, &key).is_ok());
        let alone = HttpConfig {
            ca_only: true,
            ..HttpConfig::default()
        };
        let refused = alone.fetcher(timeout, 1024, &key).err().unwrap();
        assert_eq!(refused.key(), "http.ca_only");
    }
}
