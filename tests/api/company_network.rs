//! Issuers reached as inside a company network: behind a private CA (`APP__AUTH__HTTP__CA_FILE`,
//! `_CA_ONLY`), through an egress proxy (`APP__AUTH__HTTP__PROXY`, or the standard
//! `HTTPS_PROXY` / `NO_PROXY`), and with extra request headers (`fetch_headers`). Each against
//! real loopback servers: issuers over TLS with certificates from CAs the tests make, and a
//! CONNECT proxy that counts what passes through it. Settings read from the process
//! environment (the system's roots, the proxy variables) are tried through the doctor binary,
//! which fetches as the service does, so that no test changes its own environment.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::common::{
    TestIssuer, claims, get, keys, load_with_profile, me, settings, sign, standard_jwks, state,
};
use crate::doctor::doctor_with;
use crate::service;

/// Why the fetch from an issuer whose CA is not trusted fails, as `/ready` and the doctor say.
const UNTRUSTED: &str = "the issuer's TLS certificate was refused: it is signed by a certificate \
                         authority this service does not trust (a private CA needs its roots given as the CA file)";

/// A certificate authority made for one test, signing server certificates for 127.0.0.1.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    file: PathBuf,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let file = std::env::temp_dir().join(format!("test-ca-{}-{name}.pem", std::process::id()));
        std::fs::write(&file, issuer.pem()).unwrap();
        Self { issuer, file }
    }

    fn path(&self) -> &str {
        self.file.to_str().unwrap()
    }

    /// A server's TLS settings, with a certificate this CA signed for 127.0.0.1.
    fn server(&self) -> rustls::ServerConfig {
        let key = KeyPair::generate().unwrap();
        let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap()
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// A CONNECT proxy on 127.0.0.1 port 0: it tunnels to whatever it is asked for, and counts the
/// tunnels and the `Proxy-Authorization` each was asked with.
struct ConnectProxy {
    url: String,
    tunnels: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

impl ConnectProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let tunnels = Arc::new(AtomicUsize::new(0));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let (counted, seen) = (Arc::clone(&tunnels), Arc::clone(&authorizations));
        actix_web::rt::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (counted, seen) = (Arc::clone(&counted), Arc::clone(&seen));
                actix_web::rt::spawn(async move {
                    if let Some((target, authorization)) = tunnel_request(&client).await {
                        seen.lock().unwrap().push(authorization);
                        counted.fetch_add(1, Ordering::SeqCst);
                        tunnel(client, &target).await;
                    }
                });
            }
        });
        Self {
            url,
            tunnels,
            authorizations,
        }
    }

    fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

/// Reads a CONNECT request's head: the host:port asked for and the `Proxy-Authorization`.
async fn tunnel_request(client: &TcpStream) -> Option<(String, Option<String>)> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        client.readable().await.ok()?;
        match client.try_read(&mut buffer) {
            Ok(0) => return None,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        if request.parse(&head).ok()?.is_complete() {
            if request.method != Some("CONNECT") {
                return None;
            }
            let authorization = request
                .headers
                .iter()
                .find(|header| header.name.eq_ignore_ascii_case("proxy-authorization"))
                .map(|header| String::from_utf8_lossy(header.value).into_owned());
            return Some((request.path?.to_owned(), authorization));
        }
    }
}

async fn tunnel(mut client: TcpStream, target: &str) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// The doctor's environment with none of the machine's proxy settings.
const NO_PROXY_VARIABLES: [(&str, &str); 6] = [
    ("HTTPS_PROXY", ""),
    ("https_proxy", ""),
    ("HTTP_PROXY", ""),
    ("http_proxy", ""),
    ("ALL_PROXY", ""),
    ("NO_PROXY", ""),
];

