//! Zeek-style connection uids (`CHhAvVGS1DHFjwGM9`): `C` and a base62 number.
//!
//! Zeek draws them at random per run; ours are a hash of the capture's name and
//! the flow number, so the same capture gives the same uids on every run and a
//! log written twice can be joined with itself.

use sha1::{Digest, Sha1};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base 62, most significant digit first (Zeek's digits and order).
fn base62(mut n: u128) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// The uid of flow `flow` of capture `capture`: 96 bits of a SHA-1, as Zeek's are 96 bits.
pub fn conn_uid(capture: &str, flow: u64) -> String {
    let mut h = Sha1::new();
    h.update(capture.as_bytes());
    h.update([0]);
    h.update(flow.to_be_bytes());
    let digest = h.finalize();
    let mut n = 0u128;
    for b in &digest[..12] {
        n = n << 8 | u128::from(*b);
    }
    format!("C{}", base62(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_stable_and_distinct() {
        let a = conn_uid("class/alice.pcap", 1);
        assert_eq!(a, conn_uid("class/alice.pcap", 1));
        assert_ne!(a, conn_uid("class/alice.pcap", 2));
        assert_ne!(a, conn_uid("class/bob.pcap", 1));
        assert!(a.starts_with('C') && a[1..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(base62(0), "0");
        assert_eq!(base62(62 * 62 + 61), "10z");
    }
}
