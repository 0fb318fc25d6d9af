//! The lab's UDP probe header, and the per-direction counter that reads it.
//!
//! A probe datagram starts with a fixed 24-byte header, all fields big-endian:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     magic "PLAB" (0x504C4142)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          version (1)          |        flags (reserved, 0)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                sequence number (u64, first datagram 0)        |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             send time (u64, ns since the Unix epoch)          |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     any padding / data ...                    |
//! ```
//!
//! The sequence number is 64 bits and never wraps. Anything after the header is
//! ignored by the analysis, so a sender pads datagrams to the size it wants.
//!
//! [`ProbeCounter`] applies iperf3's loss and out-of-order rules, RFC 3550 jitter and
//! a one-way latency distribution to the probe datagrams of one direction, in
//! bounded memory however long the stream.

use serde::Serialize;

/// First four bytes of every probe datagram.
pub const PROBE_MAGIC: [u8; 4] = *b"PLAB";
/// The header version this code writes and reads.
pub const PROBE_VERSION: u16 = 1;
/// Length of the header in bytes.
pub const PROBE_HEADER_LEN: usize = 24;

/// The decoded probe header of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbeHeader {
    /// Sequence number: 0 for a stream's first datagram, then +1 per datagram sent.
    pub seq: u64,
    /// Sender's clock at send time, nanoseconds since the Unix epoch.
    pub send_ns: u64,
    /// Reserved: written as 0, ignored when read.
    pub flags: u16,
}

impl ProbeHeader {
    /// A header with no flags.
    pub fn new(seq: u64, send_ns: u64) -> Self {
        ProbeHeader {
            seq,
            send_ns,
            flags: 0,
        }
    }

    /// The header's 24 bytes.
    pub fn encode(&self) -> [u8; PROBE_HEADER_LEN] {
        let mut b = [0u8; PROBE_HEADER_LEN];
        b[0..4].copy_from_slice(&PROBE_MAGIC);
        b[4..6].copy_from_slice(&PROBE_VERSION.to_be_bytes());
        b[6..8].copy_from_slice(&self.flags.to_be_bytes());
        b[8..16].copy_from_slice(&self.seq.to_be_bytes());
        b[16..24].copy_from_slice(&self.send_ns.to_be_bytes());
        b
    }

    /// Writes the header at the start of `buf` (a datagram being built). Returns
    /// `None`, writing nothing, when `buf` is shorter than [`PROBE_HEADER_LEN`].
    pub fn encode_into(&self, buf: &mut [u8]) -> Option<()> {
        buf.get_mut(..PROBE_HEADER_LEN)?
            .copy_from_slice(&self.encode());
        Some(())
    }

    /// A datagram of `len` bytes (at least the header): the header, then zeros.
    pub fn datagram(&self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len.max(PROBE_HEADER_LEN)];
        v[..PROBE_HEADER_LEN].copy_from_slice(&self.encode());
        v
    }

    /// Reads the header at the start of a UDP payload. `None` for anything that is
    /// not a probe: shorter than the header, another magic, another version.
    pub fn decode(payload: &[u8]) -> Option<ProbeHeader> {
        let h = payload.get(..PROBE_HEADER_LEN)?;
        if h[0..4] != PROBE_MAGIC {
            return None;
        }
        if u16::from_be_bytes([h[4], h[5]]) != PROBE_VERSION {
            return None;
        }
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&h[i..i + 8]);
            u64::from_be_bytes(a)
        };
        Some(ProbeHeader {
            flags: u16::from_be_bytes([h[6], h[7]]),
            seq: u64_at(8),
            send_ns: u64_at(16),
        })
    }
}

/// How many recent sequence numbers the duplicate detector remembers. A copy of a
/// datagram arriving more than this many sequence numbers behind the highest seen
/// cannot be told from a late original and is counted as out of order.
pub const DUP_WINDOW: u64 = 65_536;
const DUP_WORDS: usize = (DUP_WINDOW / 64) as usize;
/// Latency samples kept for the percentiles (a uniform reservoir sample beyond this).
pub const LATENCY_RESERVOIR: usize = 4096;

