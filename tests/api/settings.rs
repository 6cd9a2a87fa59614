//! Configuration layers, defaults, overrides and every refusal.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use app::settings::{Environment, Settings, SettingsError};
use jsonwebtoken::Algorithm;

fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_with(Path::new("config"), vars)
}

fn refused_key(vars: &[(&str, &str)]) -> String {
    load(vars)
        .expect_err("the configuration is refused")
        .key()
        .to_owned()
}

const PRODUCTION: [(&str, &str); 3] = [
    ("APP_ENV", "production"),
    (
        "APP__AUTH__ISSUER",
        "https://gateway.example.com/__zuplo/issuer",
    ),
    ("APP__AUTH__AUDIENCE", "https://api.example.com"),
];

#[test]
fn development_is_the_default_profile_with_its_documented_defaults() {
    let settings = load(&[]).unwrap();
    assert_eq!(settings.environment, Environment::Development);
    assert_eq!(
        (settings.server.host.as_str(), settings.server.port),
        ("127.0.0.1", 8080)
    );
    assert!(settings.dev_issuer.enabled);
    let trusted = crate::common::trusted(&settings);
    let issuer = &trusted[0];
    assert_eq!(trusted.len(), 1);
    assert_eq!(
        issuer.source.issuer,
        crate::common::DEV_ISSUER_URL,
        "the development issuer"
    );
    assert_eq!(issuer.policy.audience, vec![env!("CARGO_PKG_NAME")]);
    assert_eq!(issuer.policy.leeway_seconds, 30);
    assert_eq!(settings.auth.max_token_bytes, 16384);
    assert_eq!(settings.auth.key_sets.refetch_cooldown_seconds, 30);
    assert_eq!(issuer.policy.algorithms.len(), 9);
    assert!(!issuer.policy.algorithms.contains(&Algorithm::HS256));
    assert_eq!(
        settings.server.metrics_port, None,
        "/metrics beside the API"
    );
}

#[test]
fn production_binds_every_interface_and_has_no_dev_issuer() {
    let settings = load(&PRODUCTION).unwrap();
    assert_eq!(
        (settings.server.host.as_str(), settings.server.port),
        ("0.0.0.0", 8080)
    );
    assert!(!settings.dev_issuer.enabled);
}

#[test]
fn environment_variables_override_files() {
    let settings = load(&[
        ("APP__SERVER__PORT", "9090"),
        ("APP__SERVER__PUBLIC_URL", "https://api.example.com"),
        ("APP__AUTH__AUDIENCE", "api://one, api://two"),
        ("APP__AUTH__ALGORITHMS", "ES256,EdDSA"),
        ("APP__AUTH__LEEWAY_SECONDS", "5"),
        ("APP__AUTH__JWKS_URI", "https://keys.example.com/jwks.json"),
    ])
    .unwrap();
    assert_eq!(settings.server.port, 9090);
    assert_eq!(
        settings.server.public_url.as_deref(),
        Some("https://api.example.com")
    );
    let issuer = &crate::common::trusted(&settings)[0];
    assert_eq!(issuer.policy.audience, vec!["api://one", "api://two"]);
    assert_eq!(
        issuer.policy.algorithms,
        vec![Algorithm::ES256, Algorithm::EdDSA]
    );
    assert_eq!(issuer.policy.leeway_seconds, 5);
    assert_eq!(
        issuer.source.jwks_uri.as_ref().map(|uri| uri.as_str()),
        Some("https://keys.example.com/jwks.json")
    );
}

#[test]
fn production_refuses_a_missing_issuer_or_audience() {
    // Set to empty rather than left out, so a profile file that names them cannot fill them in.
    assert_eq!(
        refused_key(&[
            ("APP_ENV", "production"),
            ("APP__AUTH__ISSUER", ""),
            PRODUCTION[2]
        ]),
        "APP__AUTH__ISSUER"
    );
    assert_eq!(
        refused_key(&[
            ("APP_ENV", "production"),
            PRODUCTION[1],
            ("APP__AUTH__AUDIENCE", "")
        ]),
        "APP__AUTH__AUDIENCE"
    );
}

#[test]
fn production_refuses_plain_http_except_to_loopback() {
    let mut vars = PRODUCTION.to_vec();
    vars.push(("APP__AUTH__ISSUER", "http://issuer.example.com"));
    assert_eq!(refused_key(&vars), "APP__AUTH__ISSUER");

    let mut vars = PRODUCTION.to_vec();
    vars.push(("APP__AUTH__JWKS_URI", "http://keys.example.com/jwks.json"));
    assert_eq!(refused_key(&vars), "APP__AUTH__JWKS_URI");

    let mut vars = PRODUCTION.to_vec();
    vars.push(("APP__AUTH__ISSUER", "http://127.0.0.1:9000"));
    vars.push(("APP__AUTH__JWKS_URI", "http://localhost:9000/jwks.json"));
    assert!(load(&vars).is_ok());
}

