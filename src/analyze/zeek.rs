//! Zeek's `conn.log` codes: the `history` string and `conn_state`.
//!
//! History letters follow Zeek's `update_history`: upper case for the originator
//! (our client), lower case for the responder; most letters once per direction;
//! `s h f r` again when their sequence number changes; `c g t w` logarithmically
//! (at the 1st, 10th, 100th … occurrence). `conn_state` is Zeek's `conn_state()`
//! over Zeek's own per-endpoint states, which are driven by what each side *sent*.

use crate::decode::TcpFlags;

use super::seq::{seq_gt, seq_le, seq_lt};

use super::Role;

/// Zeek's per-endpoint TCP state (`TCP_INACTIVE` …), from what the endpoint sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeekEndpoint {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Longest history kept; repeated letters on hostile input stop here.
const MAX_HISTORY: usize = 256;

#[derive(Debug, Clone, Default)]
struct DirHistory {
    /// Letters already recorded once (bit per letter a–z).
    seen: u32,
    last_syn: Option<u32>,
    last_fin: Option<u32>,
    last_rst: Option<u32>,
    /// Counters and next thresholds for the logarithmic letters c g t w.
    counts: [(u32, u32); 4],
    /// Highest relative sequence number seen (Zeek's `LastSeq`).
    last_seq: Option<u32>,
    /// First byte of this direction's stream never captured, awaiting the peer's ACK.
    hole: Option<u32>,
}

/// What Zeek's TCP analyzer looks at in one segment (sequence numbers relative).
#[derive(Debug, Clone, Copy)]
pub struct ZeekSegment {
    pub flags: TcpFlags,
    pub rel_seq: u32,
    /// The acknowledgment, relative to the peer's initial sequence number.
    pub rel_ack: Option<u32>,
    /// Payload length per the IP header.
    pub len: u32,
    /// Payload bytes actually captured.
    pub captured: u32,
    pub window: u16,
}

/// The history and Zeek endpoint states of one connection.
#[derive(Debug, Clone, Default)]
pub struct ZeekTracker {
    pub history: String,
    dirs: [DirHistory; 2],
    pub orig: ZeekEndpoint,
    pub resp: ZeekEndpoint,
    /// Payload bytes sent by each side (Zeek's `orig_bytes` / `resp_bytes`, for REJ).
    sizes: [u64; 2],
}

fn idx(role: Role) -> usize {
    match role {
        Role::Client => 0,
        Role::Server => 1,
    }
}

impl ZeekTracker {
    fn add(&mut self, role: Role, letter: char) {
        if self.history.len() < MAX_HISTORY {
            self.history.push(if role == Role::Client {
                letter.to_ascii_uppercase()
            } else {
                letter
            });
        }
    }

    /// Zeek's `CheckHistory`: record `letter` the first time this direction shows it.
    /// Returns true when it had been seen before.
    fn check(&mut self, role: Role, letter: char) -> bool {
        self.check_as(role, letter, letter)
    }

    /// `check` where the "seen" mark is `mark`'s, shared by several letters.
    fn check_as(&mut self, role: Role, mark: char, letter: char) -> bool {
        let bit = 1u32 << (mark as u32 - 'a' as u32);
        let dir = &mut self.dirs[idx(role)];
        if dir.seen & bit != 0 {
            return true;
        }
        dir.seen |= bit;
        self.add(role, letter);
        false
    }

    /// Zeek's `HistoryThresh`: record at the 1st, 10th, 100th … occurrence.
    pub fn scaled(&mut self, role: Role, letter: char) {
        let slot = match letter {
            'c' => 0,
            'g' => 1,
            't' => 2,
            _ => 3,
        };
        let (count, threshold) = &mut self.dirs[idx(role)].counts[slot];
        if *threshold == 0 {
            *threshold = 1;
        }
        *count += 1;
        if *count == *threshold {
            *threshold = threshold.saturating_mul(10);
            self.add(role, letter);
        }
    }

