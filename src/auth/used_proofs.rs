//! The DPoP proofs already used (RFC 9449 §11.1), so each is accepted once while it could still
//! be fresh. Bounded, and first in, first out (within each of the cache's shards): when full,
//! the proof remembered longest ago is forgotten, the one nearest the end of its window. A
//! cache that keeps what is asked for most would do the opposite here: every proof is asked
//! for once, so when full it keeps the old proofs and declines to remember new ones, and each
//! new proof could then be replayed until the old ones expire.

use std::time::Duration;

use quick_cache::UnitWeighter;
use quick_cache::sync::{Cache, DefaultLifecycle, EntryAction, EntryResult};
use quick_cache::{DefaultHashBuilder, OptionsBuilder};

/// Used proofs, by a digest of their key's thumbprint and `jti`, each with the last second
/// it could be accepted in.
pub struct UsedProofs(Cache<[u8; 32], u64>);

/// Whether a use of a proof is its first.
#[derive(Debug, PartialEq, Eq)]
pub enum Use {
    First,
    /// It was used before and could still be accepted: a replay.
    Again,
}

impl UsedProofs {
    /// Remembers up to `capacity` proofs.
    pub fn new(capacity: u64) -> Self {
        let options = OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(capacity).unwrap_or(usize::MAX))
            .weight_capacity(capacity)
            // No protected share for proofs asked for twice: none is, so order alone decides.
            .hot_allocation(0.0)
            .build()
            .expect("both capacities are set");
        Self(Cache::with_options(
            options,
            UnitWeighter,
            // Keys carry an attacker's `jti`: a hash keyed at startup spreads them over the
            // shards whatever it is.
            DefaultHashBuilder::default(),
            DefaultLifecycle::default(),
        ))
    }

    /// Records a use of the proof `used` at `now`, acceptable until `valid_until`. Atomic: of
    /// two requests with one proof at once, one is the first, the other a replay.
    pub fn record(&self, used: [u8; 32], valid_until: u64, now: u64) -> Use {
        let seen = self.0.entry(&used, Some(Duration::ZERO), |_, until| {
            if *until >= now {
                return EntryAction::Retain(Use::Again);
            }
            // Its window has passed: this is a new proof under an old `jti`.
            *until = valid_until;
            EntryAction::Retain(Use::First)
        });
        match seen {
            EntryResult::Retained(seen) => seen,
            EntryResult::Vacant(slot) => {
                // Refused only if a removal raced it, which nothing here does.
                let _ = slot.insert(valid_until);
                Use::First
            }
            // Another request is recording this very proof right now.
            EntryResult::Timeout => Use::Again,
            // The callback neither removes nor replaces.
            EntryResult::Removed(..) | EntryResult::Replaced(..) => Use::Again,
        }
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.0.len()
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
    fn when_full_the_oldest_proofs_are_forgotten_first() {
        let capacity = 2_000;
        let used = UsedProofs::new(capacity);
        for n in 0..3 * capacity {
            assert_eq!(used.record(proof(n), u64::MAX, 0), Use::First);
        }
        let held = used.held() as u64;
        assert!(held <= capacity, "{held} held");
        // Each shard is its own queue, so the newest half, not all of the last `capacity`.
        let newest = capacity / 2;
        for n in 3 * capacity - newest..3 * capacity {
            assert_eq!(
                used.record(proof(n), u64::MAX, 0),
                Use::Again,
                "proof {n}, among the newest {newest}, is remembered"
            );
        }
    }

    #[test]
    fn a_cache_of_no_proofs_remembers_none_and_never_fails() {
        // The rules of an application with no DPoP registered, under which no proof is checked.
        let used = UsedProofs::new(0);
        assert_eq!(used.record(proof(1), 100, 0), Use::First);
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
