//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4), in one place.
//!
//! Every comparison of sequence or acknowledgment numbers in protolab goes through
//! these functions, so a connection that wraps past 4 294 967 295 keeps working.

/// `a < b` in sequence space.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

/// `a > b` in sequence space.
pub fn seq_gt(a: u32, b: u32) -> bool {
    seq_lt(b, a)
}

/// `a >= b` in sequence space.
pub fn seq_ge(a: u32, b: u32) -> bool {
    seq_le(b, a)
}

/// The later of two sequence numbers.
pub fn seq_max(a: u32, b: u32) -> u32 {
    if seq_gt(a, b) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_survive_wrap_around() {
        assert!(seq_lt(u32::MAX - 10, 5));
        assert!(seq_gt(5, u32::MAX - 10));
        assert!(seq_le(7, 7));
        assert_eq!(seq_max(u32::MAX, 3), 3);
        assert!(seq_lt(1, 2));
        assert!(!seq_lt(2, 1));
    }
}
