//! Round-trip-time samples of one connection: the handshake and data → ACK, and the
//! retransmission-timeout estimator of RFC 6298 (Kurose & Ross's EstimatedRTT and
//! DevRTT) run over them.
//!
//! The estimator, per sample R (Karn's rule: no sample from a resent segment):
//! - the first sample sets EstimatedRTT = R and DevRTT = R/2;
//! - each later one sets DevRTT = (1 − β)·DevRTT + β·|EstimatedRTT − R|, then
//!   EstimatedRTT = (1 − α)·EstimatedRTT + α·R, with α = 1/8 and β = 1/4.
//!   DevRTT uses the EstimatedRTT from *before* this sample, as RFC 6298 §2.3
//!   orders it (the textbook prints the two formulas without fixing the order);
//! - RTO = EstimatedRTT + 4·DevRTT (the textbook's), and RFC 6298's, which rounds
//!   anything below 1 s up to 1 s (§2.4; the clock granularity G is taken as 0).
//!   Linux uses 200 ms as its floor instead of 1 s, so a capture's timeouts can be
//!   shorter than the RFC's value.

use serde::Serialize;

/// Running RTT statistics (no samples are stored, so memory stays constant).
#[derive(Debug, Clone, Copy, Default)]
pub struct RttStats {
    /// Wireshark's iRTT: from the (last) SYN to the ACK that completes the handshake.
    pub handshake_ns: Option<u64>,
    pub min_ns: Option<u64>,
    pub max_ns: Option<u64>,
    sum_ns: u128,
    pub samples: u64,
}

impl RttStats {
    pub fn add(&mut self, ns: u64) {
        self.min_ns = Some(self.min_ns.map_or(ns, |m| m.min(ns)));
        self.max_ns = Some(self.max_ns.map_or(ns, |m| m.max(ns)));
        self.sum_ns += u128::from(ns);
        self.samples += 1;
    }

    pub fn mean_ns(&self) -> Option<u64> {
        (self.samples > 0).then(|| (self.sum_ns / u128::from(self.samples)) as u64)
    }
}

const ALPHA: f64 = 1.0 / 8.0;
const BETA: f64 = 1.0 / 4.0;
/// RFC 6298's lower bound on the RTO (§2.4).
const RFC_MIN_RTO_NS: f64 = 1e9;

/// EstimatedRTT and DevRTT after the samples so far, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Estimator {
    state: Option<(f64, f64)>,
}

/// The estimator after one sample, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub sample_ns: f64,
    pub estimated_ns: f64,
    pub dev_ns: f64,
}

impl Estimate {
    /// The textbook's RTO: EstimatedRTT + 4·DevRTT.
    pub fn rto_ns(&self) -> f64 {
        self.estimated_ns + 4.0 * self.dev_ns
    }

    /// RFC 6298's RTO: the same, at least 1 s.
    pub fn rto_rfc6298_ns(&self) -> f64 {
        self.rto_ns().max(RFC_MIN_RTO_NS)
    }
}

impl Estimator {
    pub fn update(&mut self, sample_ns: u64) -> Estimate {
        let r = sample_ns as f64;
        let (est, dev) = match self.state {
            None => (r, r / 2.0),
            Some((est, dev)) => {
                let dev = (1.0 - BETA) * dev + BETA * (est - r).abs();
                ((1.0 - ALPHA) * est + ALPHA * r, dev)
            }
        };
        self.state = Some((est, dev));
        Estimate {
            sample_ns: r,
            estimated_ns: est,
            dev_ns: dev,
        }
    }
}

/// One row of the estimator table of `flows --json` (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RttRow {
    /// The data segment measured.
    pub segment_frame: u64,
    /// The ACK that acknowledged exactly its last byte.
    pub ack_frame: u64,
    pub sample_ms: f64,
    pub estimated_ms: f64,
    pub dev_ms: f64,
    /// EstimatedRTT + 4·DevRTT.
    pub rto_ms: f64,
    /// The same, at least 1000 ms (RFC 6298 §2.4).
    pub rto_rfc6298_ms: f64,
}

/// Rows kept per direction; the estimator itself runs over every sample.
pub const MAX_ROWS: usize = 100;

/// The estimator over one direction's data segments, and its first rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RttTable {
    estimator: Estimator,
    pub rows: Vec<RttRow>,
    /// Every sample, including those past the kept rows.
    pub samples: u64,
    /// The last sample's frames and estimate, made into a row only when asked
    /// ([`RttTable::last`]): most samples of a long transfer are never shown.
    last: Option<(u64, u64, Estimate)>,
}

impl RttTable {
    pub fn add(&mut self, segment_frame: u64, ack_frame: u64, sample_ns: u64) {
        let e = self.estimator.update(sample_ns);
        self.samples += 1;
        if self.rows.len() < MAX_ROWS {
            self.rows.push(row(segment_frame, ack_frame, &e));
        }
        self.last = Some((segment_frame, ack_frame, e));
    }

    /// The row of the last sample (the estimator's final state).
    pub fn last(&self) -> Option<RttRow> {
        self.last.map(|(s, a, e)| row(s, a, &e))
    }
}

fn row(segment_frame: u64, ack_frame: u64, e: &Estimate) -> RttRow {
    // Milliseconds, to the nanosecond.
    let ms = |ns: f64| ns.round() / 1e6;
    RttRow {
        segment_frame,
        ack_frame,
        sample_ms: ms(e.sample_ns),
        estimated_ms: ms(e.estimated_ns),
        dev_ms: ms(e.dev_ns),
        rto_ms: ms(e.rto_ns()),
        rto_rfc6298_ms: ms(e.rto_rfc6298_ns()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_mean_max() {
        let mut r = RttStats::default();
        for ns in [30, 10, 20] {
            r.add(ns);
        }
        assert_eq!(
            (r.min_ns, r.mean_ns(), r.max_ns, r.samples),
            (Some(10), Some(20), Some(30), 3)
        );
    }

    #[test]
    fn estimator_follows_rfc_6298() {
        let mut e = Estimator::default();
        let first = e.update(100);
        assert_eq!(
            (first.estimated_ns, first.dev_ns, first.rto_ns()),
            (100.0, 50.0, 300.0)
        );
        // DevRTT from the old EstimatedRTT: 0.75·50 + 0.25·|100 − 200| = 62.5.
        let second = e.update(200);
        assert_eq!((second.estimated_ns, second.dev_ns), (112.5, 62.5));
        assert_eq!(second.rto_ns(), 362.5);
        assert_eq!(second.rto_rfc6298_ns(), 1e9);
    }

    #[test]
    fn the_table_keeps_its_first_rows_and_the_last_state() {
        let mut t = RttTable::default();
        for i in 0..(MAX_ROWS as u64 + 5) {
            t.add(i, i + 1, 1_000_000);
        }
        assert_eq!((t.rows.len(), t.samples), (MAX_ROWS, MAX_ROWS as u64 + 5));
        assert_eq!(t.last().unwrap().segment_frame, MAX_ROWS as u64 + 4);
        assert_eq!(t.last().unwrap().estimated_ms, 1.0);
    }
}
