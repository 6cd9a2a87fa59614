//! The request-latency histogram, its counts spread over cache lines as [`super::spread`]'s
//! counters are. prometheus_client's `Histogram` keeps one sum and one set of buckets behind a
//! mutex: every request took and released that lock, a write on a line every worker's core
//! shares. Here a request adds to its thread's line only; a scrape sums the lines.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::spread::{LINES, line};

/// Upper bounds in seconds: 100 µs doubling up to ~3.3 s, then +Inf.
const BOUNDS: [f64; 16] = doubling_from(0.0001);

/// Buckets per line: one per bound, and +Inf.
const BUCKETS: usize = BOUNDS.len() + 1;

const fn doubling_from(first: f64) -> [f64; 16] {
    let mut bounds = [first; 16];
    let mut at = 1;
    while at < bounds.len() {
        bounds[at] = bounds[at - 1] * 2.0;
        at += 1;
    }
    bounds
}

/// A histogram of seconds; clones share the counts, as prometheus_client's metrics do.
#[derive(Debug, Clone, Default)]
pub struct SpreadHistogram(Arc<[Line; LINES]>);

/// One thread's share, on cache lines of its own (the sum and 17 counts fill 144 bytes, padded
/// to 256: x86 fetches lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Line {
    /// The sum of the observations, as the bits of an `f64`.
    sum: AtomicU64,
    /// Observations by the first bucket holding them (not cumulative).
    buckets: [AtomicU64; BUCKETS],
}

impl SpreadHistogram {
    /// Records one observation. A value past every bound, or NaN, lands in +Inf.
    pub fn observe(&self, seconds: f64) {
        let bucket = BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BOUNDS.len());
        let line = &self.0[line()];
        line.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        // Only this thread (or the few sharing its line) writes here: the loop almost never
        // runs twice.
        let _ = line
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + seconds).to_bits())
            });
    }

    /// The sum, the count and each bucket's own count, summed over the lines. The count is the
    /// buckets' total, so the exposition's `_count` always equals its +Inf bucket.
    fn totals(&self) -> (f64, u64, [(f64, u64); BUCKETS]) {
        let mut buckets = [(f64::INFINITY, 0); BUCKETS];
        for (bucket, bound) in buckets.iter_mut().zip(BOUNDS) {
            bucket.0 = bound;
        }
        let mut sum = 0.0;
        for line in self.0.iter() {
            sum += f64::from_bits(line.sum.load(Ordering::Relaxed));
            for (total, count) in buckets.iter_mut().zip(&line.buckets) {
                total.1 += count.load(Ordering::Relaxed);
            }
        }
        let count = buckets.iter().map(|(_, count)| count).sum();
        (sum, count, buckets)
    }
}

impl TypedMetric for SpreadHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for SpreadHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.totals();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
    use prometheus_client::registry::Registry;

    use super::*;

    fn exposition(metric: impl EncodeMetric + Send + Sync + std::fmt::Debug + 'static) -> String {
        let mut registry = Registry::default();
        registry.register("latency", "Latency", metric);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn reads_as_prometheus_clients_own_histogram_with_the_same_buckets() {
        let theirs = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let ours = SpreadHistogram::default();
        for seconds in [0.00005, 0.0001, 0.00015, 0.003, 0.25, 2.0, 10.0, f64::NAN] {
            theirs.observe(seconds);
            ours.observe(seconds);
        }
        // NaN makes both sums NaN; the buckets and counts are compared as written.
        assert_eq!(exposition(ours), exposition(theirs));
    }

    #[test]
    fn observations_from_many_threads_add_up() {
        let histogram = SpreadHistogram::default();
        std::thread::scope(|scope| {
            for _ in 0..LINES + 3 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        histogram.observe(0.0002);
                        histogram.observe(100.0);
                    }
                });
            }
        });
        let threads = (LINES + 3) as u64;
        let (sum, count, buckets) = histogram.totals();
        assert_eq!(count, 2000 * threads);
        assert_eq!(
            buckets[1],
            (0.0002, 1000 * threads),
            "0.0002 s is on a bound"
        );
        assert_eq!(buckets[BUCKETS - 1], (f64::INFINITY, 1000 * threads));
        let expected = 1000.0 * threads as f64 * 100.0002;
        assert!(
            (sum - expected).abs() < 1e-6 * expected,
            "{sum} against {expected}"
        );
    }
}
