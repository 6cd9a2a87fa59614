//! Prints a DPoP proof (RFC 9449) for `make dpop-proof`, or with `DPOP_THUMBPRINT=1` the client
//! key's thumbprint for `make token CNF_JKT=…`, so the DPoP scheme can be tried with curl.
//!
//! Reads `DPOP_KEY_FILE` (the client's ES256 key, made on first use; default
//! `.dev-issuer/dpop-client.pem`), `DPOP_METHOD` (default `GET`), `DPOP_URL` (the URL the
//! request goes to, as the service's public URL spells it), `DPOP_TOKEN` (the access token
//! the request presents), `DPOP_NONCE` (a server nonce from `DPoP-Nonce`, where the service
//! asks for one) and `DPOP_COUNT` (how many proofs to print, one a line, each its own `jti`;
//! default 1).

use std::path::PathBuf;
use std::process::ExitCode;

use issuer_trust::dev::DevClientKey;

fn main() -> ExitCode {
    match output() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("dpop-proof: {message}");
            ExitCode::FAILURE
        }
    }
}

fn output() -> Result<String, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let key_file = var("DPOP_KEY_FILE").unwrap_or_else(|| ".dev-issuer/dpop-client.pem".into());
    let key = DevClientKey::load_or_create(&PathBuf::from(key_file)).map_err(|e| e.to_string())?;
    if var("DPOP_THUMBPRINT").is_some() {
        return key.thumbprint().map_err(|e| e.to_string());
    }
    let url = var("DPOP_URL").ok_or("set URL=<the request's URL>")?;
    let token = var("DPOP_TOKEN").ok_or("set TOKEN=<the access token the request presents>")?;
    let method = var("DPOP_METHOD").unwrap_or_else(|| "GET".to_owned());
    let count = match var("DPOP_COUNT") {
        Some(count) => count
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("COUNT `{count}` is not a number"))?,
        None => 1,
    };
    let mut proofs = Vec::with_capacity(count);
    for _ in 0..count {
        let mut claims = DevClientKey::proof_claims(method.trim(), url.trim(), token.trim())
            .map_err(|e| e.to_string())?;
        if let Some(nonce) = var("DPOP_NONCE") {
            claims["nonce"] = nonce.trim().into();
        }
        proofs.push(key.sign_proof(&claims).map_err(|e| e.to_string())?);
    }
    Ok(proofs.join("\n"))
}
