//! Slow start, congestion avoidance and recovery of one sending direction,
//! inferred from the packets alone, with a rule simple enough to check by hand.
//!
//! The packets do not show the sender's congestion window, only what it let out:
//! bytes in flight, resends and the receiver's duplicate ACKs. The rule:
//!
//! 1. **Slow start** begins at the sender's first data segment.
//! 2. **Rounds.** A round lasts one RTT: it ends when the peer acknowledges the
//!    highest byte sent when it began. A round's flight is the largest bytes in
//!    flight of the segments sent in it.
//! 3. **Slow start → congestion avoidance** when a round's flight grew, but by less
//!    than half of the previous round's (slow start doubles it every round;
//!    congestion avoidance adds about one segment), once the previous round had at
//!    least two full-sized segments in flight (the largest segment the sender has
//!    sent; smaller flights are an application's messages, not a window). The
//!    phase starts at the first segment of that round. A round whose flight did
//!    not grow says nothing (the
//!    receive window or the application held the sender back, not the congestion
//!    window), so the phase stays.
//! 4. **Recovery** starts at a loss event: the peer's third duplicate ACK, or a
//!    resend (a segment below the highest sequence number sent), whichever comes
//!    first. It ends when the peer's ACK covers the highest byte sent when it
//!    began (NewReno's recovery point). Then:
//!    - after a loss announced by duplicate ACKs, **congestion avoidance** (fast
//!      recovery halves the window and goes on linearly);
//!    - after a resend with no duplicate ACK before it (a retransmission timeout,
//!      or a tail-loss probe), **slow start** again (a timeout resets the window
//!      to one segment and slow start climbs back to ssthresh).
//!
//! A sender limited by the application or the receive window can look like
//! congestion avoidance; the kernel's own congestion state (`tcp_probe`) is the
//! truth where it is available. Each direction keeps at most [`MAX_CHANGES`]
//! changes, so memory stays bounded; O(1) per frame.

use serde::Serialize;

use super::seq::{seq_ge, seq_gt};
use crate::timestamp::Seconds;

/// Changes kept per direction; later ones are counted, not listed.
pub const MAX_CHANGES: usize = 1000;

/// A congestion-control phase as the packets show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    SlowStart,
    CongestionAvoidance,
    Recovery,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::SlowStart => "slow start",
            Phase::CongestionAvoidance => "congestion avoidance",
            Phase::Recovery => "recovery",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Phase::SlowStart => "慢启动",
            Phase::CongestionAvoidance => "拥塞避免",
            Phase::Recovery => "恢复",
        }
    }
}

/// Where a phase began.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhaseChange {
    pub frame: u64,
    pub ts: Seconds,
    pub phase: Phase,
}

/// What a loss leads to once recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovering {
    /// Announced by duplicate ACKs: congestion avoidance next.
    Fast { point: u32 },
    /// A resend nobody asked for (a timeout): slow start next.
    Timeout { point: u32 },
}

/// The phase tracker of one sending direction.
#[derive(Debug, Clone, Default)]
pub struct Phases {
    pub changes: Vec<PhaseChange>,
    /// Every change, including those past `MAX_CHANGES`.
    pub count: u64,
    phase: Option<Phase>,
    recovering: Option<Recovering>,
    /// Highest sequence number sent plus one.
    high: Option<u32>,
    /// The current round: it ends when the ACK reaches `marker`.
    marker: Option<u32>,
    round_first: Option<(u64, u64)>,
    round_flight: u32,
    prev_flight: u32,
    /// The peer's duplicate ACKs since its ACK last advanced.
    dupacks: u32,
    /// The largest payload sent: the sender's MSS, as far as the packets show.
    mss: u32,
}

impl Phases {
    pub fn current(&self) -> Option<Phase> {
        self.phase
    }

    fn enter(&mut self, phase: Phase, frame: u64, ts_ns: u64) {
        if self.phase == Some(phase) {
            return;
        }
        self.phase = Some(phase);
        self.count += 1;
        if self.changes.len() < MAX_CHANGES {
            self.changes.push(PhaseChange {
                frame,
                ts: Seconds(ts_ns),
                phase,
            });
        }
    }

    fn start_recovery(&mut self, frame: u64, ts_ns: u64, timeout: bool) {
        if self.recovering.is_some() {
            return;
        }
        let point = self.high.unwrap_or(0);
        self.recovering = Some(if timeout {
            Recovering::Timeout { point }
        } else {
            Recovering::Fast { point }
        });
        self.enter(Phase::Recovery, frame, ts_ns);
        // Flights before the loss say nothing about the growth after it.
        self.marker = None;
        self.round_first = None;
        self.round_flight = 0;
        self.prev_flight = 0;
    }

    /// A data segment of `len` bytes ending at `end` sent in this direction;
    /// `resend` when it starts below the highest sequence number sent; `in_flight`
    /// its bytes in flight.
    pub fn on_send(
        &mut self,
        frame: u64,
        ts_ns: u64,
        (end, len): (u32, u32),
        resend: bool,
        in_flight: Option<u32>,
    ) {
        self.mss = self.mss.max(len);
        if self.phase.is_none() {
            self.enter(Phase::SlowStart, frame, ts_ns);
        }
        if resend {
            self.start_recovery(frame, ts_ns, self.dupacks == 0);
        }
        if self.high.is_none_or(|h| seq_gt(end, h)) {
            self.high = Some(end);
        }
        if self.recovering.is_none() {
            if self.marker.is_none() {
                self.marker = self.high;
            }
            self.round_first.get_or_insert((frame, ts_ns));
            self.round_flight = self.round_flight.max(in_flight.unwrap_or(0));
        }
    }

