//! The development issuer, end to end over real HTTP: the service fetches its own published
//! keys through the same path as a real issuer's, and `make token`'s binary signs tokens that
//! the running service accepts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use app::settings::Settings;
use app::startup::Application;
use issuer_trust::dev::{DevIssuer, TokenRequest};
use jsonwebtoken::Algorithm;

use crate::common::load_settings;

fn development(overrides: &[(&str, &str)]) -> Settings {
    let base = [
        ("APP_ENV", "development"),
        ("APP__SERVER__PORT", "0"),
        ("APP__DEV_ISSUER__KEY_FILE", ""),
    ];
    load_settings(&base, overrides)
}

async fn start(settings: Settings) -> (String, Application) {
    let application = Application::build(settings).await.unwrap();
    let url = format!("http://127.0.0.1:{}", application.port());
    (url, application)
}

/// Waits (briefly) until the service has fetched its own keys.
async fn until_ready(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let ready = client.get(format!("{url}/ready")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the service never loaded its development keys");
}

async fn get_me(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn tokens_of_the_development_issuer_are_accepted_end_to_end() {
    // Waiting for keys at startup must not deadlock on the issuer this same server hosts.
    let (url, application) =
        start(development(&[("APP__AUTH__WAIT_FOR_KEYS_SECONDS", "10")])).await;
    let dev_issuer = application.state().dev_issuer.clone().unwrap();
    actix_web::rt::spawn(application.run_until_stopped());
    until_ready(&url).await;

    for algorithm in [Algorithm::EdDSA, Algorithm::RS256, Algorithm::ES256] {
        let token = dev_issuer
            .sign(&TokenRequest {
                subject: "alice".to_owned(),
                audience: vec![env!("CARGO_PKG_NAME").to_owned()],
                scope: Some("items:read".to_owned()),
                roles: Vec::new(),
                roles_claim: "roles".to_owned(),
                ttl: Duration::from_secs(60),
                algorithm,
                acr: None,
                auth_time: None,
                cnf_jkt: None,
                cnf_x5t_s256: None,
            })
            .unwrap();
        let response = get_me(&url, &token).await;
        assert_eq!(response.status(), 200, "{algorithm:?}");
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["user"]["sub"], "alice");
        assert_eq!(body["user"]["iss"], serde_json::json!(url));
    }
    let jwks = reqwest::get(format!("{url}/.well-known/jwks.json"))
        .await
        .unwrap();
    let jwks: serde_json::Value = serde_json::from_slice(&jwks.bytes().await.unwrap()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none())
    );
}

#[actix_web::test]
async fn the_token_binary_signs_with_the_keys_the_service_trusts() {
    let key_file = temp_key_file();
    let key_path = key_file.path().to_str().unwrap();
    let (url, application) = start(development(&[("APP__DEV_ISSUER__KEY_FILE", key_path)])).await;
    let port = application.port().to_string();
    actix_web::rt::spawn(application.run_until_stopped());
    until_ready(&url).await;

    let token = output_of(
        env!("CARGO_BIN_EXE_dev-token"),
        &port,
        key_path,
        &[
            ("TOKEN_SUB", "bob"),
            ("TOKEN_ALG", "RS256"),
            ("TOKEN_ROLES", "admin"),
        ],
    );

    let response = get_me(&url, token.trim()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["user"]["sub"], "bob");
    assert_eq!(
        body["user"]["roles"],
        serde_json::json!(["admin"]),
        "TOKEN_ROLES reaches the roles claim"
    );
}

#[actix_web::test]
async fn the_dpop_binaries_bind_a_token_to_a_client_key_and_prove_it() {
    let key_file = temp_key_file();
    let key_path = key_file.path().to_str().unwrap();
    let (url, application) = start(development(&[("APP__DEV_ISSUER__KEY_FILE", key_path)])).await;
    let port = application.port().to_string();
    let me = format!("{}/api/v1/me", application.public_url());
    actix_web::rt::spawn(application.run_until_stopped());
    until_ready(&url).await;
    let client_key = TempFile::new("dpop-client", "pem");
    let run = |binary: &str, vars: &[(&str, &str)]| {
        let mut vars = vars.to_vec();
        vars.push(("DPOP_KEY_FILE", client_key.path().to_str().unwrap()));
        output_of(binary, &port, key_path, &vars).trim().to_owned()
    };
    let proof_binary = env!("CARGO_BIN_EXE_dpop-proof");

    let jkt = run(proof_binary, &[("DPOP_THUMBPRINT", "1")]);
    assert_eq!(
        jkt,
        run(proof_binary, &[("DPOP_THUMBPRINT", "1")]),
        "the key is kept"
    );
    let token = run(env!("CARGO_BIN_EXE_dev-token"), &[("TOKEN_CNF_JKT", &jkt)]);
    let dpop = |proof: String| {
        reqwest::Client::new()
            .get(&me)
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .send()
    };
    let proof = run(
        proof_binary,
        &[
            ("DPOP_URL", &me),
            ("DPOP_TOKEN", &token),
            ("DPOP_METHOD", "GET"),
        ],
    );
    assert_eq!(dpop(proof).await.unwrap().status(), 200);
    assert_eq!(
        get_me(&url, &token).await.status(),
        401,
        "not as a bearer token"
    );
}

