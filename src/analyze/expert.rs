//! Wireshark's TCP sequence analysis ("expert info"), per direction, and RTT samples.
//!
//! The rules and their order follow Wireshark's `tcp_analyze_sequence_number`:
//! zero-window probe, zero window, previous segment not captured, keep-alive,
//! window full, duplicate ACK, then the retransmission family (fast
//! retransmission, out-of-order, spurious retransmission, retransmission).

use std::collections::VecDeque;

use super::endpoint::Segment;
use super::seq::{seq_ge, seq_gt, seq_le, seq_lt};
use super::AnalysisFlags;

/// Wireshark's default out-of-order threshold when no RTT is known.
const OOO_THRESHOLD_NS: u64 = 3_000_000;
/// A retransmission within this time of the last duplicate ACK is "fast".
const FAST_RETRANSMIT_NS: u64 = 20_000_000;
/// Unacknowledged segments remembered for RTT samples, per direction.
const MAX_UNACKED: usize = 1024;

/// Sequence-analysis state of one direction (segments sent by one endpoint).
#[derive(Debug, Clone, Default)]
pub struct Direction {
    /// First sequence number seen (the ISN for a SYN), base of relative numbers.
    pub base: Option<u32>,
    /// Next sequence number expected (highest seq + len seen, SYN/FIN count one).
    nextseq: Option<u32>,
    /// The highest sequence number seen sent plus one, zero-window probes included:
    /// an ACK beyond it acknowledges bytes not seen sent.
    sent_max: Option<u32>,
    nextseq_ts: u64,
    /// Last acknowledgment number sent in this direction.
    lastack: Option<u32>,
    lastack_ts: u64,
    /// Last window field sent (unscaled) and whether one was seen.
    window: Option<u16>,
    dupacks: u32,
    /// Window scale from this direction's SYN; `None` when its SYN was not seen.
    wscale_offer: Option<u8>,
    saw_syn: bool,
    /// Scaling in force for this direction's window (set once both SYNs are seen).
    scale: Option<u8>,
    /// Segments awaiting acknowledgment, oldest first.
    unacked: VecDeque<Unacked>,
}

impl Direction {
    /// Relative form of a sequence number sent in this direction.
    pub fn relative(&self, seq: u32) -> Option<u32> {
        self.base.map(|b| seq.wrapping_sub(b))
    }

    fn scaled_window(&self) -> Option<u64> {
        Some(u64::from(self.window?) << self.scale?)
    }

    /// The bytes a window field sent in this direction offers: a SYN's is never
    /// scaled (RFC 7323); later ones are, once both SYNs were seen (else as on the wire).
    pub fn window_bytes(&self, window: u16, syn: bool) -> u64 {
        let shift = if syn { 0 } else { self.scale.unwrap_or(0) };
        u64::from(window) << shift
    }
}

/// A segment awaiting acknowledgment, for RTT samples.
#[derive(Debug, Clone, Copy)]
struct Unacked {
    end: u32,
    sent_ns: u64,
    frame: u64,
    /// Resent or out of order: Karn's rule takes no sample from it.
    retransmitted: bool,
    /// It carried payload (not only a SYN or FIN).
    data: bool,
}

/// An RTT sample: the ACK's time minus the acknowledged segment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttSample {
    pub ns: u64,
    /// The frame of the segment acknowledged (Wireshark's `tcp.analysis.acks_frame`).
    pub segment_frame: u64,
    /// The acknowledged segment carried payload (not only a SYN or FIN).
    pub data: bool,
}

/// What the analysis of one segment found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Verdict {
    pub flags: AnalysisFlags,
    pub dup_ack_count: u32,
    /// An ACK of a segment sent once: its round-trip time.
    pub rtt: Option<RttSample>,
    /// The ACK covers sequence numbers the other side was not seen sending.
    pub acks_unseen: bool,
}

/// Records the SYN options that decide window scaling (RFC 7323: both SYNs must carry WS).
pub fn note_syn(fwd: &mut Direction, rev: &mut Direction, wscale: Option<u8>) {
    fwd.saw_syn = true;
    fwd.wscale_offer = wscale;
    if rev.saw_syn {
        let both = fwd.wscale_offer.is_some() && rev.wscale_offer.is_some();
        fwd.scale = Some(if both {
            fwd.wscale_offer.unwrap_or(0).min(14)
        } else {
            0
        });
        rev.scale = Some(if both {
            rev.wscale_offer.unwrap_or(0).min(14)
        } else {
            0
        });
    }
}