/// The probe statistics of one direction of a UDP stream.
///
/// Counting rules, iperf3's (`iperf_udp_recv`), adapted to sequence numbers that
/// start at 0 and to duplicate detection:
///
/// - `expected` = highest sequence number seen + 1.
/// - A datagram whose sequence number is above the next expected one means the ones
///   in between were lost: `lost += seq - expected`, and `expected = seq + 1`.
/// - A datagram below the next expected one that was not seen before is late:
///   `out_of_order += 1`, and (as iperf3 does) `lost -= 1` (never below 0), since it
///   was counted lost when the gap was seen.
/// - A sequence number seen before (within the last [`DUP_WINDOW`] sequence
///   numbers) is a duplicate: `duplicates += 1`, and loss and order are untouched.
///   iperf3 has no duplicate detection and would count it out of order.
/// - `lost_percent` = `lost / expected × 100`.
///
/// Jitter is RFC 3550 §6.4.1's interarrival jitter over every probe datagram in
/// arrival order (as iperf3 computes it): with `R` the capture time and `S` the
/// header's send time, `D = (R_j − R_i) − (S_j − S_i)` for consecutive datagrams
/// and `J += (|D| − J) / 16`.
///
/// One-way latency is capture time − send time (meaningful when the sender and the
/// capture share a clock, as in the lab); min and max are exact, the percentiles come
/// from a reservoir of [`LATENCY_RESERVOIR`] samples (exact up to that many
/// datagrams), replaced with a fixed-seed generator so replays are reproducible.
#[derive(Debug, Clone)]
pub struct ProbeCounter {
    /// Probe datagrams received (duplicates included).
    pub received: u64,
    /// Highest sequence number seen.
    pub highest: Option<u64>,
    pub lost: u64,
    pub out_of_order: u64,
    pub duplicates: u64,
    /// RFC 3550 jitter estimate, nanoseconds.
    pub jitter_ns: f64,
    /// Transit time (R − S) of the previous datagram, nanoseconds.
    last_transit: Option<i128>,
    /// Bit `seq % DUP_WINDOW` set when `seq` (within the window) has been seen.
    seen: Box<[u64; DUP_WORDS]>,
    latency: Reservoir,
}

impl Default for ProbeCounter {
    fn default() -> Self {
        ProbeCounter {
            received: 0,
            highest: None,
            lost: 0,
            out_of_order: 0,
            duplicates: 0,
            jitter_ns: 0.0,
            last_transit: None,
            seen: Box::new([0; DUP_WORDS]),
            latency: Reservoir::default(),
        }
    }
}

impl ProbeCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sequence numbers expected so far: highest seen + 1 (0 before any).
    pub fn expected(&self) -> u64 {
        self.highest.map_or(0, |h| h.saturating_add(1))
    }

    /// Loss as a percentage of the expected datagrams.
    pub fn lost_percent(&self) -> f64 {
        match self.highest {
            None => 0.0,
            Some(h) => self.lost as f64 / (h as f64 + 1.0) * 100.0,
        }
    }

    fn bit(seq: u64) -> (usize, u64) {
        let i = seq % DUP_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    /// Forgets the window slots of the sequence numbers `from..=to` (about to be
    /// reused by numbers `DUP_WINDOW` higher).
    fn clear_range(&mut self, from: u64, to: u64) {
        if to - from >= DUP_WINDOW - 1 {
            self.seen.fill(0);
            return;
        }
        for s in from..=to {
            let (w, m) = Self::bit(s);
            self.seen[w] &= !m;
        }
    }

    /// Counts one probe datagram captured at `arrival_ns`.
    pub fn record(&mut self, header: &ProbeHeader, arrival_ns: u64) {
        self.received += 1;
        let seq = header.seq;
        match self.highest {
            Some(h) if seq <= h => {
                let in_window = h - seq < DUP_WINDOW;
                let (w, m) = Self::bit(seq);
                if in_window && self.seen[w] & m != 0 {
                    self.duplicates += 1;
                } else {
                    // Late: it was counted lost when the gap opened (iperf3's rule).
                    self.out_of_order += 1;
                    self.lost = self.lost.saturating_sub(1);
                    if in_window {
                        self.seen[w] |= m;
                    }
                }
            }
            prev => {
                let expected = prev.map_or(0, |h| h + 1);
                self.lost += seq - expected;
                self.clear_range(expected, seq);
                let (w, m) = Self::bit(seq);
                self.seen[w] |= m;
                self.highest = Some(seq);
            }
        }
        // RFC 3550 §6.4.1, in nanoseconds.
        let transit = i128::from(arrival_ns) - i128::from(header.send_ns);
        if let Some(prev) = self.last_transit {
            let d = (transit - prev).unsigned_abs() as f64;
            self.jitter_ns += (d - self.jitter_ns) / 16.0;
        }
        self.last_transit = Some(transit);
        self.latency.add(transit);
    }

    /// The statistics as written in `flows --json`.
    pub fn stats(&self) -> ProbeStats {
        ProbeStats {
            probes: self.received,
            expected: self.expected(),
            lost: self.lost,
            lost_percent: self.lost_percent(),
            out_of_order: self.out_of_order,
            duplicates: self.duplicates,
            jitter_ms: self.jitter_ns / 1e6,
            latency_ms: self.latency.summary(),
        }
    }
}

