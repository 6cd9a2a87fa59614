//! The two token alphabets checked on every request, as byte tables: a lookup per byte is
//! cheaper than a chain of range tests, and the checks run over every byte of every token.

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
pub fn is_b64token(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..body_len];
    !body.is_empty() && body.iter().all(|&b| B64TOKEN[usize::from(b)])
}

/// Unpadded base64url (RFC 4648 §5), as every segment of a compact JWS is (RFC 7515 §2).
pub fn is_base64url(segment: &[u8]) -> bool {
    segment.iter().all(|&b| BASE64URL[usize::from(b)])
}

const B64TOKEN: [bool; 256] = alphanumerics_and(b"-._~+/");
const BASE64URL: [bool; 256] = alphanumerics_and(b"-_");

const fn alphanumerics_and(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u8).is_ascii_alphanumeric();
        byte += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_allows_its_alphabet_and_trailing_padding_only() {
        for token in ["abc", "a-b.c_d~e+f/g", "abc==", "A1"] {
            assert!(is_b64token(token.as_bytes()), "{token}");
        }
        for token in ["", "===", "a=b", "a b", "a,b", "ä"] {
            assert!(!is_b64token(token.as_bytes()), "{token}");
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
