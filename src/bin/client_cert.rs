//! Prints the development client certificate (made on first use in `CLIENT_CERT_FILE`, default
//! `.dev-issuer/client-cert.pem`) for `make client-cert`: its thumbprint, for
//! `make token CNF_X5T=…`, and the RFC 9440 `Client-Cert` header a gateway that ended the
//! client's TLS would forward, so certificate-bound tokens can be tried with curl.

use std::path::PathBuf;
use std::process::ExitCode;

use issuer_trust::dev::DevClientCertificate;

fn main() -> ExitCode {
    let file = std::env::var("CLIENT_CERT_FILE")
        .ok()
        .filter(|file| !file.trim().is_empty())
        .unwrap_or_else(|| ".dev-issuer/client-cert.pem".to_owned());
    match DevClientCertificate::load_or_create(&PathBuf::from(file)) {
        Ok(certificate) => {
            println!("x5t#S256: {}", certificate.thumbprint());
            println!("Client-Cert: {}", certificate.client_cert_header());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("client-cert: {error}");
            ExitCode::FAILURE
        }
    }
}
