//! A rolling restart drops no request: on SIGTERM the real binary answers `/ready` with 503 at
//! once but goes on accepting and serving for the shutdown delay, so balancers stop sending it
//! traffic before it stops accepting any; then it drains and exits 0. A second signal ends the
//! delay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{
    Process, TestIssuer, claims, keys, service_binary, sign, signal, standard_jwks,
    wait_until_ready,
};

/// The service binary trusting `issuer`, with this shutdown delay.
fn service(issuer: &TestIssuer, delay_seconds: &str) -> (Process, String) {
    service_binary(
        &issuer.url,
        &[
            ("APP__SERVER__SHUTDOWN_DELAY_SECONDS", delay_seconds),
            ("APP__SERVER__DRAIN_SECONDS", "5"),
        ],
    )
}

async fn status_of(client: &reqwest::Client, url: &str, token: Option<&str>) -> Option<u16> {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .ok()
        .map(|reply| reply.status().as_u16())
}

#[actix_web::test]
async fn after_sigterm_requests_are_served_through_the_delay_and_then_the_process_drains_and_exits_0()
 {
    let issuer = TestIssuer::start(standard_jwks());
    let delay = Duration::from_secs(3);
    let (mut server, base) = service(&issuer, "3");
    wait_until_ready(&base).await;
    let token = sign(&keys().ed, &claims(&issuer.url));

    // Steady load over kept-alive connections, 16 requests at a time, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (stop, url, token) = (
                Arc::clone(&stop),
                format!("{base}/api/v1/me"),
                token.clone(),
            );
            actix_web::rt::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    statuses.push(status_of(&client, &url, Some(&token)).await);
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    signal(&server, "TERM");
    let signalled = Instant::now();
    // Within the delay: not ready, yet new connections are accepted and served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    assert_eq!(
        status_of(&fresh(), &format!("{base}/ready"), None).await,
        Some(503)
    );
    for _ in 0..10 {
        let url = format!("{base}/api/v1/me");
        assert_eq!(status_of(&fresh(), &url, Some(&token)).await, Some(200));
    }
    // A balancer stops sending within the delay: here a second before its end, a margin a
    // request started then needs to finish on a busy machine.
    tokio::time::sleep_until((signalled + delay - Duration::from_secs(1)).into()).await;
    stop.store(true, Ordering::Relaxed);
    let mut served = 0;
    for task in load {
        for status in task.await.unwrap() {
            assert_eq!(status, Some(200), "a request failed during the delay");
            served += 1;
        }
    }
    assert!(served > 100, "{served} requests under load");

    let exited = server
        .exited_within(Duration::from_secs(8))
        .await
        .expect("the process exits after the delay and the drain");
    let log = server.stderr();
    assert_eq!(exited.code(), Some(0), "{log}");
    assert!(
        signalled.elapsed() >= delay,
        "stopped before the delay ended"
    );
    assert!(log.contains("serving on for 3 s"), "{log}");
}

#[actix_web::test]
async fn a_second_signal_ends_the_delay() {
    let issuer = TestIssuer::start(standard_jwks());
    let (mut server, base) = service(&issuer, "60");
    wait_until_ready(&base).await;

    signal(&server, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status_of(&reqwest::Client::new(), &format!("{base}/ready"), None).await,
        Some(503)
    );
    signal(&server, "INT");

    let exited = server
        .exited_within(Duration::from_secs(5))
        .await
        .expect("the second signal ends the 60 s delay");
    let log = server.stderr();
    assert_eq!(exited.code(), Some(0), "{log}");
    assert!(log.contains("second termination signal"), "{log}");
}
