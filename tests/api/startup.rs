//! Starting the real server while the issuer is down: serve and answer 503 by default, or, when
//! configured to wait for keys, give up after the deadline.

use app::startup::{Application, StartupError};

use crate::common::{dead_url, settings};

#[actix_web::test]
async fn with_the_issuer_down_the_server_starts_and_reports_health_but_not_readiness() {
    let application = Application::build(settings(&dead_url(), &[]))
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}", application.port());
    actix_web::rt::spawn(application.run_until_stopped());

    let health = reqwest::get(format!("{url}/health")).await.unwrap();
    let ready = reqwest::get(format!("{url}/ready")).await.unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 503);
}

#[actix_web::test]
async fn waiting_for_keys_gives_up_after_the_deadline() {
    let settings = settings(&dead_url(), &[("APP__AUTH__WAIT_FOR_KEYS_SECONDS", "1")]);
    let application = Application::build(settings).await.unwrap();

    let outcome = application.run_until_stopped().await;

    assert!(
        matches!(outcome, Err(StartupError::NoKeys(_))),
        "{outcome:?}"
    );
}
