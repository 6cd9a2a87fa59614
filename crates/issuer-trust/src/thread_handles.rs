//! One thread's part of the verified-token cache: its own handles (`Caller::own_handle`) on the
//! callers of tokens it keeps meeting, so that answering them writes only this thread's memory,
//! and the marks that decide which tokens earn a handle.
//!
//! A handle is found by the token's own text, not by its digest: the text compared in full
//! stands for the verified token as the digest does, and finding the entry takes a fast hash
//! (foldhash, seeded per map) where the digest takes a keyed SHA-256 or BLAKE3 of every byte,
//! which criterion measured as the larger part of a hit. So a thread holds the text of the
//! tokens it keeps handles for; their number and bytes are bounded (see [`TokenWeight`]) and
//! they live no longer than the handle. The shared map still holds digests only.

use quick_cache::{Weighter, unsync};

use super::caller::Caller;
use super::token_digest::TokenDigest;

/// A handle's weight in its thread's budget: one per started KiB of its token, so that the
/// text held stays under about a KiB per handle of the capacity, however large the tokens.
#[derive(Clone, Copy)]
pub(super) struct TokenWeight;

impl Weighter<Box<str>, Caller> for TokenWeight {
    fn weight(&self, token: &Box<str>, _: &Caller) -> u64 {
        token.len().div_ceil(1024).max(1) as u64
    }
}

/// On cache lines of its own (two 64-byte lines: x86 fetches lines in pairs): every thread's
/// part lies beside the others', and each hit writes its own.
#[repr(align(128))]
pub(super) struct ThreadHandles {
    handles: unsync::Cache<Box<str>, Caller, TokenWeight, foldhash::fast::RandomState>,
    /// The marks of tokens this thread met once from the shared map, one slot each by the
    /// mark's low bits, a later token's mark overwriting an earlier one's.
    met_once: Box<[u64]>,
}

impl ThreadHandles {
    /// Room for `capacity` handles on tokens of up to a KiB (fewer for larger ones), and marks
    /// for about half as many tokens.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            handles: unsync::Cache::with(
                capacity,
                capacity as u64,
                TokenWeight,
                foldhash::fast::RandomState::default(),
                Default::default(),
            ),
            met_once: vec![0; (capacity / 2).next_power_of_two()].into_boxed_slice(),
        }
    }

    /// This thread's handle on the token's caller, if it holds one.
    pub(super) fn get(&self, token: &str) -> Option<Caller> {
        self.handles.get(token).cloned()
    }

    /// The caller the shared map answered, or a handle of this thread's own on it when this is
    /// the second time lately that the thread met the token there.
    ///
    /// Taking a handle on the first meeting would make a thread whose repeated tokens outnumber
    /// its handles take one on every hit, each evicting another: an allocation and two writes
    /// to shared counts where a plain hit makes one, which criterion showed slower than no
    /// handles at all. A mark only lasts until another token's lands on its
    /// slot, so the tokens that earn handles are the ones met again soonest.
    pub(super) fn answer(&mut self, token: &str, key: &TokenDigest, shared: Caller) -> Caller {
        if !self.met_before(key) {
            return shared;
        }
        let own = shared.own_handle();
        self.handles.insert(token.into(), own.clone());
        own
    }

    pub(super) fn remove(&mut self, token: &str) {
        self.handles.remove(token);
    }

    /// Whether the token's mark is still in its slot; if so the slot is freed, and if not the
    /// mark is left there.
    fn met_before(&mut self, key: &TokenDigest) -> bool {
        let mark = key.mark();
        let slot = &mut self.met_once[mark as usize & (self.met_once.len() - 1)];
        let met = *slot == mark;
        *slot = if met { 0 } else { mark };
        met
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.handles.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::RolesClaim;
    use crate::token_digest::TokenDigester;
    use crate::{claim_set, provenance};
    use serde_json::json;

    fn shared() -> Caller {
        Caller::new(
            &claim_set::for_test(&json!({"iss": "https://issuer"})),
            &RolesClaim("roles".to_owned()),
            provenance::for_test(u64::MAX),
        )
        .unwrap()
    }

    #[test]
    fn a_handle_is_taken_the_second_time_a_token_is_met() {
        let digester = TokenDigester::new().unwrap();
        let key = digester.digest("a.b.c");
        let mut thread = ThreadHandles::new(4);
        let caller = shared();
        assert!(
            thread
                .answer("a.b.c", &key, caller.clone())
                .same_handle(&caller)
        );
        assert!(thread.get("a.b.c").is_none(), "met once: no handle yet");
        let own = thread.answer("a.b.c", &key, caller.clone());
        assert!(own.same_caller(&caller) && !own.same_handle(&caller));
        assert!(thread.get("a.b.c").unwrap().same_handle(&own));
        thread.remove("a.b.c");
        assert!(thread.get("a.b.c").is_none());
    }

    #[test]
    fn a_handle_answers_its_token_alone() {
        let digester = TokenDigester::new().unwrap();
        let mut thread = ThreadHandles::new(4);
        let token = "a.b.c";
        for _ in 0..2 {
            thread.answer(token, &digester.digest(token), shared());
        }
        assert!(thread.get(token).is_some());
        for altered in ["a.b.d", "a.b.c.", "A.b.c", ".b.c", "a.b.", ""] {
            assert!(thread.get(altered).is_none(), "{altered:?}");
        }
    }

    #[test]
    fn a_mark_lasts_until_another_lands_on_its_slot() {
        let digester = TokenDigester::new().unwrap();
        let mut thread = ThreadHandles::new(1);
        let [first, second] = [digester.digest("a.b.c"), digester.digest("a.b.d")];
        let caller = shared();
        thread.answer("a.b.c", &first, caller.clone());
        thread.answer("a.b.d", &second, caller.clone());
        thread.answer("a.b.c", &first, caller.clone());
        assert_eq!(thread.len(), 0, "one slot: each mark overwrote the other");
        thread.answer("a.b.c", &first, caller.clone());
        assert_eq!(thread.len(), 1, "met twice in a row");
    }

    /// Held by count for tokens up to a KiB, and by their text beyond: `n` handles on tokens of
    /// `bytes` each, every token met twice.
    fn held(capacity: usize, n: usize, bytes: usize) -> usize {
        let digester = TokenDigester::new().unwrap();
        let mut thread = ThreadHandles::new(capacity);
        let caller = shared();
        for n in 0..n {
            let token = format!("{n}.{}", "s".repeat(bytes));
            let key = digester.digest(&token);
            thread.answer(&token, &key, caller.clone());
            thread.answer(&token, &key, caller.clone());
        }
        thread.len()
    }

    #[test]
    fn handles_stay_within_the_capacity() {
        let small = held(10, 100, 8);
        assert!((1..=10).contains(&small), "{small} held");
        let large = held(100, 200, 8 * 1024);
        assert!(
            (1..=13).contains(&large),
            "{large} tokens of 8 KiB held: about a KiB of text per handle of 100"
        );
    }
}
