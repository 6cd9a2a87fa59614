use std::process::ExitCode;
use std::time::Duration;

use app::settings::Settings;
use app::startup::{Application, probe_health};

/// Serves the API; `healthcheck` instead asks the running server's `/health` and exits 0 or 1,
/// for container health checks in images without a shell or curl.
#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    app::logging::init(settings.log.format);
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return match probe_health(&settings).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("unhealthy: {error}");
                ExitCode::FAILURE
            }
        };
    }
    // Before the first span: the verifier's spans go to the provider installed here.
    let export = match issuer_trust::trace::install_from_env(env!("CARGO_PKG_NAME")) {
        Ok(export) => export,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    log::info!("listening on {}", application.public_url());
    let stopped = application.run_until_stopped().await;
    // The spans of the last requests, sent within a bound a stalled collector cannot stretch.
    if let Some(Err(error)) = export.map(|export| export.shutdown(Duration::from_secs(5))) {
        log::warn!("{error}");
    }
    match stopped {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