#[actix_web::test]
async fn an_issuer_behind_a_private_ca_is_refused_naming_the_certificate_until_its_ca_is_given() {
    let ca = TestCa::new("private");
    let issuer = TestIssuer::start_tls(standard_jwks(), ca.server());
    let token = sign(&keys().ed, &claims(&issuer.url));

    let untrusting = state(&settings(&issuer.url, &[])).await;
    let app = service!(untrusting);
    assert_eq!(
        me(&app, &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let ready = get(&app, "/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.body["issuers"][0]["last_error"], UNTRUSTED,
        "{}",
        ready.body
    );

    for vars in [
        vec![("APP__AUTH__HTTP__CA_FILE", ca.path())],
        vec![
            ("APP__AUTH__HTTP__CA_FILE", ca.path()),
            ("APP__AUTH__HTTP__CA_ONLY", "true"),
        ],
    ] {
        let trusting = state(&settings(&issuer.url, &vars)).await;
        let app = service!(trusting);
        assert_eq!(me(&app, &token).await.status, StatusCode::OK, "{vars:?}");
    }
}

#[actix_web::test]
async fn with_ca_only_a_root_the_system_trusts_is_refused() {
    let system_ca = TestCa::new("system");
    let private_ca = TestCa::new("bundle");
    let issuer = TestIssuer::start_tls(standard_jwks(), system_ca.server());
    let no_directory = std::env::temp_dir().join(format!("no-certs-{}", std::process::id()));
    let mut vars = NO_PROXY_VARIABLES.to_vec();
    vars.extend([
        // The system's roots, as the TLS client reads them: only this test's "system" CA.
        ("SSL_CERT_FILE", system_ca.path()),
        ("SSL_CERT_DIR", no_directory.to_str().unwrap()),
        ("APP__AUTH__HTTP__CA_FILE", private_ca.path()),
    ]);

    let (output, report) = doctor_with(&issuer.url, None, &vars).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "the system's root is trusted:\n{report}"
    );

    vars.push(("APP__AUTH__HTTP__CA_ONLY", "true"));
    let (output, report) = doctor_with(&issuer.url, None, &vars).await;
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!("✗ discovery: {UNTRUSTED}")),
        "{report}"
    );
    assert!(
        report.contains(&format!("trusting only the roots of {}", private_ca.path())),
        "{report}"
    );
}

#[actix_web::test]
async fn the_configured_proxy_carries_every_fetch_and_its_credentials_are_never_shown() {
    let ca = TestCa::new("proxied");
    let issuer = TestIssuer::start_tls(standard_jwks(), ca.server());
    let proxy = ConnectProxy::start().await;
    let with_credentials = proxy.url.replace("http://", "http://alice:s3cret@");
    let vars = [
        ("APP__AUTH__HTTP__CA_FILE", ca.path()),
        ("APP__AUTH__HTTP__PROXY", with_credentials.as_str()),
    ];

    let trusting = state(&settings(&issuer.url, &vars)).await;
    let app = service!(trusting);
    let token = sign(&keys().ed, &claims(&issuer.url));
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    assert!(proxy.tunnels() >= 1, "no fetch went through the proxy");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
    );
    assert!(
        proxy
            .authorizations
            .lock()
            .unwrap()
            .iter()
            .all(|sent| sent.as_deref() == Some(basic.as_str())),
        "every tunnel is asked for with the proxy's credentials"
    );

    let mut doctor_vars = NO_PROXY_VARIABLES.to_vec();
    doctor_vars.extend(vars);
    doctor_vars.push(("RUST_LOG", "debug"));
    let before = proxy.tunnels();
    let (output, report) = doctor_with(&issuer.url, None, &doctor_vars).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        proxy.tunnels() > before,
        "the doctor fetches through the proxy too"
    );
    assert!(
        report.contains(&format!(
            "issuers reached through {}/ (credentials hidden)",
            proxy.url
        )),
        "{report}"
    );
    assert!(
        !report.contains("s3cret") && !stderr.contains("s3cret"),
        "the password is never shown"
    );

    // A host in NO_PROXY is reached directly, whatever the proxy setting says.
    doctor_vars.push(("NO_PROXY", "127.0.0.1"));
    let before = proxy.tunnels();
    let (output, report) = doctor_with(&issuer.url, None, &doctor_vars).await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(proxy.tunnels(), before, "NO_PROXY bypasses the proxy");
}

#[actix_web::test]
async fn without_a_proxy_setting_the_standard_proxy_variables_apply() {
    let ca = TestCa::new("standard");
    let issuer = TestIssuer::start_tls(standard_jwks(), ca.server());
    let proxy = ConnectProxy::start().await;
    let mut vars = NO_PROXY_VARIABLES.to_vec();
    vars.extend([
        ("APP__AUTH__HTTP__CA_FILE", ca.path()),
        ("HTTPS_PROXY", proxy.url.as_str()),
    ]);

    let (output, report) = doctor_with(&issuer.url, None, &vars).await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        proxy.tunnels() >= 2,
        "discovery and the key set go through HTTPS_PROXY"
    );

    vars.push(("NO_PROXY", "127.0.0.1"));
    let before = proxy.tunnels();
    let (output, report) = doctor_with(&issuer.url, None, &vars).await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(proxy.tunnels(), before, "NO_PROXY bypasses HTTPS_PROXY");
}