/// Analyses one segment sent in direction `fwd`; `rev` is the opposite direction.
/// `rtt_hint_ns` is the handshake RTT, Wireshark's out-of-order threshold when known.
pub fn analyze(
    fwd: &mut Direction,
    rev: &mut Direction,
    seg: &Segment,
    window: u16,
    rtt_hint_ns: Option<u64>,
) -> Verdict {
    let mut v = Verdict::default();
    let f = seg.flags;
    let (seq, len, ts) = (seg.seq, seg.len, seg.ts_ns);
    let control = f.is_control();
    if fwd.base.is_none() {
        fwd.base = Some(seq);
    }
    let rev_window_zero = rev.window == Some(0);

    // ZERO WINDOW PROBE: one byte at the next expected sequence number into a zero window.
    if len == 1 && fwd.nextseq == Some(seq) && rev_window_zero {
        v.flags.set(AnalysisFlags::ZERO_WINDOW_PROBE);
    }
    // ZERO WINDOW: the sender advertises no room (SYN/FIN/RST never count).
    if window == 0 && !control {
        v.flags.set(AnalysisFlags::ZERO_WINDOW);
    }
    // PREVIOUS SEGMENT NOT CAPTURED: the sequence number jumps past the next expected one.
    if let Some(next) = fwd.nextseq {
        if seq_gt(seq, next) && !f.rst() {
            v.flags.set(AnalysisFlags::LOST_SEGMENT);
        }
    }
    // KEEP-ALIVE: zero or one byte, one below the next expected sequence number.
    let keep_alive = len <= 1 && !control && fwd.nextseq == Some(seq.wrapping_add(1));
    if keep_alive {
        v.flags.set(AnalysisFlags::KEEP_ALIVE);
    }
    // WINDOW FULL: data reaching exactly the right edge of the peer's advertised window.
    if len > 0 && !control {
        if let (Some(lastack), Some(win)) = (rev.lastack, rev.scaled_window()) {
            if u64::from(seq.wrapping_add(len).wrapping_sub(lastack)) == win {
                v.flags.set(AnalysisFlags::WINDOW_FULL);
            }
        }
    }
    // DUPLICATE ACK: nothing new — same window, seq and ack as this direction's last segment.
    let is_dup = len == 0
        && f.ack()
        && !control
        && window != 0
        && fwd.window == Some(window)
        && fwd.nextseq == Some(seq)
        && fwd.lastack == Some(seg.ack);
    if is_dup {
        fwd.dupacks += 1;
        v.dup_ack_count = fwd.dupacks;
        v.flags.set(AnalysisFlags::DUPLICATE_ACK);
    }
    // The retransmission family: a segment carrying sequence space that does not advance.
    let probe = v.flags.has(AnalysisFlags::ZERO_WINDOW_PROBE);
    if (len > 0 || f.syn() || f.fin()) && !f.rst() && !keep_alive && !probe {
        if let Some(next) = fwd.nextseq {
            if seq_lt(seq, next) {
                let since_dup = ts.saturating_sub(rev.lastack_ts);
                let since_next = ts.saturating_sub(fwd.nextseq_ts);
                let end = seq.wrapping_add(len);
                if rev.dupacks >= 2 && rev.lastack == Some(seq) && since_dup < FAST_RETRANSMIT_NS {
                    v.flags.set(AnalysisFlags::FAST_RETRANSMISSION);
                    v.flags.set(AnalysisFlags::RETRANSMISSION);
                } else if len > 0
                    && since_next < rtt_hint_ns.unwrap_or(OOO_THRESHOLD_NS)
                    && next != end
                {
                    v.flags.set(AnalysisFlags::OUT_OF_ORDER);
                } else if len > 0 && rev.lastack.is_some_and(|a| seq_le(end, a)) {
                    v.flags.set(AnalysisFlags::SPURIOUS_RETRANSMISSION);
                    v.flags.set(AnalysisFlags::RETRANSMISSION);
                } else {
                    v.flags.set(AnalysisFlags::RETRANSMISSION);
                }
            }
        }
    }

    // Advance the expected sequence number (zero-window probes do not advance it).
    let mut end = seq.wrapping_add(len);
    if f.syn() || f.fin() {
        end = end.wrapping_add(1);
    }
    if !f.rst() && !probe && fwd.nextseq.is_none_or(|next| seq_gt(end, next)) {
        fwd.nextseq = Some(end);
        fwd.nextseq_ts = ts;
    }
    if !f.rst() && fwd.sent_max.is_none_or(|max| seq_gt(end, max)) {
        fwd.sent_max = Some(end);
    }
    // Remember data for RTT; a retransmitted range is marked so Karn's rule can skip it.
    if len > 0 || f.syn() || f.fin() {
        if v.flags.is_retransmission() || v.flags.has(AnalysisFlags::OUT_OF_ORDER) {
            for entry in fwd.unacked.iter_mut().filter(|u| seq_lt(seq, u.end)) {
                entry.retransmitted = true;
            }
        } else if !probe {
            if fwd.unacked.len() == MAX_UNACKED {
                fwd.unacked.pop_front();
            }
            fwd.unacked.push_back(Unacked {
                end,
                sent_ns: ts,
                frame: seg.frame,
                retransmitted: false,
                data: len > 0,
            });
        }
    }
    // An ACK in this direction acknowledges the other direction's segments.
    if f.ack() {
        let ack = seg.ack;
        // ACKED UNSEEN (Wireshark's "ACKed segment that wasn't captured").
        v.acks_unseen = rev.sent_max.is_some_and(|max| seq_gt(ack, max));
        if fwd.lastack.is_none_or(|last| seq_gt(ack, last)) {
            while let Some(&u) = rev.unacked.front() {
                if !seq_ge(ack, u.end) {
                    break;
                }
                rev.unacked.pop_front();
                if u.end == ack && !u.retransmitted {
                    v.rtt = Some(RttSample {
                        ns: ts.saturating_sub(u.sent_ns),
                        segment_frame: u.frame,
                        data: u.data,
                    });
                }
            }
        }
        if !is_dup {
            fwd.dupacks = 0;
        }
        fwd.lastack = Some(ack);
        fwd.lastack_ts = ts;
    }
    fwd.window = Some(window);
    v
}