    /// An ACK from the peer; `dup_ack` is its duplicate-ACK count (Wireshark's #n, 0
    /// for an ACK that is not a duplicate).
    pub fn on_ack(&mut self, frame: u64, ts_ns: u64, ack: u32, dup_ack: u32) {
        if self.phase.is_none() {
            return;
        }
        if dup_ack > 0 {
            self.dupacks = dup_ack;
            if dup_ack >= 3 {
                self.start_recovery(frame, ts_ns, false);
            }
            return;
        }
        if let Some(r) = self.recovering {
            let (point, next) = match r {
                Recovering::Fast { point } => (point, Phase::CongestionAvoidance),
                Recovering::Timeout { point } => (point, Phase::SlowStart),
            };
            if seq_ge(ack, point) {
                self.recovering = None;
                self.dupacks = 0;
                self.enter(next, frame, ts_ns);
            }
            return;
        }
        self.dupacks = 0;
        let Some(marker) = self.marker else {
            return;
        };
        if !seq_ge(ack, marker) {
            return;
        }
        // The round is over: did the flight grow, and how fast?
        let (flight, prev) = (self.round_flight, self.prev_flight);
        if self.phase == Some(Phase::SlowStart)
            && u64::from(prev) >= 2 * u64::from(self.mss)
            && flight > prev
            && u64::from(flight) * 2 < u64::from(prev) * 3
        {
            if let Some((f, t)) = self.round_first {
                self.enter(Phase::CongestionAvoidance, f, t);
            }
        }
        if flight > 0 {
            self.prev_flight = flight;
        }
        self.round_flight = 0;
        self.round_first = None;
        // The next round ends with what is outstanding now, if anything is.
        self.marker = self.high.filter(|&h| seq_gt(h, ack));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    /// A sender that sends `flights` rounds, each all at once then acknowledged
    /// in full; returns the tracker and the next sequence number and frame.
    fn rounds(p: &mut Phases, flights: &[u32], mut seq: u32, mut frame: u64) -> (u32, u64) {
        for &segments in flights {
            for k in 1..=segments {
                frame += 1;
                p.on_send(frame, frame, (seq + MSS, MSS), false, Some(k * MSS));
                seq += MSS;
            }
            frame += 1;
            p.on_ack(frame, frame, seq, 0);
        }
        (seq, frame)
    }

    fn phases(p: &Phases) -> Vec<(u64, Phase)> {
        p.changes.iter().map(|c| (c.frame, c.phase)).collect()
    }

    // ---- slow start and congestion avoidance from flight growth ----

    #[test]
    fn doubling_is_slow_start_and_one_more_segment_a_round_is_avoidance() {
        let mut p = Phases::default();
        // Rounds of 1, 2, 4, 8 segments, then 9, 10: growth slows down at the 9.
        rounds(&mut p, &[1, 2, 4, 8, 9, 10], 1, 0);
        // Frames: 1 | 3 4 | 6..9 | 11..18 | 20..28: the round of 9 starts at 20.
        assert_eq!(
            phases(&p),
            vec![(1, Phase::SlowStart), (20, Phase::CongestionAvoidance)]
        );
    }

    #[test]
    fn a_flight_that_does_not_grow_says_nothing() {
        let mut p = Phases::default();
        rounds(&mut p, &[1, 2, 4, 4, 4, 2], 1, 0);
        assert_eq!(phases(&p), vec![(1, Phase::SlowStart)]);
    }

    // ---- recovery ----

    #[test]
    fn three_dup_acks_start_recovery_and_avoidance_follows() {
        let mut p = Phases::default();
        let (seq, mut frame) = rounds(&mut p, &[1, 2, 4], 1, 0);
        // Four segments out; the first is lost: three duplicate ACKs of `seq`.
        for k in 0..4 {
            frame += 1;
            p.on_send(frame, frame, (seq + (k + 1) * MSS, MSS), false, None);
        }
        for n in 1..=3 {
            frame += 1;
            p.on_ack(frame, frame, seq, n);
        }
        let third = frame;
        frame += 1;
        p.on_send(frame, frame, (seq + MSS, MSS), true, None);
        frame += 1;
        p.on_ack(frame, frame, seq + 4 * MSS, 0);
        assert_eq!(
            phases(&p),
            vec![
                (1, Phase::SlowStart),
                (third, Phase::Recovery),
                (frame, Phase::CongestionAvoidance)
            ]
        );
    }

    #[test]
    fn a_resend_without_dup_acks_is_a_timeout_and_slow_start_follows() {
        let mut p = Phases::default();
        let (seq, mut frame) = rounds(&mut p, &[1, 2], 1, 0);
        frame += 1;
        p.on_send(frame, frame, (seq + MSS, MSS), false, Some(MSS));
        frame += 1;
        p.on_send(frame, frame, (seq + MSS, MSS), true, Some(MSS));
        let resend = frame;
        // A partial ACK keeps recovery; the full one ends it.
        frame += 1;
        p.on_ack(frame, frame, seq + MSS / 2, 0);
        frame += 1;
        p.on_ack(frame, frame, seq + MSS, 0);
        assert_eq!(
            phases(&p),
            vec![
                (1, Phase::SlowStart),
                (resend, Phase::Recovery),
                (frame, Phase::SlowStart)
            ]
        );
    }
}
