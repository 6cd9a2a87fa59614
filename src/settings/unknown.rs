//! Settings that name nothing. A key the settings types do not take would otherwise be dropped
//! in silence and its default applied (`APP__AUTH__LEEWAY_SECOND=5` is a typo, not a choice), so
//! it stops startup, naming the variable or file key and the closest real setting.

use std::collections::HashMap;

use super::{Settings, SettingsError, layers};

/// How alike a name must be to be offered as "did you mean".
const SUGGESTION_SIMILARITY: f64 = 0.8;

/// Deserializes the layered settings, refusing the first key that names no setting. The
/// `[auth]` table is read four times: as the section, as the shorthand's
/// [`IssuerConfig`](issuer_trust::config::IssuerConfig), as the
/// [`KeySetConfig`](issuer_trust::config::KeySetConfig) and as the
/// [`DpopConfig`](issuer_trust::config::DpopConfig); a key of it names nothing only when none
/// of them takes it.
pub(super) fn deserialize(
    config: config::Config,
    vars: &HashMap<String, String>,
) -> Result<Settings, SettingsError> {
    let mut unknown = Vec::new();
    let mut settings: Settings =
        serde_ignored::deserialize(config.clone(), |path| unknown.push(path.to_string()))
            .map_err(super::config_error)?;
    let auth = config
        .get::<config::Value>("auth")
        .map_err(super::config_error)?;
    // Each reading of `[auth]` lists the keys it leaves; a key names nothing when all leave it.
    let mut left: [Vec<String>; 3] = Default::default();
    let [issuer, key_sets, dpop] = &mut left;
    settings.auth.shorthand =
        serde_ignored::deserialize(auth.clone(), |path| issuer.push(path.to_string()))
            .map_err(super::config_error)?;
    settings.auth.key_sets =
        serde_ignored::deserialize(auth.clone(), |path| key_sets.push(path.to_string()))
            .map_err(super::config_error)?;
    settings.auth.dpop = serde_ignored::deserialize(auth, |path| dpop.push(path.to_string()))
        .map_err(super::config_error)?;
    unknown.retain(|path| match path.strip_prefix("auth.") {
        Some(key) if !key.contains('.') => left.iter().all(|keys| keys.iter().any(|k| k == key)),
        _ => true,
    });
    match unknown.first() {
        Some(path) => {
            let is_section = config
                .get::<config::Value>(path)
                .is_ok_and(|value| matches!(value.kind, config::ValueKind::Table(_)));
            Err(refusal(path, is_section, vars))
        }
        None => Ok(settings),
    }
}

/// The refusal of `path` (dotted, as the layers name it, e.g. `auth.issuers.0.leeway_second`),
/// which holds a table of settings when `is_section`: only a section is then suggested, since
/// the settings inside it would name nothing under a plain setting.
fn refusal(path: &str, is_section: bool, vars: &HashMap<String, String>) -> SettingsError {
    let parts: Vec<&str> = path.split('.').collect();
    let (name, parent) = parts.split_last().unwrap_or((&"", &[]));
    let suggestion = closest(name, &known_names(parent, is_section));
    // A whole unknown section (`authh`) comes from a variable that sets a key inside it.
    let from_env = vars.keys().find(|var| {
        env_path(var).is_some_and(|set| set == path || set.starts_with(&format!("{path}.")))
    });
    let (key, fix) = match from_env {
        Some(var) => (
            var.clone(),
            suggestion.map(|known| {
                let mut segments: Vec<String> = var.split("__").map(str::to_owned).collect();
                segments[parts.len()] = known.to_ascii_uppercase();
                format!("did you mean {}?", segments.join("__"))
            }),
        ),
        None => (
            file_key(&parts),
            suggestion.map(|known| {
                let mut fixed = parts.clone();
                if let Some(last) = fixed.last_mut() {
                    *last = &known;
                }
                format!("did you mean {}?", file_key(&fixed))
            }),
        ),
    };
    SettingsError::new(
        &key,
        "no such setting",
        fix.unwrap_or_else(|| "remove it; docs/configuration.md lists every setting".to_owned()),
    )
}

/// The dotted path an `APP__…` variable sets, as the environment layer reads it.
fn env_path(var: &str) -> Option<String> {
    let rest = var.strip_prefix("APP__")?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// `auth.issuers.0.audience` as written in this service's messages: `auth.issuers[0].audience`.
fn file_key(parts: &[&str]) -> String {
    let mut key = String::new();
    for part in parts {
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    key
}

/// The setting names beside an unknown one: the keys of its section in the compiled-in
/// defaults (only those holding sections, with `sections`). An `[[auth.issuers]]` table takes
/// the `[auth]` names (and `issuer`).
fn known_names(parent: &[&str], sections: bool) -> Vec<String> {
    let Some(defaults) = layers::defaults() else {
        return Vec::new();
    };
    let section = match parent {
        [] => None,
        ["auth", "issuers", ..] => Some("auth".to_owned()),
        parts => Some(parts.join(".")),
    };
    let table = match section {
        None => defaults
            .try_deserialize::<HashMap<String, config::Value>>()
            .ok(),
        Some(section) => defaults.get_table(&section).ok(),
    };
    let is_section = |value: &config::Value| matches!(value.kind, config::ValueKind::Table(_));
    table
        .map(|table| {
            table
                .into_iter()
                .filter(|(_, value)| !sections || is_section(value))
                .map(|(name, _)| name)
                .collect()
        })
        .unwrap_or_default()
}

/// The known name most like `name`, if any is alike enough.
fn closest(name: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(similarity, _)| *similarity >= SUGGESTION_SIMILARITY)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_name_array_members_by_index() {
        assert_eq!(
            file_key(&["auth", "issuers", "0", "audiences"]),
            "auth.issuers[0].audiences"
        );
        assert_eq!(
            env_path("APP__AUTH__LEEWAY_SECOND").unwrap(),
            "auth.leeway_second"
        );
        assert_eq!(env_path("OTHER"), None);
    }

    #[test]
    fn the_closest_name_is_offered_only_when_alike() {
        let known = ["leeway_seconds".to_owned(), "audience".to_owned()];
        assert_eq!(
            closest("leeway_second", &known).as_deref(),
            Some("leeway_seconds")
        );
        assert_eq!(closest("audiences", &known).as_deref(), Some("audience"));
        assert_eq!(closest("colour", &known), None);
    }
}