#[actix_web::test]
async fn extra_headers_go_with_discovery_and_the_key_set_and_their_values_are_never_shown() {
    let issuer = TestIssuer::start(standard_jwks());
    let state = state(&settings(
        &issuer.url,
        &[("APP__AUTH__FETCH_HEADERS__X_API_KEY", "key-4711")],
    ))
    .await;
    let app = service!(state);
    assert_eq!(
        me(&app, &sign(&keys().ed, &claims(&issuer.url)))
            .await
            .status,
        StatusCode::OK
    );
    let sent = issuer.received("x-api-key");
    assert!(sent.len() >= 2, "discovery and the key set were fetched");
    assert!(
        sent.iter()
            .all(|value| value.as_deref() == Some("key-4711")),
        "{sent:?}"
    );

    let (output, report) = doctor_with(
        &issuer.url,
        None,
        &[
            ("APP__AUTH__FETCH_HEADERS__X_API_KEY", "key-4711"),
            ("RUST_LOG", "debug"),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        report.contains("  fetch_headers: x-api-key (values hidden)"),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!report.contains("key-4711") && !stderr.contains("key-4711"));
}

#[actix_web::test]
async fn a_listed_issuer_sends_its_own_headers_and_never_the_shorthands() {
    let shorthand = TestIssuer::start(standard_jwks());
    let listed = TestIssuer::start(standard_jwks());
    let settings = load_with_profile(
        &format!(
            "[[auth.issuers]]\nissuer = \"{}\"\naudience = \"{}\"\nfetch_headers = {{ \"Authorization\" = \"Basic a2V5OnNlY3JldA==\" }}\n",
            listed.url,
            crate::common::AUDIENCE
        ),
        &[
            ("APP__AUTH__ISSUER", &shorthand.url),
            ("APP__AUTH__AUDIENCE", crate::common::AUDIENCE),
            ("APP__AUTH__FETCH_HEADERS__X_API_KEY", "shorthand-only"),
        ],
    )
    .unwrap();
    let state = state(&settings).await;
    let app = service!(state);
    for issuer in [&shorthand, &listed] {
        let token = sign(&keys().rsa, &claims(&issuer.url));
        assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    }
    assert!(shorthand.received("x-api-key").iter().all(Option::is_some));
    assert!(listed.received("x-api-key").iter().all(Option::is_none));
    assert!(
        listed
            .received("authorization")
            .iter()
            .all(|value| value.as_deref() == Some("Basic a2V5OnNlY3JldA=="))
    );
}

#[test]
fn bad_network_settings_stop_startup_naming_the_setting_and_never_the_password() {
    let not_pem = std::env::temp_dir().join(format!("not-a-ca-{}.pem", std::process::id()));
    std::fs::write(&not_pem, "no certificate here").unwrap();
    let base = [
        ("APP__AUTH__ISSUER", "https://issuer.example"),
        ("APP__AUTH__AUDIENCE", crate::common::AUDIENCE),
    ];
    for (var, value, problem) in [
        (
            "APP__AUTH__HTTP__CA_FILE",
            "/nonexistent/ca.pem",
            "cannot be read",
        ),
        (
            "APP__AUTH__HTTP__CA_FILE",
            not_pem.to_str().unwrap(),
            "holds no PEM certificate",
        ),
        ("APP__AUTH__HTTP__CA_ONLY", "true", "no CA file is set"),
        (
            "APP__AUTH__HTTP__PROXY",
            "socks5://bob:hunter2@proxy.example:1080",
            "not an http or https URL",
        ),
        (
            "APP__AUTH__HTTP__PROXY",
            "bob:hunter2",
            "not an http or https URL",
        ),
        (
            "APP__AUTH__FETCH_HEADERS__X_API_KEY",
            "line\nbreak",
            "no header value",
        ),
    ] {
        let mut vars = base.to_vec();
        vars.push((var, value));
        let error = load_with_profile("", &vars).unwrap_err();
        let shown = error.to_string();
        let key = if var.starts_with("APP__AUTH__FETCH_HEADERS") {
            "APP__AUTH__FETCH_HEADERS"
        } else {
            var
        };
        assert_eq!(error.key(), key, "{shown}");
        assert!(shown.contains(problem), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("line\nbreak"),
            "{shown}"
        );
    }
    let _ = std::fs::remove_file(&not_pem);
}