/// Fixed-size uniform sample of one-way latencies (Vitter's algorithm R) with exact
/// min and max.
#[derive(Debug, Clone)]
struct Reservoir {
    samples: Vec<i128>,
    seen: u64,
    min: i128,
    max: i128,
    rng: u64,
}

impl Default for Reservoir {
    fn default() -> Self {
        Reservoir {
            samples: Vec::new(),
            seen: 0,
            min: i128::MAX,
            max: i128::MIN,
            rng: 0x005E_ED0F_1AB5_u64,
        }
    }
}

impl Reservoir {
    /// splitmix64: small, fast, and the same on every run.
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn add(&mut self, v: i128) {
        self.seen += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if self.samples.len() < LATENCY_RESERVOIR {
            self.samples.push(v);
        } else {
            let j = self.next_u64() % self.seen;
            if let Some(slot) = self.samples.get_mut(j as usize) {
                *slot = v;
            }
        }
    }

    fn summary(&self) -> Option<LatencyMs> {
        if self.samples.is_empty() {
            return None;
        }
        let mut s = self.samples.clone();
        s.sort_unstable();
        let ms = |ns: i128| ns as f64 / 1e6;
        Some(LatencyMs {
            p50: ms(nearest_rank(&s, 50)),
            p99: ms(nearest_rank(&s, 99)),
            min: ms(self.min),
            max: ms(self.max),
        })
    }
}

/// The nearest-rank percentile of sorted, non-empty `s`: the smallest value with at
/// least `pct`% of the samples at or below it.
fn nearest_rank(s: &[i128], pct: usize) -> i128 {
    let rank = (pct * s.len()).div_ceil(100).max(1);
    s[rank - 1]
}

/// One-way latency in milliseconds (capture time − send time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
}