    /// One TCP segment from `role`.
    pub fn tcp_segment(&mut self, role: Role, seg: &ZeekSegment) {
        let ZeekSegment {
            flags,
            rel_seq,
            len,
            window,
            ..
        } = *seg;
        self.sizes[idx(role)] += u64::from(len);
        let bits = (flags.0 & TcpFlags::CONTROL).count_ones();
        if bits > 1 {
            // Zeek: FIN+RST is "inconsistent", other combinations "multi-flag".
            if flags.fin() && flags.rst() {
                self.check(role, 'i');
            } else {
                self.check(role, 'q');
            }
        } else if bits == 1 {
            if flags.syn() {
                // S and H share one "SYN seen" mark: a SYN-ACK after our own SYN with the
                // same sequence number (simultaneous open) adds no letter.
                let code = if flags.ack() { 'h' } else { 's' };
                if self.check_as(role, 's', code) && self.dirs[idx(role)].last_syn != Some(rel_seq)
                {
                    self.add(role, code);
                }
                self.dirs[idx(role)].last_syn = Some(rel_seq);
            }
            if flags.fin() {
                // A FIN's sequence number comes after its data.
                let fin_seq = rel_seq.wrapping_add(len);
                if self.check(role, 'f') && self.dirs[idx(role)].last_fin != Some(fin_seq) {
                    self.add(role, 'f');
                }
                self.dirs[idx(role)].last_fin = Some(fin_seq);
            }
            if flags.rst() {
                if self.check(role, 'r') && self.dirs[idx(role)].last_rst != Some(rel_seq) {
                    self.add(role, 'r');
                }
                self.dirs[idx(role)].last_rst = Some(rel_seq);
            }
        } else if len > 0 {
            self.check(role, 'd');
        } else if flags.ack() {
            self.check(role, 'a');
        }
        self.retransmission_and_gaps(role, seg);
        if window == 0 && bits == 0 {
            self.scaled(role, 'w');
        }
        self.update_state(role, flags);
    }

    /// Zeek's own sequence view: payload at or below the highest sequence number seen
    /// is a retransmission (`t`); bytes never captured (a sequence hole, or payload cut
    /// by snaplen) become a content gap (`g`) once the peer acknowledges past them.
    fn retransmission_and_gaps(&mut self, role: Role, seg: &ZeekSegment) {
        let i = idx(role);
        let top = seg
            .rel_seq
            .wrapping_add(seg.len)
            .wrapping_add(u32::from(seg.flags.syn() || seg.flags.fin()));
        let last = self.dirs[i].last_seq;
        if seg.len > 0 {
            if last.is_some_and(|l| seq_le(seg.rel_seq.wrapping_add(seg.len), l)) {
                self.scaled(role, 't');
            }
            let dir = &mut self.dirs[i];
            let captured_end = seg.rel_seq.wrapping_add(seg.captured.min(seg.len));
            if dir
                .hole
                .is_some_and(|h| seq_le(seg.rel_seq, h) && seq_lt(h, captured_end))
            {
                dir.hole = None;
            }
            if dir.hole.is_none() {
                if let Some(l) = last.filter(|l| seq_gt(seg.rel_seq, *l)) {
                    dir.hole = Some(l);
                } else if seg.captured < seg.len {
                    dir.hole = Some(captured_end);
                }
            }
        }
        if last.is_none_or(|l| seq_gt(top, l)) && !seg.flags.rst() {
            self.dirs[i].last_seq = Some(top);
        }
        // This segment's ACK may pass a hole in the peer's stream.
        let peer = role.peer();
        if let (Some(ack), Some(hole)) = (seg.rel_ack, self.dirs[idx(peer)].hole) {
            if seg.flags.ack() && seq_gt(ack, hole) {
                self.dirs[idx(peer)].hole = None;
                self.scaled(peer, 'g');
            }
        }
    }

    /// One UDP datagram from `role`.
    pub fn udp_datagram(&mut self, role: Role, payload: u32) {
        self.sizes[idx(role)] += u64::from(payload);
        self.check(role, 'd');
        match role {
            Role::Client => self.orig = ZeekEndpoint::Established,
            Role::Server => self.resp = ZeekEndpoint::Established,
        }
    }

    /// Zeek's TCP analyzer state updates for the sending endpoint (and its peer).
    fn update_state(&mut self, role: Role, flags: TcpFlags) {
        let (me, peer) = match role {
            Role::Client => (&mut self.orig, &mut self.resp),
            Role::Server => (&mut self.resp, &mut self.orig),
        };
        if flags.rst() {
            *me = ZeekEndpoint::Reset;
        } else if flags.fin() {
            if *me != ZeekEndpoint::Reset {
                *me = ZeekEndpoint::Closed;
            }
        } else if flags.syn() && !flags.ack() {
            if *me == ZeekEndpoint::Inactive {
                *me = ZeekEndpoint::SynSent;
            }
        } else if flags.syn() {
            if matches!(*me, ZeekEndpoint::Inactive | ZeekEndpoint::SynSent) {
                *me = ZeekEndpoint::SynAckSent;
            }
        } else {
            match *me {
                ZeekEndpoint::Inactive => *me = ZeekEndpoint::Partial,
                ZeekEndpoint::SynSent | ZeekEndpoint::SynAckSent
                    if matches!(
                        *peer,
                        ZeekEndpoint::SynSent
                            | ZeekEndpoint::SynAckSent
                            | ZeekEndpoint::Established
                    ) =>
                {
                    *me = ZeekEndpoint::Established;
                    if matches!(*peer, ZeekEndpoint::SynSent | ZeekEndpoint::SynAckSent) {
                        *peer = ZeekEndpoint::Established;
                    }
                }
                _ => {}
            }
        }
    }

