//! A token's key in the verified-token cache: a keyed hash of the whole token, so any altered
//! byte gives another key and the cache never holds the token itself. The hash is keyed with a
//! secret drawn at startup, so no caller can work out where a token of its own lands in the
//! cache; that makes the digest itself a fit hash for the cache's table and frequency sketch.
//!
//! The hash is whichever is faster on the CPU it runs on. Where the CPU computes SHA-256 in
//! hardware (x86's SHA extensions, Armv8's SHA2), SHA-256 from aws-lc, which is then faster
//! than BLAKE3. Elsewhere BLAKE3, as SHA-256 in software takes about twice its time. Both
//! resist collisions to 128 bits, which is what lets a digest match stand for a verified
//! signature.
//!
//! SHA-256 is keyed by a secret 64-byte block hashed ahead of the token (the state after that
//! block is kept and copied per token), not by HMAC, whose fixed cost would take back most of
//! the gain. HMAC's outer hash exists to stop length extension of a tag an
//! attacker sees; a digest here is never shown to anyone, and collision resistance does not
//! depend on the key at all.

use std::hash::{Hash, Hasher};

use aws_lc_rs::digest::{Context, SHA256};

/// Turns tokens into [`TokenDigest`]s under one secret.
pub struct TokenDigester(Keyed);

enum Keyed {
    /// SHA-256 that has already hashed the secret block.
    Sha256(Context),
    /// BLAKE3 in its keyed mode.
    Blake3([u8; blake3::KEY_LEN]),
}

/// The cache key of a token: its keyed hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigester {
    /// The faster hash on this CPU under a fresh secret; `None` if the system's generator gives
    /// no secret.
    pub fn new() -> Option<Self> {
        if sha256_in_hardware() {
            let mut secret = [0; 64];
            aws_lc_rs::rand::fill(&mut secret).ok()?;
            Some(Self::sha256(&secret))
        } else {
            let mut secret = [0; blake3::KEY_LEN];
            aws_lc_rs::rand::fill(&mut secret).ok()?;
            Some(Self(Keyed::Blake3(secret)))
        }
    }

    fn sha256(secret: &[u8; 64]) -> Self {
        let mut after_secret = Context::new(&SHA256);
        after_secret.update(secret);
        Self(Keyed::Sha256(after_secret))
    }

    /// The name of the hash in use, for the startup log.
    pub fn hash_name(&self) -> &'static str {
        match self.0 {
            Keyed::Sha256(_) => "SHA-256 (CPU instructions)",
            Keyed::Blake3(_) => "BLAKE3",
        }
    }

    pub fn digest(&self, token: &str) -> TokenDigest {
        match &self.0 {
            Keyed::Sha256(after_secret) => {
                let mut hash = after_secret.clone();
                hash.update(token.as_bytes());
                let mut digest = [0; 32];
                digest.copy_from_slice(hash.finish().as_ref());
                TokenDigest(digest)
            }
            Keyed::Blake3(secret) => {
                TokenDigest(*blake3::keyed_hash(secret, token.as_bytes()).as_bytes())
            }
        }
    }
}

/// Whether this CPU has SHA-256 instructions (which aws-lc then uses).
fn sha256_in_hardware() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return std::arch::is_x86_feature_detected!("sha");
    #[cfg(target_arch = "aarch64")]
    return std::arch::is_aarch64_feature_detected!("sha2");
    #[allow(unreachable_code)]
    false
}

impl TokenDigest {
    /// Eight bytes of the digest that its hash does not use, as uniform and secret: a short
    /// mark of the token, for the thread handles' admission.
    pub fn mark(&self) -> u64 {
        let mut word = [0; 8];
        word.copy_from_slice(&self.0[8..16]);
        u64::from_le_bytes(word)
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

    /// One digester of each hash, whatever this CPU has.
    fn both() -> [TokenDigester; 2] {
        [
            TokenDigester::sha256(&[7; 64]),
            TokenDigester(Keyed::Blake3([7; blake3::KEY_LEN])),
        ]
    }

    #[test]
    fn each_hash_is_keyed_by_its_secret() {
        let [sha256, blake3] = both();
        let expected = aws_lc_rs::digest::digest(&SHA256, &[[7; 64].as_slice(), b"a.b.c"].concat());
        assert_eq!(sha256.digest("a.b.c").0, expected.as_ref());
        assert_eq!(
            blake3.digest("a.b.c").0,
            *blake3::keyed_hash(&[7; 32], b"a.b.c").as_bytes()
        );
        let other_secret = TokenDigester::sha256(&[8; 64]);
        assert!(other_secret.digest("a.b.c") != sha256.digest("a.b.c"));
    }

    #[test]
    fn the_same_token_gives_the_same_digest_and_any_altered_byte_another() {
        for digester in both() {
            let digest = digester.digest("a.b.c");
            assert!(
                digest == digester.digest("a.b.c"),
                "{}",
                digester.hash_name()
            );
            for altered in ["a.b.d", "a.b.c.", "A.b.c", ".b.c"] {
                assert!(digest != digester.digest(altered), "{altered}");
            }
        }
    }

    #[test]
    fn digesters_of_this_cpu_draw_their_own_secrets() {
        let (one, other) = (TokenDigester::new().unwrap(), TokenDigester::new().unwrap());
        assert_eq!(one.hash_name(), other.hash_name());
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
