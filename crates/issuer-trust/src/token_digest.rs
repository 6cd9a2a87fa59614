//! A token's key in the verified-token cache: a keyed hash of the whole token, so any altered
//! byte gives another key and the cache never holds the token itself. The hash is keyed with a
//! secret drawn at startup, so no caller can work out where a token of its own lands in the
//! cache; that makes the digest itself a fit hash for the cache's table and frequency sketch.
//!
//! The hash is SHA-256 from aws-lc, which most server CPUs compute in hardware; a faster hash
//! chosen by CPU bought nothing `make bench` could measure (BENCHMARKS.md). It resists
//! collisions to 128 bits, which is what lets a digest match stand for a verified signature.
//!
//! SHA-256 is keyed by a secret 64-byte block hashed ahead of the token (the state after that
//! block is kept and copied per token), not by HMAC, whose second hash would add to every
//! lookup. HMAC's outer hash exists to stop length extension of a tag an attacker sees; a
//! digest here is never shown to anyone, and collision resistance does not depend on the key.

use std::hash::{Hash, Hasher};

use aws_lc_rs::digest::{Context, SHA256};

/// Turns tokens into [`TokenDigest`]s under one secret: SHA-256 that has already hashed it.
pub struct TokenDigester(Context);

/// The cache key of a token: its keyed hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigester {
    /// A digester under a fresh secret; `None` if the system's generator gives no secret.
    pub fn new() -> Option<Self> {
        let mut secret = [0; 64];
        aws_lc_rs::rand::fill(&mut secret).ok()?;
        Some(Self::keyed(&secret))
    }

    fn keyed(secret: &[u8; 64]) -> Self {
        let mut after_secret = Context::new(&SHA256);
        after_secret.update(secret);
        Self(after_secret)
    }

    pub fn digest(&self, token: &str) -> TokenDigest {
        let mut hash = self.0.clone();
        hash.update(token.as_bytes());
        let mut digest = [0; 32];
        digest.copy_from_slice(hash.finish().as_ref());
        TokenDigest(digest)
    }
}

/// Its first eight bytes are its hash: they are already uniform and secret.
impl Hash for TokenDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0[..8]);
    }
}

/// Takes what a [`TokenDigest`] writes as the hash, unchanged.
#[derive(Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0; 8];
        let len = bytes.len().min(8);
        word[..len].copy_from_slice(&bytes[..len]);
        self.0 = u64::from_le_bytes(word);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_keyed_by_its_secret() {
        let digester = TokenDigester::keyed(&[7; 64]);
        let expected = aws_lc_rs::digest::digest(&SHA256, &[[7; 64].as_slice(), b"a.b.c"].concat());
        assert_eq!(digester.digest("a.b.c").0, expected.as_ref());
        let other_secret = TokenDigester::keyed(&[8; 64]);
        assert!(other_secret.digest("a.b.c") != digester.digest("a.b.c"));
    }

    #[test]
    fn the_same_token_gives_the_same_digest_and_any_altered_byte_another() {
        let digester = TokenDigester::keyed(&[7; 64]);
        let digest = digester.digest("a.b.c");
        assert!(digest == digester.digest("a.b.c"));
        for altered in ["a.b.d", "a.b.c.", "A.b.c", ".b.c"] {
            assert!(digest != digester.digest(altered), "{altered}");
        }
    }

    #[test]
    fn digesters_draw_their_own_secrets() {
        let (one, other) = (TokenDigester::new().unwrap(), TokenDigester::new().unwrap());
        assert!(
            one.digest("a.b.c") != other.digest("a.b.c"),
            "a caller cannot compute where its token lands"
        );
    }

    #[test]
    fn a_digest_is_hashed_by_its_first_word() {
        let digest = TokenDigester::new().unwrap().digest("a.b.c");
        let mut hasher = DigestHasher::default();
        digest.hash(&mut hasher);
        let first_word = u64::from_le_bytes(digest.0[..8].try_into().unwrap());
        assert_eq!(hasher.finish(), first_word);
    }
}
