//! `make doctor [TOKEN=...]`: checks the configured issuers from this machine and, given a
//! token, explains each check it passes or fails. Exits 0 only when all of it works.

use std::process::ExitCode;

use app::doctor;
use app::settings::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).init();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let token = std::env::var("TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let mut report = String::new();
    let healthy = doctor::diagnose(&settings, token.as_deref(), &mut report).await;
    print!("{report}");
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
