use std::process::ExitCode;
use std::time::Duration;

use app::settings::Settings;
use app::startup::{Application, probe_health};

/// Serves the API; `healthcheck` instead asks the running server's `/health` and exits 0 or 1,
/// for container health checks in images without a shell or curl. Exits 2 on settings it
/// cannot honour.
#[actix_web::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err((message, code)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

async fn serve() -> Result<(), (String, u8)> {
    let settings = Settings::load().map_err(|error| (error.to_string(), 2))?;
    app::logging::init(settings.log.format);
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return probe_health(&settings)
            .await
            .map_err(|error| (format!("unhealthy: {error}"), 1));
    }
    // Before the first span: the verifier's spans go to the provider installed here.
    let export = issuer_trust::trace::install_from_env(env!("CARGO_PKG_NAME"))
        .map_err(|error| (error.to_string(), 2))?;
    let application = Application::build(settings)
        .await
        .map_err(|error| (format!("cannot start: {error}"), 1))?;
    log::info!("listening on {}", application.public_url());
    let stopped = application.run_until_stopped().await;
    // The spans of the last requests, sent within a bound a stalled collector cannot stretch.
    if let Some(Err(error)) = export.map(|export| export.shutdown(Duration::from_secs(5))) {
        log::warn!("{error}");
    }
    stopped.map_err(|error| (format!("stopped: {error}"), 1))
}