    /// Zeek's `conn_state()` for a TCP connection.
    pub fn tcp_conn_state(&self) -> &'static str {
        use ZeekEndpoint::*;
        let (os, rs) = (self.orig, self.resp);
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent) || (os == Reset && self.sizes == [0, 0]) {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_inactive {
                if history_is_rstos0(&self.history) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// Zeek's `conn_state()` for UDP: who sent anything.
    pub fn udp_conn_state(&self) -> &'static str {
        let o = self.orig != ZeekEndpoint::Inactive;
        let r = self.resp != ZeekEndpoint::Inactive;
        match (o, r) {
            (true, true) => "SF",
            (true, false) => "S0",
            (false, true) => "SHR",
            (false, false) => "OTH",
        }
    }
}

/// Zeek's pattern `/\^?S[^HAFGIQ]*R.*/`: a SYN, then a RST with no handshake in between.
fn history_is_rstos0(history: &str) -> bool {
    let h = history.strip_prefix('^').unwrap_or(history);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        if c == 'R' {
            return true;
        }
        if "HAFGIQ".contains(c) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(z: &mut ZeekTracker, role: Role, bits: u16, seq: u32, len: u32) {
        z.tcp_segment(
            role,
            &ZeekSegment {
                flags: TcpFlags(bits),
                rel_seq: seq,
                rel_ack: None,
                len,
                captured: len,
                window: 1000,
            },
        );
    }
    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const F: u16 = TcpFlags::FIN;
    const R: u16 = TcpFlags::RST;

    #[test]
    fn normal_connection_is_sf_with_classic_history() {
        let mut z = ZeekTracker::default();
        seg(&mut z, Role::Client, S, 0, 0);
        seg(&mut z, Role::Server, S | A, 0, 0);
        seg(&mut z, Role::Client, A, 1, 0);
        seg(&mut z, Role::Client, A, 1, 10);
        seg(&mut z, Role::Server, A, 1, 5);
        seg(&mut z, Role::Client, F | A, 11, 0);
        seg(&mut z, Role::Server, F | A, 6, 0);
        seg(&mut z, Role::Client, A, 12, 0);
        assert_eq!(z.history, "ShADdFf");
        assert_eq!(z.tcp_conn_state(), "SF");
    }

    #[test]
    fn refused_is_rej() {
        let mut z = ZeekTracker::default();
        seg(&mut z, Role::Client, S, 0, 0);
        seg(&mut z, Role::Server, R | A, 0, 0);
        assert_eq!(z.history, "Sr");
        assert_eq!(z.tcp_conn_state(), "REJ");
    }

    #[test]
    fn retransmitted_syn_with_same_seq_is_one_letter() {
        let mut z = ZeekTracker::default();
        seg(&mut z, Role::Client, S, 0, 0);
        seg(&mut z, Role::Client, S, 0, 0);
        assert_eq!(z.history, "S");
        assert_eq!(z.tcp_conn_state(), "S0");
        seg(&mut z, Role::Client, R, 1, 0);
        assert_eq!(z.tcp_conn_state(), "RSTOS0");
    }

    #[test]
    fn syn_ack_repeating_our_syn_adds_no_letter() {
        let mut z = ZeekTracker::default();
        seg(&mut z, Role::Client, S, 0, 0);
        seg(&mut z, Role::Server, S, 0, 0);
        seg(&mut z, Role::Client, S | A, 0, 0);
        seg(&mut z, Role::Server, S | A, 0, 0);
        assert_eq!(z.history, "Ss");
    }

    #[test]
    fn payload_at_or_below_the_highest_seq_is_retransmitted() {
        let mut z = ZeekTracker::default();
        seg(&mut z, Role::Client, A, 1, 100);
        seg(&mut z, Role::Client, A, 1, 100);
        seg(&mut z, Role::Client, A, 51, 50);
        assert_eq!(z.history, "DT");
    }

    #[test]
    fn logarithmic_letters_appear_at_1_10_100() {
        let mut z = ZeekTracker::default();
        for _ in 0..100 {
            z.scaled(Role::Server, 't');
        }
        assert_eq!(z.history, "ttt");
    }

    #[test]
    fn midstream_without_close_is_oth() {
        let mut z = ZeekTracker::default();
        seg(&mut z, Role::Client, A, 100, 10);
        seg(&mut z, Role::Server, A, 200, 0);
        assert_eq!(z.tcp_conn_state(), "OTH");
        assert_eq!(z.history, "Da");
    }
}
