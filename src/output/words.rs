//! Numbers in English words: a count with its noun in the right number
//! ("1 frame", "2 frames") and a bit rate in the unit that keeps it readable
//! ("903 kbit/s", not "0.9 Mbit/s" or "0.0 Mbit/s").
//!
//! Every English sentence that prints a count or a rate goes through these two, so
//! a one-connection run does not say "1 connections". Chinese needs neither: its
//! nouns have no plural, and the report's Chinese text keeps its own wording.

use std::fmt::Display;

/// `n` and the noun for that many: `plural(1, "frame", "frames")` is "1 frame",
/// `plural(0, "frame", "frames")` is "0 frames" (English uses the plural for zero).
pub fn plural<N>(n: N, one: &str, many: &str) -> String
where
    N: Display + PartialEq + From<u8>,
{
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

/// The units of [`rate`], each 1000 times the one before (network rates are decimal).
const RATE_UNITS: [&str; 4] = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];

/// A rate in bits per second with three significant digits, in the largest unit
/// that keeps the number at 1 or more: 12 bit/s, 903 kbit/s, 1.00 Mbit/s, 9.41 Gbit/s.
pub fn rate(bits_per_second: f64) -> String {
    if !bits_per_second.is_finite() || bits_per_second <= 0.0 {
        return format!("0 {}", RATE_UNITS[0]);
    }
    let mut value = bits_per_second;
    let mut unit = 0;
    // 999.7 kbit/s would print as "1000 kbit/s": it is 1.00 Mbit/s.
    while value >= 999.5 && unit + 1 < RATE_UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let unit = RATE_UNITS[unit];
    if value >= 99.95 {
        format!("{value:.0} {unit}")
    } else if value >= 9.995 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

/// The rate of `bytes` in `nanos` nanoseconds, or `None` for an instant (no time, no rate).
pub fn rate_of(bytes: u64, nanos: u64) -> Option<String> {
    (nanos > 0).then(|| rate(bytes as f64 * 8.0 * 1e9 / nanos as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1u64, "frame", "frames"), "1 frame");
        assert_eq!(plural(0u64, "frame", "frames"), "0 frames");
        assert_eq!(plural(2usize, "connection", "connections"), "2 connections");
        assert_eq!(
            plural(1u32, "offline message", "offline messages"),
            "1 offline message"
        );
        assert_eq!(plural(11i64, "byte", "bytes"), "11 bytes");
        assert_eq!(plural(1usize, "address", "addresses"), "1 address");
    }

    #[test]
    fn a_rate_takes_the_unit_that_keeps_it_readable() {
        assert_eq!(rate(0.0), "0 bit/s");
        assert_eq!(rate(f64::NAN), "0 bit/s");
        assert_eq!(rate(0.5), "0.50 bit/s");
        assert_eq!(rate(12.0), "12.0 bit/s");
        assert_eq!(rate(800.0), "800 bit/s");
        assert_eq!(rate(38_640.0), "38.6 kbit/s");
        // The "0.9 Mbit/s" and "0.0 Mbit/s" of small flows.
        assert_eq!(rate(903_000.0), "903 kbit/s");
        assert_eq!(rate(999_700.0), "1.00 Mbit/s");
        assert_eq!(rate(1_000_000.0), "1.00 Mbit/s");
        assert_eq!(rate(19_620_000.0), "19.6 Mbit/s");
        assert_eq!(rate(9.41e9), "9.41 Gbit/s");
        assert_eq!(rate(2.5e12), "2500 Gbit/s");
    }

    #[test]
    fn rate_of_bytes_over_time() {
        // 237 bytes in 2.099 ms: the udp-daytime run's "0.9 Mbit/s".
        assert_eq!(rate_of(237, 2_099_000).as_deref(), Some("903 kbit/s"));
        // 539 bytes in 0.111 s: the one-client chat's "0.0 Mbit/s".
        assert_eq!(rate_of(539, 111_491_000).as_deref(), Some("38.7 kbit/s"));
        assert_eq!(rate_of(100, 0), None);
    }
}
