//! Checks a service's own settings share with the issuers': URLs, positive numbers, and the
//! algorithm allowlist.

use std::str::FromStr;

use jsonwebtoken::Algorithm;
use reqwest::Url;

use super::SettingsError;
use crate::fetch::is_loopback;
use crate::keys::ASYMMETRIC_ALGORITHMS;

/// Refuses 0.
pub fn positive(key: &str, value: u64) -> Result<(), SettingsError> {
    if value == 0 {
        return Err(SettingsError::new(
            key,
            "0 is not allowed",
            "use a positive number",
        ));
    }
    Ok(())
}

/// An absolute http(s) URL, parsed; with `require_https`, plain http only to a loopback host.
pub fn check_url(key: &str, value: &str, require_https: bool) -> Result<Url, SettingsError> {
    let url = Url::parse(value).map_err(|error| {
        SettingsError::new(
            key,
            format!("`{value}` is not an absolute URL ({error})"),
            "use a full URL such as https://issuer.example.com/",
        )
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if !require_https || is_loopback(&url) => Ok(url),
        "http" => Err(SettingsError::new(
            key,
            format!("`{value}` is plain http in production"),
            "use an https URL (plain http is allowed only to a loopback host)",
        )),
        scheme => Err(SettingsError::new(
            key,
            format!("the `{scheme}` scheme is not supported"),
            "use an https URL",
        )),
    }
}

/// The named algorithms, each an asymmetric one; none named: all of them.
pub fn parse_algorithms(key: &str, names: &[String]) -> Result<Vec<Algorithm>, SettingsError> {
    if names.is_empty() {
        return Ok(ASYMMETRIC_ALGORITHMS.to_vec());
    }
    let supported = || {
        let names: Vec<String> = ASYMMETRIC_ALGORITHMS
            .iter()
            .map(|a| format!("{a:?}"))
            .collect();
        format!("choose from {}", names.join(", "))
    };
    let mut algorithms = Vec::with_capacity(names.len());
    for name in names {
        let algorithm = Algorithm::from_str(name)
            .ok()
            .filter(|alg| ASYMMETRIC_ALGORITHMS.contains(alg))
            .ok_or_else(|| {
                SettingsError::new(
                    key,
                    format!("`{name}` is not an accepted asymmetric signature algorithm"),
                    supported(),
                )
            })?;
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    Ok(algorithms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_and_none_are_refused_as_algorithms() {
        for name in ["HS256", "none", "NONE", "ES512"] {
            let error = parse_algorithms("APP__AUTH__ALGORITHMS", &[name.to_owned()]).unwrap_err();
            assert_eq!(error.key(), "APP__AUTH__ALGORITHMS", "{name}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://localhost:1/",
            "http://127.0.0.9/",
            "http://[::1]:8/",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        assert!(!is_loopback(&Url::parse("http://10.0.0.1/").unwrap()));
        assert!(!is_loopback(
            &Url::parse("http://localhost.evil.com/").unwrap()
        ));
    }
}