#[test]
fn production_accepts_an_http_issuer_identifier_beside_an_https_jwks_uri() {
    // AD FS names itself with an http URL; only what is fetched must be https.
    let adfs = [
        ("APP_ENV", "production"),
        ("APP__AUTH__AUDIENCE", "https://api.example.com"),
        (
            "APP__AUTH__ISSUER",
            "http://adfs.example.com/adfs/services/trust",
        ),
    ];
    let mut with_keys = adfs.to_vec();
    with_keys.push((
        "APP__AUTH__JWKS_URI",
        "https://adfs.example.com/adfs/discovery/keys",
    ));
    let settings = load(&with_keys).unwrap();
    assert_eq!(
        crate::common::trusted(&settings)[0].source.issuer,
        "http://adfs.example.com/adfs/services/trust"
    );

    let error = load(&adfs).unwrap_err();
    assert_eq!(error.key(), "APP__AUTH__ISSUER");
    assert!(error.to_string().contains("APP__AUTH__JWKS_URI"), "{error}");

    let mut plain_keys = adfs.to_vec();
    plain_keys.push(("APP__AUTH__JWKS_URI", "http://adfs.example.com/keys"));
    assert_eq!(refused_key(&plain_keys), "APP__AUTH__JWKS_URI");
}

#[test]
fn production_refuses_the_development_issuer() {
    let mut vars = PRODUCTION.to_vec();
    vars.push(("APP__DEV_ISSUER__ENABLED", "true"));
    assert_eq!(refused_key(&vars), "APP__DEV_ISSUER__ENABLED");
}

#[test]
fn production_refuses_a_refetch_without_cooldown_a_week_of_staleness_and_a_wide_dpop_skew() {
    for (key, refused, accepted) in [
        ("APP__AUTH__REFETCH_COOLDOWN_SECONDS", "0", "1"),
        ("APP__AUTH__MAX_STALE_SECONDS", "604801", "604800"),
        ("APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS", "301", "300"),
    ] {
        let mut vars = PRODUCTION.to_vec();
        vars.push((key, refused));
        assert_eq!(refused_key(&vars), key);
        vars.pop();
        vars.push((key, accepted));
        assert!(load(&vars).is_ok(), "{key}={accepted}");
        assert!(
            load(&[(key, refused)]).is_ok(),
            "{key}={refused} outside production"
        );
    }
}

#[test]
fn a_replay_store_that_cannot_hold_a_proof_a_second_of_the_window_is_refused() {
    let window = [
        ("APP__AUTH__DPOP_PROOF_MAX_AGE_SECONDS", "60"),
        ("APP__AUTH__DPOP_PROOF_MAX_SKEW_SECONDS", "10"),
    ];
    let with_size = |size: &'static str| {
        let mut vars = window.to_vec();
        vars.push(("APP__AUTH__DPOP_REPLAY_CACHE_SIZE", size));
        load(&vars)
    };
    assert_eq!(
        with_size("69").unwrap_err().key(),
        "APP__AUTH__DPOP_REPLAY_CACHE_SIZE"
    );
    assert_eq!(
        with_size("70")
            .unwrap()
            .auth
            .proof_rules()
            .unwrap()
            .replay_cache_size,
        70
    );
    assert_eq!(
        with_size("")
            .unwrap()
            .auth
            .proof_rules()
            .unwrap()
            .replay_cache_size,
        500 * 70,
        "by default, 500 proofs a second of the window"
    );
}

#[test]
fn unsafe_values_are_refused_in_every_profile() {
    assert_eq!(
        refused_key(&[("APP__AUTH__LEEWAY_SECONDS", "301")]),
        "APP__AUTH__LEEWAY_SECONDS"
    );
    assert_eq!(
        refused_key(&[("APP__AUTH__ALGORITHMS", "RS256,HS256")]),
        "APP__AUTH__ALGORITHMS"
    );
    assert_eq!(
        refused_key(&[("APP__AUTH__ISSUER", "not a url")]),
        "APP__AUTH__ISSUER"
    );
    assert_eq!(
        refused_key(&[("APP__AUTH__MAX_TOKEN_BYTES", "0")]),
        "APP__AUTH__MAX_TOKEN_BYTES"
    );
    assert_eq!(refused_key(&[("APP_ENV", "staging")]), "APP_ENV");
    assert!(load(&[("APP__SERVER__PORT", "eighty")]).is_err());
    assert!(load(&[("APP__SERVER__METRICS_PORT", "ninety")]).is_err());
    assert!(load(&[("APP__SERVER__METRICS_PORT", "70000")]).is_err());
    let metrics_port = load(&[("APP__SERVER__METRICS_PORT", "9090")]).unwrap();
    assert_eq!(metrics_port.server.metrics_port, Some(9090));
}

