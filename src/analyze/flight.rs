//! Bytes in flight per segment, as Wireshark computes `tcp.analysis.bytes_in_flight`
//! (tshark 4.0, its default "payload-based" method), in O(1) amortised per frame.
//!
//! Wireshark keeps, per direction, a list of every segment sent that carries data,
//! SYN or FIN (retransmissions too) and is not yet acknowledged. An ACK from the
//! peer removes each listed segment that ends at or before it, and trims the start
//! of each one it cuts (`seq := ack`). On a segment carrying data, bytes in flight
//! is the span of that list, highest end minus lowest start, minus the bytes the
//! SACK blocks of the peer's latest segment cover (none if it carried no SACK
//! option; a D-SACK block counts too), minus one for a SYN or FIN; it is
//! given only when that is above 0 and below 2 000 000 000, and not while the
//! direction is "invalid": from a segment that jumps past the next expected
//! sequence number ("previous segment not captured") until the peer sends an ACK.
//!
//! Wireshark walks the whole list on every frame. Here the list is two indexes:
//! segments sent in order (each starting and ending no earlier than the last one)
//! sit in a deque, where an ACK only ever touches the front; the few that do not
//! (retransmissions, reordering) sit in a `BTreeMap` ordered by their start. The
//! highest end over the list is simply the highest end sent since the list was
//! last empty: the segment holding it can only be removed by an ACK that removes
//! every segment.
//!
//! Sequence numbers are unwrapped to 64 bits against the direction's highest end,
//! so a transfer past 4 GiB keeps its order.

use std::collections::{BTreeMap, VecDeque};

/// Wireshark stops listing segments beyond this many unacknowledged ones.
const MAX_LISTED: usize = 10_000;
/// Wireshark gives no bytes in flight at or above this (a wrapped subtraction).
const IMPLAUSIBLE: u32 = 2_000_000_000;

/// The unacknowledged segments of one direction, as far as bytes in flight needs them.
#[derive(Debug, Clone)]
pub struct Flight {
    /// In-order segments: `(start, end)`, both non-decreasing front to back.
    ordered: VecDeque<(i64, i64)>,
    /// The others: `(start, id)` → end.
    others: BTreeMap<(i64, u64), i64>,
    next_id: u64,
    /// Highest end listed since the list was last empty.
    max_end: Option<i64>,
    /// Reference for unwrapping: the last unwrapped number seen.
    reference: Option<(u32, i64)>,
    /// False from a "previous segment not captured" until the peer's next ACK.
    valid: bool,
    /// Bytes the SACK blocks of this direction's latest segment cover (they name
    /// the other direction's bytes; D-SACK blocks too), as Wireshark sums them:
    /// edge differences mod 2^32. Zero when that segment had no SACK option.
    sacked: u32,
}

impl Default for Flight {
    fn default() -> Self {
        Flight {
            ordered: VecDeque::new(),
            others: BTreeMap::new(),
            next_id: 0,
            max_end: None,
            reference: None,
            valid: true,
            sacked: 0,
        }
    }
}

impl Flight {
    /// A 32-bit sequence number as a 64-bit one near the last seen.
    fn unwrap(&mut self, n: u32) -> i64 {
        let v = match self.reference {
            None => i64::from(n),
            Some((raw, wide)) => wide + i64::from(n.wrapping_sub(raw) as i32),
        };
        self.reference = Some((n, v));
        v
    }

    fn len(&self) -> usize {
        self.ordered.len() + self.others.len()
    }

    fn is_empty(&self) -> bool {
        self.ordered.is_empty() && self.others.is_empty()
    }

    /// Lists a segment sent in this direction covering `[seq, end)` (SYN and FIN
    /// counting one).
    fn list(&mut self, seq: u32, end: u32) {
        if self.len() >= MAX_LISTED {
            return;
        }
        let start = self.unwrap(seq);
        let end = start + i64::from(end.wrapping_sub(seq));
        if self.is_empty() {
            self.max_end = None;
        }
        self.max_end = Some(self.max_end.map_or(end, |m| m.max(end)));
        match self.ordered.back() {
            Some(&(s, e)) if start < s || end < e => {
                self.next_id += 1;
                self.others.insert((start, self.next_id), end);
            }
            _ => self.ordered.push_back((start, end)),
        }
    }

