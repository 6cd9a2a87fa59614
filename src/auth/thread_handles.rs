//! One thread's part of the verified-token cache: its own handles (`Caller::own_handle`) on the
//! callers of tokens it keeps meeting, so that answering them writes only this thread's memory,
//! and the marks that decide which tokens earn a handle.

use std::hash::BuildHasherDefault;

use quick_cache::{UnitWeighter, unsync};

use super::caller::Caller;
use super::token_digest::{DigestHasher, TokenDigest};

/// On cache lines of its own (two 64-byte lines: x86 fetches lines in pairs): every thread's
/// part lies beside the others', and each hit writes its own.
#[repr(align(128))]
pub(super) struct ThreadHandles {
    handles: unsync::Cache<TokenDigest, Caller, UnitWeighter, BuildHasherDefault<DigestHasher>>,
    /// The marks of tokens this thread met once from the shared map, one slot each by the
    /// mark's low bits, a later token's mark overwriting an earlier one's.
    met_once: Box<[u64]>,
}

impl ThreadHandles {
    /// Room for `capacity` handles, and marks for about half as many tokens.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            handles: unsync::Cache::with(
                capacity,
                capacity as u64,
                UnitWeighter,
                BuildHasherDefault::default(),
                Default::default(),
            ),
            met_once: vec![0; (capacity / 2).next_power_of_two()].into_boxed_slice(),
        }
    }

    /// This thread's handle on the token's caller, if it holds one.
    pub(super) fn get(&self, key: &TokenDigest) -> Option<Caller> {
        self.handles.get(key).cloned()
    }

    /// The caller the shared map answered, or a handle of this thread's own on it when this is
    /// the second time lately that the thread met the token there.
    ///
    /// Taking a handle on the first meeting would make a thread whose repeated tokens outnumber
    /// its handles take one on every hit, each evicting another: an allocation and two writes
    /// to shared counts where a plain hit makes one (criterion, 5,000 tokens over 1,250
    /// handles: 395 ns a hit became 504). A mark only lasts until another token's lands on its
    /// slot, so the tokens that earn handles are the ones met again soonest.
    pub(super) fn answer(&mut self, key: &TokenDigest, shared: Caller) -> Caller {
        if !self.met_before(key) {
            return shared;
        }
        let own = shared.own_handle();
        self.handles.insert(*key, own.clone());
        own
    }

    pub(super) fn remove(&mut self, key: &TokenDigest) {
        self.handles.remove(key);
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
    use crate::auth::caller::RolesClaim;
    use crate::auth::token_digest::TokenDigester;
    use crate::auth::{claim_set, provenance};
    use serde_json::json;

    fn shared() -> Caller {
        Caller::new(
            &claim_set::for_test(&json!({})),
            &RolesClaim("roles".to_owned()),
            provenance::for_test(u64::MAX),
        )
    }

    #[test]
    fn a_handle_is_taken_the_second_time_a_token_is_met() {
        let digester = TokenDigester::new().unwrap();
        let key = digester.digest("a.b.c");
        let mut thread = ThreadHandles::new(4);
        let caller = shared();
        assert!(thread.answer(&key, caller.clone()).same_handle(&caller));
        assert!(thread.get(&key).is_none(), "met once: no handle yet");
        let own = thread.answer(&key, caller.clone());
        assert!(own.same_caller(&caller) && !own.same_handle(&caller));
        assert!(thread.get(&key).unwrap().same_handle(&own));
        thread.remove(&key);
        assert!(thread.get(&key).is_none());
    }

    #[test]
    fn a_mark_lasts_until_another_lands_on_its_slot() {
        let digester = TokenDigester::new().unwrap();
        let mut thread = ThreadHandles::new(1);
        let [first, second] = [digester.digest("a.b.c"), digester.digest("a.b.d")];
        let caller = shared();
        thread.answer(&first, caller.clone());
        thread.answer(&second, caller.clone());
        thread.answer(&first, caller.clone());
        assert_eq!(thread.len(), 0, "one slot: each mark overwrote the other");
        thread.answer(&first, caller.clone());
        assert_eq!(thread.len(), 1, "met twice in a row");
    }

    #[test]
    fn handles_stay_within_the_capacity() {
        let digester = TokenDigester::new().unwrap();
        let mut thread = ThreadHandles::new(10);
        let caller = shared();
        for n in 0..100 {
            let key = digester.digest(&format!("t.{n}.s"));
            thread.answer(&key, caller.clone());
            thread.answer(&key, caller.clone());
        }
        assert!((1..=10).contains(&thread.len()), "{} held", thread.len());
    }
}