#[test]
fn a_bad_configuration_stops_the_binary_with_one_line_naming_the_key() {
    let output = Command::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
        .env("APP_ENV", "production")
        .env("APP__AUTH__AUDIENCE", "https://api.example.com")
        .env("APP__AUTH__ISSUER", "")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("APP__AUTH__ISSUER") && stderr.contains("fix:"),
        "{stderr}"
    );
}

#[test]
fn a_setting_that_names_nothing_is_refused_with_the_closest_real_name() {
    let error = load(&[("APP__AUTH__LEEWAY_SECOND", "5")]).unwrap_err();
    assert_eq!(error.key(), "APP__AUTH__LEEWAY_SECOND");
    assert!(
        error
            .to_string()
            .contains("did you mean APP__AUTH__LEEWAY_SECONDS?"),
        "{error}"
    );
    let section = load(&[("APP__SERVR__PORT", "1")]).unwrap_err();
    assert!(
        section
            .to_string()
            .contains("did you mean APP__SERVER__PORT?"),
        "{section}"
    );
    let unlike = load(&[("APP__AUTH__COLOUR", "red")]).unwrap_err();
    assert_eq!(unlike.key(), "APP__AUTH__COLOUR");
    // A section that names nothing is offered only a section, never a plain setting.
    let no_section = load(&[("APP__AUTH__OUTBOUND__CA_FILE", "ca.pem")]).unwrap_err();
    assert_eq!(no_section.key(), "APP__AUTH__OUTBOUND__CA_FILE");
    assert!(
        !no_section.to_string().contains("did you mean"),
        "{no_section}"
    );
    let step_up = load(&[("APP__AUTH__STEPUP__ACR_VALUES", "mfa")]).unwrap_err();
    assert!(
        step_up
            .to_string()
            .contains("did you mean APP__AUTH__STEP_UP__ACR_VALUES?"),
        "{step_up}"
    );
    let in_file = crate::common::load_with_profile("[auth.outbound]\nca_file = \"ca.pem\"\n", &[])
        .unwrap_err();
    assert_eq!(in_file.key(), "auth.outbound");
    assert!(!in_file.to_string().contains("did you mean"), "{in_file}");

    let listed = crate::common::load_with_profile(
        "[[auth.issuers]]\nissuer = \"https://issuer.example.com\"\naudience = \"a\"\naudiences = \"b\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(listed.key(), "auth.issuers[0].audiences");
    assert!(
        listed
            .to_string()
            .contains("did you mean auth.issuers[0].audience?"),
        "{listed}"
    );
    assert!(
        load(&[("APP__AUTH__REQUIRED_CLAIMS__TOKEN_USE", "access")]).is_ok(),
        "claim names under required_claims are free"
    );
}

fn service_binary() -> Command {
    Command::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))))
}

#[test]
fn the_binary_starts_from_any_directory_and_refuses_an_unknown_setting_there_too() {
    let elsewhere = std::env::temp_dir();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();

    let healthcheck = service_binary()
        .current_dir(&elsewhere)
        .args(["healthcheck"])
        .env("APP_ENV", "production")
        .env("APP__AUTH__ISSUER", "https://issuer.example.com")
        .env("APP__AUTH__AUDIENCE", "https://api.example.com")
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("APP__SERVER__PORT", &dead_port)
        .output()
        .unwrap();
    let stderr = String::from_utf8(healthcheck.stderr).unwrap();
    assert_eq!(healthcheck.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("unhealthy"), "settings loaded: {stderr}");

    let typo = service_binary()
        .current_dir(&elsewhere)
        .env("APP__AUTH__LEEWAY_SECOND", "5")
        .output()
        .unwrap();
    let stderr = String::from_utf8(typo.stderr).unwrap();
    assert_eq!(typo.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("APP__AUTH__LEEWAY_SECONDS"), "{stderr}");
}

#[test]
fn allowed_origins_are_origins_without_a_path() {
    let with_origin = |origin: &str| {
        load(&[
            ("APP_ENV", "test"),
            ("APP__AUTH__ISSUER", "http://127.0.0.1:9"),
            ("APP__AUTH__AUDIENCE", "https://api.example.com"),
            ("APP__CORS__ALLOWED_ORIGINS", origin),
        ])
    };
    for origin in ["https://app.example.com", "http://localhost:3000"] {
        assert!(
            with_origin(origin).is_ok(),
            "{origin}: {:?}",
            with_origin(origin).err()
        );
    }
    for origin in [
        "https://app.example.com/",
        "https://a.com/x",
        "app.example.com",
        "ftp://a.com",
    ] {
        let refused = with_origin(origin).expect_err(origin);
        assert_eq!(refused.key(), "APP__CORS__ALLOWED_ORIGINS", "{origin}");
    }
}
