//! The background task that keeps a store's key set fresh: it loads the first set, refreshes
//! ahead of expiry, retries failures with exponential backoff and jitter, and ends at shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::JwksStore;

/// Backoff between failed refreshes: doubling from the first, capped, each drawn with jitter.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(60);

impl JwksStore {
    /// Keeps the set fresh in the background: loads it (so the service can start, and serve
    /// `/health`, while the issuer is down), then refreshes it ahead of expiry, retrying failures
    /// with exponential backoff and jitter. The task ends at [`JwksStore::stop_refreshing`] or
    /// when the store is dropped.
    pub fn spawn_refresher(self: &Arc<Self>) {
        let store = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                let Some((wait, stop)) = store.upgrade().and_then(|s| {
                    let stopping = s.stopping.load(std::sync::atomic::Ordering::Acquire);
                    (!stopping).then(|| (s.time_until_refresh(), Arc::clone(&s.stop)))
                }) else {
                    return;
                };
                if wait > Duration::ZERO {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => continue,
                        () = stop.notified() => return,
                    }
                }
                let Some(current) = store.upgrade() else {
                    return;
                };
                let outcome = current.refresh().await;
                drop(current);
                match outcome {
                    Ok(()) => failures = 0,
                    Err(_) => {
                        failures = failures.saturating_add(1);
                        tokio::time::sleep(backoff(failures)).await;
                    }
                }
            }
        });
    }

    /// Ends the background refresher (at shutdown).
    pub fn stop_refreshing(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Release);
        self.stop.notify_one();
    }

    /// Zero when a refresh is due (no set yet, or four fifths of its lifetime gone).
    fn time_until_refresh(&self) -> Duration {
        self.snapshot().map_or(Duration::ZERO, |set| {
            set.refresh_at().saturating_duration_since(Instant::now())
        })
    }
}

/// The wait after the `failures`-th failure in a row: 0.5 s doubling to 60 s, times a random
/// factor in [0.5, 1) so that replicas do not retry in step.
fn backoff(failures: u32) -> Duration {
    let exponential = FIRST_RETRY.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let mut random = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut random);
    let jitter = 0.5 + f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX) / 2.0;
    exponential.min(MAX_RETRY).mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_to_a_minute_with_jitter_below_it() {
        for _ in 0..50 {
            for (failures, full) in [(1, 500), (2, 1_000), (3, 2_000), (8, 60_000), (30, 60_000)] {
                let wait = backoff(failures);
                let full = Duration::from_millis(full);
                assert!(
                    wait >= full / 2 && wait <= full,
                    "failure {failures}: {wait:?} not within [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
    }
}
