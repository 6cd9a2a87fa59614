//! Random identifiers: 128 bits from the system's secure generator, hex-encoded, for values
//! that must not be guessed or collide (item ids, a development token's `jti`).

use std::fmt::Write;

/// 128 random bits as 32 lowercase hex digits, or `None` if the generator fails.
pub fn hex_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(bytes.iter().fold(String::with_capacity(32), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    }))
}

#[cfg(test)]
mod tests {
    use super::hex_id;

    #[test]
    fn ids_are_32_hex_digits_and_distinct() {
        let (a, b) = (hex_id().unwrap(), hex_id().unwrap());
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }
}