    /// The peer acknowledged up to `ack`: drop what ends at or before it, trim what it cuts.
    fn acknowledge(&mut self, ack: u32) {
        if self.is_empty() {
            return;
        }
        let Some((raw, wide)) = self.reference else {
            return;
        };
        // Unwrapped against the reference without moving it: an ACK is not a send.
        let ack = wide + i64::from(ack.wrapping_sub(raw) as i32);
        while self.ordered.front().is_some_and(|&(_, e)| e <= ack) {
            self.ordered.pop_front();
        }
        // Starts are non-decreasing, so the segments the ACK cuts lead the deque.
        for entry in self.ordered.iter_mut() {
            if entry.0 >= ack {
                break;
            }
            entry.0 = ack;
        }
        if self
            .others
            .first_key_value()
            .is_some_and(|(k, _)| k.0 < ack)
        {
            let rest = self.others.split_off(&(ack, 0));
            let cut = std::mem::replace(&mut self.others, rest);
            for ((_, id), end) in cut {
                if end > ack {
                    self.others.insert((ack, id), end);
                }
            }
        }
    }

    /// The listed span: highest end minus lowest start.
    fn span(&self) -> Option<u32> {
        let ordered = self.ordered.front().map(|e| e.0);
        let others = self.others.first_key_value().map(|(k, _)| k.0);
        let first = match (ordered, others) {
            (Some(a), Some(b)) => a.min(b),
            (one, None) | (None, one) => one?,
        };
        Some((self.max_end? - first) as u32)
    }
}

/// One segment as bytes in flight needs it.
#[derive(Debug, Clone, Copy)]
pub struct Sent<'a> {
    pub seq: u32,
    pub ack: u32,
    /// Payload length.
    pub len: u32,
    pub syn_or_fin: bool,
    pub ack_flag: bool,
    /// Wireshark flagged it "previous segment not captured".
    pub lost_before: bool,
    /// Its SACK blocks, raw edges.
    pub sack: &'a [(u32, u32)],
}

/// Processes one segment sent in direction `fwd` (`rev` is the other direction) in
/// Wireshark's order, and returns its bytes in flight when Wireshark gives one.
pub fn on_segment(fwd: &mut Flight, rev: &mut Flight, s: &Sent) -> Option<u32> {
    if s.ack_flag {
        // An ACK from this side makes the other side's figure valid again.
        rev.valid = true;
    }
    if s.lost_before {
        fwd.valid = false;
    }
    let end = s
        .seq
        .wrapping_add(s.len)
        .wrapping_add(u32::from(s.syn_or_fin));
    if s.len > 0 || s.syn_or_fin {
        fwd.list(s.seq, end);
    } else if fwd.reference.is_none() {
        // Anchor the unwrapping on the first segment even when it lists nothing.
        fwd.unwrap(s.seq);
    }
    // Wireshark acknowledges with the ACK field whatever the flags say.
    rev.acknowledge(s.ack);
    // Only the latest segment's SACK blocks count: one without them clears the sum.
    fwd.sacked = s
        .sack
        .iter()
        .fold(0u32, |sum, (l, r)| sum.wrapping_add(r.wrapping_sub(*l)));
    if s.len == 0 || !fwd.valid {
        return None;
    }
    let in_flight = fwd.span()?.wrapping_sub(rev.sacked);
    (in_flight > 0 && in_flight < IMPLAUSIBLE).then(|| in_flight - u32::from(s.syn_or_fin))
}

/// Running maximum and mean of the bytes in flight given for one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlightStats {
    pub max: u32,
    sum: u64,
    pub samples: u64,
}

impl FlightStats {
    pub fn add(&mut self, bytes: u32) {
        self.max = self.max.max(bytes);
        self.sum += u64::from(bytes);
        self.samples += 1;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.sum as f64 / self.samples as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(seq: u32, len: u32, ack: u32) -> Sent<'static> {
        Sent {
            seq,
            ack,
            len,
            syn_or_fin: false,
            ack_flag: true,
            lost_before: false,
            sack: &[],
        }
    }

