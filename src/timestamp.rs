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

/// A compact UTC stamp for names, `20261123T125501Z`, from nanoseconds since the epoch.
pub fn utc_stamp(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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
        assert_eq!(utc_stamp(1_700_000_000_000_000_000), "20231114T221320Z");
        assert_eq!(utc_stamp(951_782_400_000_000_000), "20000229T000000Z");
    }
}
