//! Step-up authentication (RFC 9470): what a route demands of how, and how recently, its caller
//! authenticated. A token whose `acr` is not one of the route's values, or whose `auth_time` is
//! older than its `max_age` (or absent, which fails closed), gets 401
//! `insufficient_user_authentication` with the values the client must ask its issuer for.

use serde_json::Value;

use super::claims::VerifiedClaims;

/// A route's demand: any of `acr_values` (none: any `acr`, or none), and an authentication at
/// most `max_age` seconds old (none: of any age).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUp {
    acr_values: Vec<String>,
    max_age: Option<u64>,
}

impl StepUp {
    /// A demand for one of `acr_values` (none: any) and an authentication at most `max_age`
    /// seconds old (none: of any age).
    pub fn new(acr_values: Vec<String>, max_age: Option<u64>) -> Self {
        Self {
            acr_values,
            max_age,
        }
    }

    /// The acceptable `acr` values, for the challenge's `acr_values` (space-separated there).
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }

    /// The oldest authentication accepted, in seconds, for the challenge's `max_age`.
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// Whether the verified claims meet this demand at `now` (seconds since the Unix epoch).
    pub fn is_met_by(&self, claims: &VerifiedClaims, now: u64) -> bool {
        let acr_accepted = self.acr_values.is_empty()
            || claims
                .get("acr")
                .and_then(Value::as_str)
                .is_some_and(|acr| self.acr_values.iter().any(|accepted| accepted == acr));
        let recent_enough = self.max_age.is_none_or(|max_age| {
            claims
                .get("auth_time")
                .and_then(Value::as_u64)
                .is_some_and(|auth_time| now.saturating_sub(auth_time) <= max_age)
        });
        acr_accepted && recent_enough
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn claims(mut value: Value) -> VerifiedClaims {
        value["iss"] = json!("https://issuer");
        VerifiedClaims::new(&crate::claim_set::for_test(&value)).unwrap()
    }

    #[test]
    fn the_acr_must_be_one_of_the_values() {
        let mfa = StepUp::new(vec!["mfa".into(), "phr".into()], None);
        assert!(mfa.is_met_by(&claims(json!({"acr": "phr"})), NOW));
        assert!(!mfa.is_met_by(&claims(json!({"acr": "pwd"})), NOW));
        assert!(!mfa.is_met_by(&claims(json!({})), NOW), "no acr fails");
        assert!(
            !mfa.is_met_by(&claims(json!({"acr": ["mfa"]})), NOW),
            "acr is a string"
        );
    }

    #[test]
    fn the_authentication_must_be_recent_and_its_time_known() {
        let recent = StepUp::new(Vec::new(), Some(900));
        assert!(recent.is_met_by(&claims(json!({"auth_time": NOW - 900})), NOW));
        assert!(!recent.is_met_by(&claims(json!({"auth_time": NOW - 901})), NOW));
        assert!(
            !recent.is_met_by(&claims(json!({})), NOW),
            "no auth_time fails closed"
        );
        assert!(
            !recent.is_met_by(&claims(json!({"auth_time": "2026-12-01T08:00:00Z"})), NOW),
            "auth_time is a NumericDate"
        );
    }

    #[test]
    fn both_demands_hold_together() {
        let both = StepUp::new(vec!["mfa".into()], Some(60));
        assert!(both.is_met_by(&claims(json!({"acr": "mfa", "auth_time": NOW})), NOW));
        assert!(!both.is_met_by(&claims(json!({"acr": "mfa", "auth_time": NOW - 61})), NOW));
        assert!(!both.is_met_by(&claims(json!({"acr": "pwd", "auth_time": NOW})), NOW));
    }
}
