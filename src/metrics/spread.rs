//! A counter value spread over cache lines, each thread adding to its own. The counters every
//! request moves (requests by route, accepted tokens, cache hits and misses) were one atomic
//! word that every core wrote: each increment took the line from the core before it. Here an
//! increment stays on the thread's line; reading (a scrape) sums them. The latency histogram
//! (`histogram`) spreads its counts over the same lines.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::metrics::counter::Atomic;

/// Lines per counter: more than the cores this service is sized for, so that threads rarely
/// share one (sharing only costs speed, never a count).
pub(super) const LINES: usize = 8;

/// One count on a cache line of its own (two 64-byte lines: x86 fetches lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Line(AtomicU64);

/// The value of a `Counter<u64, Spread>`.
#[derive(Debug, Default)]
pub struct Spread([Line; LINES]);

impl Atomic<u64> for Spread {
    fn inc(&self) -> u64 {
        self.inc_by(1)
    }

    /// Adds `v` on this thread's line and returns that line's previous count (not the total,
    /// which would read every line; nothing here uses it).
    fn inc_by(&self, v: u64) -> u64 {
        self.0[line()].0.fetch_add(v, Ordering::Relaxed)
    }

    fn get(&self) -> u64 {
        self.0
            .iter()
            .map(|line| line.0.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

/// This thread's line, handed out in turn as threads first count.
pub(super) fn line() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static LINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LINES;
    }
    LINE.with(|line| *line)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let counter: Counter<u64, Spread> = Counter::default();
        let threads: Vec<_> = (0..LINES + 3)
            .map(|n| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counter.inc();
                    }
                    counter.inc_by(n as u64);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let extra: u64 = (0..LINES as u64 + 3).sum();
        assert_eq!(counter.get(), 1000 * (LINES as u64 + 3) + extra);
    }

    #[test]
    fn threads_count_on_lines_of_their_own() {
        let lines: HashSet<usize> = (0..3)
            .map(|_| std::thread::spawn(line).join().unwrap())
            .collect();
        // Lines are handed out in turn: three threads in a row do not all get the same one.
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(std::mem::align_of::<Line>(), 128);
    }
}
