//! Mapping the trace clock onto CLOCK_REALTIME (the clock of pcap timestamps), from
//! calibration markers whose writing was bracketed by two wall-clock readings. Pure:
//! the brackets and the trace times the kernel gave the markers come in as values.

use std::collections::HashMap;

/// Maps the trace clock onto CLOCK_REALTIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockMap {
    /// CLOCK_REALTIME − trace clock.
    pub offset_ns: i128,
    pub uncertainty_ns: u64,
}

impl ClockMap {
    /// From calibration markers: `brackets[i]` = (realtime before, realtime after)
    /// writing marker `i`, `seen[i]` = the trace time the kernel gave it. The narrowest
    /// bracket gives the best estimate: its midpoint, ± half its width.
    pub fn calibrate(brackets: &[(u64, u64)], seen: &HashMap<u32, u64>) -> Option<ClockMap> {
        let (i, &(before, after)) = brackets
            .iter()
            .enumerate()
            .filter(|(i, _)| seen.contains_key(&(*i as u32)))
            .min_by_key(|(_, (b, a))| a.saturating_sub(*b))?;
        let trace = seen[&(i as u32)];
        let mid = (before as i128 + after as i128) / 2;
        Some(ClockMap {
            offset_ns: mid - trace as i128,
            uncertainty_ns: after.saturating_sub(before).div_ceil(2),
        })
    }

    pub fn to_realtime(self, trace_ns: u64) -> u64 {
        (trace_ns as i128 + self.offset_ns).clamp(0, u64::MAX as i128) as u64
    }
}
