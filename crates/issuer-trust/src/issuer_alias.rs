//! The one `iss` a provider documents besides its issuer identifier. Issuers are compared as
//! exact strings (RFC 7519 §4.1.1, OpenID Connect Core §3.1.3.7), with the single exception a
//! provider documents: Google's OpenID Connect guide says the `iss` of its ID tokens "is equal
//! to `accounts.google.com` or `https://accounts.google.com`", and Google's own client libraries
//! accept both. The schemeless form is accepted for that issuer only, and is read as the
//! identifier it stands for, so everything keyed by issuer (token locations, DPoP modes) treats
//! the two alike.

/// Each alias and the issuer identifier it stands for.
const ALIASES: [(&str, &str); 1] = [("accounts.google.com", "https://accounts.google.com")];

/// The `iss` values a token of `issuer` may carry: the identifier, and its alias if it has one.
pub fn accepted_iss(issuer: &str) -> Vec<&str> {
    let aliases = ALIASES
        .iter()
        .filter(|(_, identifier)| *identifier == issuer)
        .map(|(alias, _)| *alias);
    std::iter::once(issuer).chain(aliases).collect()
}

/// The issuer identifier an `iss` names: an alias's identifier, else the `iss` itself.
pub fn identifier(iss: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == iss)
        .map_or(iss, |(_, identifier)| identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_accepts_its_schemeless_iss_and_names_it_by_its_identifier() {
        let google = "https://accounts.google.com";
        assert_eq!(accepted_iss(google), [google, "accounts.google.com"]);
        assert_eq!(identifier("accounts.google.com"), google);
        assert_eq!(identifier(google), google);
    }

    #[test]
    fn every_other_issuer_is_its_exact_identifier() {
        for issuer in [
            "https://issuer.example.com/",
            "https://accounts.google.com/",
            "http://accounts.google.com",
        ] {
            assert_eq!(accepted_iss(issuer), [issuer], "{issuer}");
            assert_eq!(identifier(issuer), issuer);
        }
        assert_eq!(identifier("issuer.example.com"), "issuer.example.com");
    }
}