    fn pure_ack(ack: u32) -> Sent<'static> {
        data(1, 0, ack)
    }

    // ---- the in-order case: span from the oldest unacknowledged byte ----

    #[test]
    fn in_order_data_grows_until_acknowledged() {
        let (mut c, mut s) = (Flight::default(), Flight::default());
        assert_eq!(on_segment(&mut c, &mut s, &data(1, 1000, 1)), Some(1000));
        assert_eq!(on_segment(&mut c, &mut s, &data(1001, 1000, 1)), Some(2000));
        assert_eq!(on_segment(&mut s, &mut c, &pure_ack(1001)), None);
        assert_eq!(on_segment(&mut c, &mut s, &data(2001, 1000, 1)), Some(2000));
        // A partial ACK trims the segment it cuts.
        assert_eq!(on_segment(&mut s, &mut c, &pure_ack(2501)), None);
        assert_eq!(on_segment(&mut c, &mut s, &data(3001, 500, 1)), Some(1000));
    }

    #[test]
    fn a_hole_disables_it_until_the_peer_acks_and_sack_is_subtracted() {
        let (mut c, mut s) = (Flight::default(), Flight::default());
        on_segment(&mut c, &mut s, &data(1, 1000, 1));
        let mut lost = data(2001, 1000, 1);
        lost.lost_before = true;
        assert_eq!(on_segment(&mut c, &mut s, &lost), None);
        assert_eq!(on_segment(&mut c, &mut s, &data(3001, 1000, 1)), None);
        let mut sack = pure_ack(1001);
        let blocks = [(2001, 4001)];
        sack.sack = &blocks;
        on_segment(&mut s, &mut c, &sack);
        // The retransmission: 1001..4001 listed, 2000 of it SACKed.
        assert_eq!(on_segment(&mut c, &mut s, &data(1001, 1000, 1)), Some(1000));
    }

    #[test]
    fn only_the_peers_latest_segment_sack_counts_and_fin_is_virtual() {
        // Checked against tshark 4.0.17 on hand-built captures.
        let (mut c, mut s) = (Flight::default(), Flight::default());
        on_segment(&mut c, &mut s, &data(1, 100, 1));
        let mut lost = data(201, 100, 1);
        lost.lost_before = true;
        on_segment(&mut c, &mut s, &lost);
        let mut sack = pure_ack(101);
        let blocks = [(201, 301)];
        sack.sack = &blocks;
        on_segment(&mut s, &mut c, &sack);
        // The peer's next segment carries no SACK: nothing is subtracted any more.
        on_segment(&mut s, &mut c, &pure_ack(101));
        let mut fin = data(301, 100, 1);
        assert_eq!(on_segment(&mut c, &mut s.clone(), &fin), Some(200));
        fin.syn_or_fin = true;
        assert_eq!(on_segment(&mut c, &mut s, &fin), Some(200));
    }

    #[test]
    fn a_retransmission_below_the_ack_stretches_the_span() {
        let (mut c, mut s) = (Flight::default(), Flight::default());
        on_segment(&mut c, &mut s, &data(1, 1000, 1));
        on_segment(&mut c, &mut s, &data(1001, 1000, 1));
        on_segment(&mut s, &mut c, &pure_ack(1001));
        // A spurious resend of 1..1001 is listed until the next ACK, as Wireshark does.
        assert_eq!(on_segment(&mut c, &mut s, &data(1, 1000, 1)), Some(2000));
        on_segment(&mut s, &mut c, &pure_ack(2001));
        assert_eq!(on_segment(&mut c, &mut s, &data(2001, 100, 1)), Some(100));
    }

    #[test]
    fn survives_the_sequence_space_wrapping() {
        let (mut c, mut s) = (Flight::default(), Flight::default());
        let start = u32::MAX - 499;
        assert_eq!(
            on_segment(&mut c, &mut s, &data(start, 1000, 1)),
            Some(1000)
        );
        assert_eq!(
            on_segment(&mut c, &mut s, &data(start.wrapping_add(1000), 1000, 1)),
            Some(2000)
        );
        on_segment(&mut s, &mut c, &pure_ack(start.wrapping_add(1000)));
        assert_eq!(
            on_segment(&mut c, &mut s, &data(start.wrapping_add(2000), 10, 1)),
            Some(1010)
        );
    }
}