/// Probe statistics of one direction, as written in `flows --json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProbeStats {
    /// Probe datagrams received, duplicates included.
    pub probes: u64,
    /// Highest sequence number + 1.
    pub expected: u64,
    pub lost: u64,
    /// `lost / expected × 100`.
    pub lost_percent: f64,
    pub out_of_order: u64,
    pub duplicates: u64,
    /// RFC 3550 interarrival jitter, milliseconds.
    pub jitter_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<LatencyMs>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(c: &mut ProbeCounter, seqs: &[u64]) {
        for &s in seqs {
            let t = s.wrapping_mul(1_000);
            c.record(&ProbeHeader::new(s, t), t.wrapping_add(500));
        }
    }

    #[test]
    fn in_order_stream_has_no_loss() {
        let mut c = ProbeCounter::new();
        feed(&mut c, &(0..1000).collect::<Vec<_>>());
        let s = c.stats();
        assert_eq!((s.probes, s.expected, s.lost), (1000, 1000, 0));
        assert_eq!((s.out_of_order, s.duplicates), (0, 0));
        assert_eq!(s.jitter_ms, 0.0);
        assert_eq!(s.latency_ms.unwrap().p50, 0.0005);
    }

    #[test]
    fn iperf3_rules() {
        let mut c = ProbeCounter::new();
        // 2 and 3 lost, 4 duplicated, then 3 late (out of order, loss back down to 1).
        feed(&mut c, &[0, 1, 4, 5, 4, 3, 6]);
        assert_eq!((c.lost, c.out_of_order, c.duplicates), (1, 1, 1));
        assert_eq!(c.expected(), 7);
        // A stream that starts late: seqs before the first are lost.
        let mut c = ProbeCounter::new();
        feed(&mut c, &[3, 4]);
        assert_eq!((c.lost, c.expected()), (3, 5));
        // Loss never goes below zero: a late datagram from before the duplicate window
        // with no loss counted.
        let mut c = ProbeCounter::new();
        feed(&mut c, &(0..DUP_WINDOW + 5).collect::<Vec<_>>());
        feed(&mut c, &[0]);
        assert_eq!((c.lost, c.out_of_order, c.duplicates), (0, 1, 0));
    }

    #[test]
    fn sequence_numbers_are_64_bits_and_do_not_wrap() {
        let mut c = ProbeCounter::new();
        let big = u64::from(u32::MAX);
        // Crossing 2^32 is not a wrap: no loss, no reordering.
        feed(&mut c, &[0]);
        c.highest = Some(big - 2);
        feed(&mut c, &[big - 1, big, big + 1, big + 2]);
        assert_eq!((c.lost, c.out_of_order, c.duplicates), (0, 0, 0));
        assert_eq!(c.expected(), big + 3);
        // A jump far beyond the window is loss, and old numbers are late, not duplicates.
        feed(&mut c, &[big + 10 * DUP_WINDOW]);
        assert_eq!(c.lost, 10 * DUP_WINDOW - 3);
        feed(&mut c, &[big + 2]);
        assert_eq!((c.out_of_order, c.duplicates), (1, 0));
        // The largest sequence number does not overflow.
        feed(&mut c, &[u64::MAX, u64::MAX]);
        assert_eq!(c.duplicates, 1);
        assert_eq!(c.expected(), u64::MAX);
    }

    #[test]
    fn duplicate_window_is_fixed_size() {
        let mut c = ProbeCounter::new();
        let before = std::mem::size_of_val(&*c.seen);
        for s in 0..1_000_000u64 {
            let h = ProbeHeader::new(s, s * 1_000);
            c.record(&h, s * 1_000 + 10_000 + (s % 7) * 100);
            // Every 1000th datagram is duplicated right away.
            if s % 1000 == 0 {
                c.record(&h, s * 1_000 + 10_001);
            }
        }
        assert_eq!(std::mem::size_of_val(&*c.seen), before);
        assert_eq!(before, (DUP_WINDOW / 8) as usize);
        assert_eq!(c.latency.samples.len(), LATENCY_RESERVOIR);
        assert_eq!(c.latency.samples.capacity(), LATENCY_RESERVOIR);
        assert_eq!((c.lost, c.out_of_order, c.duplicates), (0, 0, 1000));
        // A copy within the window is still recognised after a million datagrams…
        c.record(&ProbeHeader::new(999_000, 0), 0);
        assert_eq!(c.duplicates, 1001);
        // …but one further back than the window is taken for a late original.
        c.record(&ProbeHeader::new(1_000, 0), 0);
        assert_eq!((c.duplicates, c.out_of_order), (1001, 1));
        let l = c.stats().latency_ms.unwrap();
        assert_eq!((l.min, l.max), (0.0, 0.0106));
    }

    #[test]
    fn header_round_trip_and_layout() {
        let h = ProbeHeader::new(0x0102_0304_0506_0708, 1_700_000_000_123_456_789);
        let b = h.encode();
        assert_eq!(&b[..8], b"PLAB\x00\x01\x00\x00");
        assert_eq!(&b[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(ProbeHeader::decode(&b), Some(h));
        assert_eq!(ProbeHeader::decode(&h.datagram(1200)), Some(h));
        assert_eq!(ProbeHeader::decode(&b[..23]), None);
        let mut short = [0u8; 10];
        assert_eq!(h.encode_into(&mut short), None);
        assert_eq!(short, [0; 10]);
    }
}
