//! One key set as the store holds it, and the number by which a cached verification tells
//! whether the set it was checked against is still the current one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use reqwest::Url;

use super::super::fetch::Validators;
use super::super::keys::{KeyName, KeySet, VerificationKey};

pub(super) struct LoadedSet {
    pub(super) keys: Arc<KeySet>,
    pub(super) jwks_uri: Url,
    pub(super) fetched_at: Instant,
    /// What to ask the issuer with whether the set changed.
    pub(super) validators: Validators,
    /// Whether this is an earlier set whose issuer answered that it had not changed.
    pub(super) revalidated: bool,
    lifetime: Duration,
    number: SetNumber,
}

/// Which loaded key set a verification was checked against, unique in the process (a counter,
/// never an address that a later set could reuse). Sets never change once loaded, so while the
/// set of that number is the current one, the key it served still serves, and a cached token
/// is answered without looking its key up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetNumber(u64);

impl SetNumber {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl LoadedSet {
    /// A set fetched now. One that took over every key of `previous` and holds no other keeps
    /// its number, so the verifications remembered against it stay answered without a lookup
    /// across a refresh that changed nothing.
    pub(super) fn new(
        keys: KeySet,
        jwks_uri: Url,
        lifetime: Duration,
        previous: Option<&LoadedSet>,
    ) -> Self {
        let number = match previous {
            Some(previous) if previous.keys.same_keys(&keys) => previous.number,
            _ => SetNumber::next(),
        };
        Self {
            keys: Arc::new(keys),
            jwks_uri,
            fetched_at: Instant::now(),
            validators: Validators::default(),
            revalidated: false,
            lifetime,
            number,
        }
    }

    /// This set, answered with `validators` when the issuer is next asked whether it changed.
    pub(super) fn asked_with(self, validators: Validators) -> Self {
        Self { validators, ..self }
    }

    /// This set again, fresh from now for `lifetime`: the issuer answered that it had not
    /// changed (304). Its keys and number stay, so every verification remembered stays good.
    pub(super) fn renewed(&self, lifetime: Duration) -> Self {
        Self {
            keys: Arc::clone(&self.keys),
            jwks_uri: self.jwks_uri.clone(),
            fetched_at: Instant::now(),
            validators: self.validators.clone(),
            revalidated: true,
            lifetime,
            number: self.number,
        }
    }

    pub(super) fn expires_at(&self) -> Instant {
        self.fetched_at + self.lifetime
    }

    /// When the background task refreshes it: at four fifths of its lifetime.
    pub(super) fn refresh_at(&self) -> Instant {
        self.fetched_at + self.lifetime.mul_f64(0.8)
    }

    /// This set's number, if it would choose `key` for this name and algorithm.
    pub(super) fn number_serving(
        &self,
        name: &KeyName,
        alg: Algorithm,
        key: &Arc<VerificationKey>,
    ) -> Option<SetNumber> {
        self.serves(name, alg, key).then_some(self.number)
    }

    /// Whether this set would choose `key` for this name and algorithm: without a lookup when
    /// it is the set the verification was checked against (`checked_in`).
    pub(super) fn still_serves(
        &self,
        name: &KeyName,
        alg: Algorithm,
        key: &Arc<VerificationKey>,
        checked_in: Option<SetNumber>,
    ) -> bool {
        checked_in == Some(self.number) || self.serves(name, alg, key)
    }

    fn serves(&self, name: &KeyName, alg: Algorithm, key: &Arc<VerificationKey>) -> bool {
        self.keys
            .find(name, alg)
            .is_ok_and(|current| Arc::ptr_eq(current, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &[u8] = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    const TWO: &[u8] = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty":"OKP","crv":"Ed25519","kid":"b","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    fn load(body: &[u8], previous: Option<&LoadedSet>) -> LoadedSet {
        let keys = KeySet::parse(
            body,
            &[Algorithm::EdDSA],
            10,
            previous.map(|set| &*set.keys),
        )
        .unwrap();
        let uri = Url::parse("http://127.0.0.1/jwks").unwrap();
        LoadedSet::new(keys, uri, Duration::from_secs(60), previous)
    }

    fn kid(kid: &str) -> KeyName {
        KeyName::Kid(kid.to_owned())
    }

    #[test]
    fn a_set_numbers_only_the_keys_it_serves() {
        let set = load(ONE, None);
        let key = set.keys.find(&kid("a"), Algorithm::EdDSA).unwrap();
        assert_eq!(
            set.number_serving(&kid("a"), Algorithm::EdDSA, key),
            Some(set.number)
        );
        let other = load(ONE, None);
        let same_material = other.keys.find(&kid("a"), Algorithm::EdDSA).unwrap();
        assert_eq!(
            set.number_serving(&kid("a"), Algorithm::EdDSA, same_material),
            None,
            "a key of another set is not this set's key"
        );
        assert_eq!(set.number_serving(&kid("b"), Algorithm::EdDSA, key), None);
    }

    #[test]
    fn the_set_checked_against_serves_without_a_lookup_and_any_other_looks_up() {
        let set = load(ONE, None);
        let key = set.keys.find(&kid("a"), Algorithm::EdDSA).unwrap();
        let unknown = kid("not-in-the-set");
        assert!(
            set.still_serves(&unknown, Algorithm::EdDSA, key, Some(set.number)),
            "answered by the number alone"
        );
        assert!(!set.still_serves(&unknown, Algorithm::EdDSA, key, None));
        let grown = load(TWO, Some(&set));
        assert!(grown.still_serves(&kid("a"), Algorithm::EdDSA, key, Some(set.number)));
        assert!(
            !grown.still_serves(&unknown, Algorithm::EdDSA, key, Some(set.number)),
            "another set looks the key up"
        );
    }

    #[test]
    fn only_a_refresh_that_changed_no_key_keeps_the_number() {
        let first = load(ONE, None);
        assert_eq!(load(ONE, Some(&first)).number, first.number);
        assert_ne!(load(TWO, Some(&first)).number, first.number);
        assert_ne!(load(ONE, None).number, first.number);
        let shrunk = load(ONE, Some(&load(TWO, None)));
        assert_ne!(shrunk.number, first.number);
    }

    #[test]
    fn a_renewed_set_keeps_its_keys_number_and_validators_and_is_fresh_again() {
        let first = load(ONE, None);
        let renewed = first.renewed(Duration::from_secs(5));
        assert_eq!(renewed.number, first.number);
        assert!(Arc::ptr_eq(&renewed.keys, &first.keys));
        assert_eq!(renewed.validators, first.validators);
        assert!(renewed.revalidated && !first.revalidated);
        assert!(renewed.expires_at() >= first.fetched_at + Duration::from_secs(5));
    }
}
