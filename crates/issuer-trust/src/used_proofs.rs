//! The DPoP proofs already used (RFC 9449 §11.1), so each is accepted once while it could still
//! be fresh. A proof is remembered until its window closes and never forgotten before: a store
//! that forgot open proofs when full would let anyone who floods it replay a captured one. So
//! the store is bounded by refusing: when it holds as many proofs as it may, a new proof is
//! refused (the request answered 503, to retry) until older proofs' windows close and their
//! entries leave, a second's worth at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

/// Used proofs, by a digest of their key's thumbprint and `jti`, each with the last second
/// it could be accepted in.
pub struct UsedProofs {
    capacity: usize,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    /// Each remembered proof and the last second it could be accepted in.
    until: HashMap<[u8; 32], u64>,
    /// The proofs whose window closes at each second, so that the closed ones leave in order
    /// without a scan of the whole store.
    closing: BTreeMap<u64, Vec<[u8; 32]>>,
}

/// Whether a use of a proof is its first.
#[derive(Debug, PartialEq, Eq)]
pub enum Use {
    /// Its first use: accepted.
    First,
    /// It was used before and could still be accepted: a replay.
    Again,
    /// The store holds as many open proofs as it may: this one cannot be remembered, so it is
    /// not accepted. The earliest window closes in this many seconds.
    Full {
        /// Seconds until the earliest remembered proof's window closes.
        retry_after: u64,
    },
    /// The replay store shared by the replicas did not answer in time: the proof cannot be
    /// checked, so it is not accepted.
    Unavailable,
}

impl UsedProofs {
    /// Remembers up to `capacity` proofs whose windows are open at once.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ledger: Mutex::default(),
        }
    }

    /// Records a use of the proof `used` at `now`, acceptable until `valid_until`. Atomic: of
    /// two requests with one proof at once, one is the first, the other a replay.
    pub fn record(&self, used: [u8; 32], valid_until: u64, now: u64) -> Use {
        // Nothing here panics while the lock is held, so a poisoned lock holds a sound ledger.
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.forget_closed(now);
        if ledger.until.contains_key(&used) {
            return Use::Again;
        }
        if ledger.until.len() >= self.capacity {
            let earliest = ledger.closing.keys().next().copied().unwrap_or(now);
            return Use::Full {
                retry_after: earliest.saturating_sub(now).saturating_add(1),
            };
        }
        ledger.until.insert(used, valid_until);
        ledger.closing.entry(valid_until).or_default().push(used);
        Use::First
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .until
            .len()
    }
}

impl Ledger {
    /// Drops every proof whose window closed before `now`.
    fn forget_closed(&mut self, now: u64) {
        while let Some(entry) = self.closing.first_entry() {
            if *entry.key() >= now {
                break;
            }
            for proof in entry.remove() {
                self.until.remove(&proof);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(n: u64) -> [u8; 32] {
        let mut used = [0; 32];
        used[..8].copy_from_slice(&n.to_le_bytes());
        used
    }

    #[test]
    fn a_proof_is_first_once_until_its_window_ends() {
        let used = UsedProofs::new(10);
        assert_eq!(used.record(proof(1), 100, 50), Use::First);
        assert_eq!(used.record(proof(1), 100, 60), Use::Again);
        assert_eq!(
            used.record(proof(1), 100, 100),
            Use::Again,
            "its last second"
        );
        assert_eq!(used.record(proof(2), 100, 60), Use::First, "another proof");
        assert_eq!(
            used.record(proof(1), 200, 101),
            Use::First,
            "past its window the jti is a new proof's"
        );
        assert_eq!(used.record(proof(1), 200, 150), Use::Again);
    }

    #[test]
    fn when_full_new_proofs_are_refused_and_open_ones_never_forgotten() {
        let capacity = 2_000;
        let used = UsedProofs::new(capacity);
        for n in 0..capacity as u64 {
            // Windows closing over the next twenty seconds.
            assert_eq!(used.record(proof(n), 100 + n % 20, 0), Use::First);
        }
        for n in capacity as u64..2 * capacity as u64 {
            assert_eq!(
                used.record(proof(n), 200, 50),
                Use::Full { retry_after: 51 },
                "proof {n}"
            );
        }
        assert_eq!(used.held(), capacity);
        for n in 0..capacity as u64 {
            assert_eq!(used.record(proof(n), 100, 100), Use::Again, "proof {n}");
        }
        // At 101 the proofs closing at 100 have left: a new one fits, and the rest still hold.
        assert_eq!(used.record(proof(9_999), 400, 101), Use::First);
        assert_eq!(used.record(proof(0), 100, 101), Use::First, "closed at 100");
        assert_eq!(used.record(proof(1), 101, 101), Use::Again, "closes at 101");
        // Proof 0 came with its window already closed, so the next record let it go again.
        assert_eq!(used.held(), capacity - capacity / 20 + 1);
    }

    #[test]
    fn a_store_of_no_proofs_refuses_every_one() {
        let used = UsedProofs::new(0);
        assert_eq!(used.record(proof(1), 100, 0), Use::Full { retry_after: 1 });
        assert_eq!(used.held(), 0);
    }

    #[test]
    fn of_many_requests_with_one_proof_at_once_one_is_first() {
        let used = UsedProofs::new(1_000);
        for n in 0..50 {
            let firsts = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..8 {
                    scope.spawn(|| {
                        if used.record(proof(n), 100, 0) == Use::First {
                            firsts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    });
                }
            });
            assert_eq!(firsts.into_inner(), 1, "proof {n}");
        }
    }
}
