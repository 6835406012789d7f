//! Counters stored as little-endian 64-bit integers, with FoundationDB `ADD` semantics.

/// Decodes a little-endian counter value. Short values are zero-extended and bytes past the
/// eighth are ignored, as FoundationDB's `ADD` mutation treats them; an empty slice is 0.
pub fn decode_counter(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    i64::from_le_bytes(buf)
}

/// Encodes a counter value as 8 little-endian bytes.
pub fn encode_counter(value: i64) -> [u8; 8] {
    value.to_le_bytes()
}

/// Applies FDB `ADD` to an existing value (missing = 0); wraps on overflow like FDB.
pub(crate) fn add_to(existing: Option<&[u8]>, delta: i64) -> Vec<u8> {
    let base = existing.map_or(0, decode_counter);
    encode_counter(base.wrapping_add(delta)).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_tolerates_short_and_long_values() {
        assert_eq!(decode_counter(&[]), 0);
        assert_eq!(decode_counter(&[5]), 5);
        assert_eq!(decode_counter(&[0, 1]), 256);
        assert_eq!(decode_counter(&(-3i64).to_le_bytes()), -3);
        let mut long = 7i64.to_le_bytes().to_vec();
        long.extend_from_slice(&[9, 9]);
        assert_eq!(decode_counter(&long), 7);
    }

    #[test]
    fn add_treats_missing_as_zero_and_wraps() {
        assert_eq!(add_to(None, 4), 4i64.to_le_bytes().to_vec());
        assert_eq!(add_to(Some(&[1]), -2), (-1i64).to_le_bytes().to_vec());
        assert_eq!(
            add_to(Some(&i64::MAX.to_le_bytes()), 1),
            i64::MIN.to_le_bytes().to_vec()
        );
    }
}
