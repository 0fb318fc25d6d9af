//! Round-trip-time samples of one connection: the handshake and data → ACK.

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
}