#[actix_web::test]
async fn the_client_certificate_binary_binds_a_token_to_a_certificate_the_service_then_asks_for() {
    let key_file = temp_key_file();
    let key_path = key_file.path().to_str().unwrap();
    let (url, application) = start(development(&[
        ("APP__DEV_ISSUER__KEY_FILE", key_path),
        ("APP__AUTH__MTLS__CERT_HEADER", "Client-Cert"),
    ]))
    .await;
    let port = application.port().to_string();
    actix_web::rt::spawn(application.run_until_stopped());
    until_ready(&url).await;
    let certificate_file = TempFile::new("client-cert", "pem");
    let run = |binary: &str, vars: &[(&str, &str)]| {
        let mut vars = vars.to_vec();
        vars.push((
            "CLIENT_CERT_FILE",
            certificate_file.path().to_str().unwrap(),
        ));
        output_of(binary, &port, key_path, &vars)
    };
    let printed = run(env!("CARGO_BIN_EXE_client-cert"), &[]);
    assert_eq!(
        printed,
        run(env!("CARGO_BIN_EXE_client-cert"), &[]),
        "the certificate is kept"
    );
    let line = |label: &str| {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap()
            .to_owned()
    };
    let (thumbprint, header) = (line("x5t#S256: "), line("Client-Cert: "));
    let token = run(
        env!("CARGO_BIN_EXE_dev-token"),
        &[("TOKEN_CNF_X5T", &thumbprint)],
    );
    let me = |certificate: Option<&str>| {
        let request = reqwest::Client::new()
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(token.trim());
        match certificate {
            Some(value) => request.header("Client-Cert", value),
            None => request,
        }
        .send()
    };
    assert_eq!(me(Some(&header)).await.unwrap().status(), 200);
    assert_eq!(
        me(None).await.unwrap().status(),
        401,
        "not without its certificate"
    );
}

#[test]
fn a_key_file_from_before_es256_gains_an_es256_key_and_keeps_its_others() {
    let key_file = temp_key_file();
    let issuer = || DevIssuer::load_or_create("http://127.0.0.1:1".into(), Some(key_file.path()));
    let kids = |issuer: &DevIssuer| -> Vec<String> {
        let jwks = issuer.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        keys.iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = kids(&issuer().unwrap());
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(key_file.path()).unwrap()).unwrap();
    old.as_object_mut()
        .unwrap()
        .remove("es256_private_key")
        .unwrap();
    std::fs::write(key_file.path(), old.to_string()).unwrap();

    let upgraded = issuer().unwrap();
    let after = kids(&upgraded);
    assert_eq!(after.len(), 3);
    assert_eq!(after[..2], before[..2], "the EdDSA and RS256 keys are kept");
    assert_ne!(after[2], before[2], "a new ES256 key");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(key_file.path()).unwrap()).unwrap();
    assert!(saved["es256_private_key"].is_string());
    assert_eq!(
        kids(&issuer().unwrap()),
        after,
        "the added key is kept on the next load"
    );
}

fn temp_key_file() -> TempFile {
    TempFile::new("dev-issuer", "json")
}

/// A path in the temporary directory, unique to this process and moment; the file is removed
/// when the test ends, failed or not.
struct TempFile(PathBuf);

impl TempFile {
    fn new(stem: &str, extension: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("{stem}-{}-{nanos}.{extension}", std::process::id());
        Self(std::env::temp_dir().join(name))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What one of the development binaries prints, run as `make` runs it against the service on
/// `port` with the issuer keys in `key_path`; it must succeed.
fn output_of(binary: &str, port: &str, key_path: &str, vars: &[(&str, &str)]) -> String {
    let output = Command::new(binary)
        .env("APP_ENV", "development")
        .env("APP__SERVER__PORT", port)
        .env("APP__DEV_ISSUER__KEY_FILE", key_path)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
