//! The two token alphabets checked on every request, over every byte of every token. Both fold
//! branch-free range tests over the bytes, which the compiler turns into SIMD (16 bytes at a
//! time), where a byte table would be looked up a byte at a time.

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
#[cfg(feature = "actix")]
pub fn is_b64token(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..body_len];
    !body.is_empty()
        && body
            .iter()
            .fold(true, |valid, &b| valid & is_b64token_byte(b))
}

/// One byte of the b64token alphabet, without branches (so that the fold above vectorizes).
#[cfg(feature = "actix")]
#[inline]
fn is_b64token_byte(b: u8) -> bool {
    // Setting bit 5 maps A–Z onto a–z and nothing else onto a–z.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    // `-`, `.`, `/` and the digits are one run of ASCII, 0x2D to 0x39: one test for the five.
    let dash_to_nine = b.wrapping_sub(b'-') < 13;
    letter | dash_to_nine | (b == b'_') | (b == b'~') | (b == b'+')
}

/// Unpadded base64url (RFC 4648 §5), as every segment of a compact JWS is (RFC 7515 §2).
pub fn is_base64url(segment: &[u8]) -> bool {
    segment
        .iter()
        .fold(true, |valid, &b| valid & is_base64url_byte(b))
}

/// One byte of the base64url alphabet, without branches, as [`is_b64token_byte`].
#[inline]
fn is_base64url_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'-') | (b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alphabet as a table, the plain statement the branch-free tests are checked against.
    fn alphanumerics_and(extra: &[u8]) -> [bool; 256] {
        std::array::from_fn(|byte| {
            let byte = byte as u8;
            byte.is_ascii_alphanumeric() || extra.contains(&byte)
        })
    }

    #[test]
    #[cfg(feature = "actix")]
    fn b64token_allows_its_alphabet_and_trailing_padding_only() {
        for token in ["abc", "a-b.c_d~e+f/g", "abc==", "A1"] {
            assert!(is_b64token(token.as_bytes()), "{token}");
        }
        for token in ["", "===", "a=b", "a b", "a,b", "ä"] {
            assert!(!is_b64token(token.as_bytes()), "{token}");
        }
    }

    #[test]
    #[cfg(feature = "actix")]
    fn the_branch_free_b64token_test_agrees_with_the_alphabet_on_every_byte() {
        let alphabet = alphanumerics_and(b"-._~+/");
        for byte in 0..=255u8 {
            assert_eq!(
                is_b64token_byte(byte),
                alphabet[usize::from(byte)],
                "{byte:#04x}"
            );
        }
    }

    #[test]
    fn the_branch_free_base64url_test_agrees_with_the_alphabet_on_every_byte() {
        let alphabet = alphanumerics_and(b"-_");
        for byte in 0..=255u8 {
            assert_eq!(
                is_base64url_byte(byte),
                alphabet[usize::from(byte)],
                "{byte:#04x}"
            );
        }
    }

    #[test]
    fn base64url_refuses_padding_and_the_standard_alphabet() {
        assert!(is_base64url(b"eyJhbGciOiJFZERTQSJ9-_"));
        for segment in ["a=", "a+b", "a/b", "a.b", "ä"] {
            assert!(!is_base64url(segment.as_bytes()), "{segment}");
        }
    }
}
