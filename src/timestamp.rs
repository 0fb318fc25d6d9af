//! Nanosecond times printed as decimal seconds without floating-point loss.
//!
//! An `f64` cannot hold a Unix time to the nanosecond, so JSON gets the digits
//! written out: `1700000000.000123456`.

use std::fmt;

use serde::{Serialize, Serializer};

/// A time or duration in nanoseconds, shown as seconds with nine decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Seconds(pub u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A RawValue is emitted verbatim by serde_json: a JSON number with all nine digits.
        let raw = serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// Milliseconds with microsecond precision, for RTTs (`0.041`).
pub fn millis(ns: u64) -> f64 {
    (ns as f64 / 1_000.0).round() / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_all_nanosecond_digits() {
        let json = serde_json::to_string(&Seconds(1_700_000_000_000_123_456)).unwrap();
        assert_eq!(json, "1700000000.000123456");
        assert_eq!(millis(41_499), 0.041);
    }
}
