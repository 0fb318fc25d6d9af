//! What analysis says about each frame: its flow, expert flags, state transitions.
//!
//! Every output (text, JSON, charts, reports) consumes these values and nothing else.

use std::fmt;

use arrayvec::ArrayVec;
use serde::{Serialize, Serializer};

use super::{AnomalyNote, TcpState};

/// Which side of a connection an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the first SYN (or, mid-stream, the higher / ephemeral port).
    Client,
    Server,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Why an endpoint changed state: the segment and the RFC 9293 rule, in plain words.
///
/// An enum rather than free text so the report can say it in English or Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// CLOSED → SYN_SENT: active open.
    SentSyn,
    /// LISTEN → SYN_RECEIVED: a SYN arrived at a listening socket.
    ReceivedSyn,
    /// LISTEN → SYN_RECEIVED, inferred from the SYN-ACK because the SYN was not captured.
    SentSynAckSynUnseen,
    /// SYN_SENT → SYN_RECEIVED: the peer's SYN crossed ours.
    SimultaneousOpen,
    /// SYN_SENT → ESTABLISHED: SYN-ACK acknowledging our SYN.
    ReceivedSynAck,
    /// SYN_RECEIVED → ESTABLISHED: the ACK covers our SYN.
    AckOfSyn,
    /// ESTABLISHED → FIN_WAIT_1 or CLOSE_WAIT → LAST_ACK: we close.
    SentFin,
    /// ESTABLISHED → CLOSE_WAIT or FIN_WAIT_2 → TIME_WAIT: the peer closed.
    ReceivedFin,
    /// FIN_WAIT_1 → CLOSING: the peer's FIN crossed ours.
    SimultaneousClose,
    /// ESTABLISHED → FIN_WAIT_1, found out late: its FIN does not acknowledge the peer's
    /// earlier FIN, so it closed before that FIN reached it (after the CLOSE_WAIT inferred
    /// from capture order is withdrawn).
    FinCrossed,
    /// FIN_WAIT_1 → FIN_WAIT_2, CLOSING → TIME_WAIT, LAST_ACK → CLOSED: our FIN is acknowledged.
    AckOfFin,
    /// any → CLOSED: we aborted.
    SentRst,
    /// any → CLOSED: the peer aborted.
    ReceivedRst,
    /// SYN_SENT → CLOSED: the SYN was answered by RST: nobody listens on that port.
    Refused,
    /// SYN_SENT → CLOSED: its SYNs were never answered, and the capture ended (or the
    /// same port started over with a SYN of another ISN): the connect's retries ran
    /// out (a timer, so no segment shows it; attributed to its last SYN, the one no
    /// retransmission followed).
    ConnectTimedOut,
}

impl Why {
    /// The English explanation printed by `inspect` and written into JSON.
    pub fn text(self) -> &'static str {
        match self {
            Why::SentSyn => "sent SYN (active open)",
            Why::ReceivedSyn => "received SYN on a listening socket",
            Why::SentSynAckSynUnseen => "sent SYN-ACK (its SYN was not captured)",
            Why::SimultaneousOpen => "received SYN while in SYN_SENT (simultaneous open)",
            Why::ReceivedSynAck => "received SYN-ACK acknowledging its SYN",
            Why::AckOfSyn => "received ACK of its SYN",
            Why::SentFin => "sent FIN",
            Why::ReceivedFin => "received FIN",
            Why::SimultaneousClose => {
                "received FIN before its own FIN was acknowledged (simultaneous close)"
            }
            Why::FinCrossed => {
                "sent FIN before the peer's FIN reached it (its ACK does not cover that FIN)"
            }
            Why::AckOfFin => "received ACK covering its FIN",
            Why::SentRst => "sent RST (abort)",
            Why::ReceivedRst => "received RST",
            Why::Refused => "received RST answering its SYN (connection refused)",
            Why::ConnectTimedOut => "no answer to its SYN: the connect timed out",
        }
    }
}

impl Serialize for Why {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

/// One state change of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub endpoint: Role,
    /// The frame the change is attributed to (the segment sent or received).
    pub frame: u64,
    #[serde(skip)]
    pub ts_ns: u64,
    pub from: TcpState,
    pub to: TcpState,
    pub why: Why,
}

/// Why a transition already streamed was proved wrong by a later segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Withdrawn {
    /// A CLOSE_WAIT inferred from capture order: the endpoint's own FIN does not
    /// acknowledge the peer's FIN, so it closed before that FIN reached it.
    FinsCrossed,
    /// A state reached, by capture order, by receiving the peer's FIN (and any after
    /// it): the endpoint's RST does not acknowledge that FIN, so it aborted before
    /// the FIN reached it.
    ResetBeforeFin,
    /// A CLOSED inferred from capture order, the peer's RST received: the endpoint
    /// still sent a segment other than RST, so the RST was in flight when it did.
    ResetInFlight,
}

impl Withdrawn {
    /// The English explanation for `endpoint`, naming its peer: what `inspect`
    /// prints and writes as `why`.
    pub fn text(self, endpoint: Role) -> String {
        match self {
            Withdrawn::FinsCrossed => format!(
                "its FIN does not acknowledge the {}'s FIN: the FINs crossed",
                endpoint.peer()
            ),
            Withdrawn::ResetBeforeFin => format!(
                "its RST does not acknowledge the {}'s FIN: it aborted before that FIN arrived",
                endpoint.peer()
            ),
            Withdrawn::ResetInFlight => format!(
                "it still sent a segment: the {}'s RST had not reached it yet",
                endpoint.peer()
            ),
        }
    }
}

/// A correction: a transition streamed at an earlier frame is withdrawn, never edited away:
/// a late correction is a new record that points at the old one.
/// Replaying the stream with withdrawals applied gives the flow's transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    pub endpoint: Role,
    /// The withdrawn transition, as it was streamed.
    pub withdraws: Transition,
    pub why: Withdrawn,
}

impl Serialize for Withdrawal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Ref {
            frame: u64,
            from: TcpState,
            to: TcpState,
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("endpoint", &self.endpoint)?;
        let t = &self.withdraws;
        m.serialize_entry(
            "withdraws",
            &Ref {
                frame: t.frame,
                from: t.from,
                to: t.to,
            },
        )?;
        m.serialize_entry("why", &self.why.text(self.endpoint))?;
        m.end()
    }
}

/// For outputs drawn once the whole capture is analysed (charts, a ladder): removes
/// from each frame the transitions a later frame withdrew, and the withdrawals
/// themselves, so the frames tell the flow's final story. Streaming outputs
/// (`inspect`) must not use it: they print the withdrawal instead.
pub fn settle<'a>(frames: impl IntoIterator<Item = &'a mut FrameAnalysis>) {
    let mut frames: Vec<&mut FrameAnalysis> = frames.into_iter().collect();
    for i in 0..frames.len() {
        let (before, rest) = frames.split_at_mut(i);
        let here = &mut rest[0];
        for w in std::mem::take(&mut here.withdrawals) {
            let flow = here.flow;
            let earlier = before.iter_mut().rev().find_map(|a| {
                let at = a.transitions.iter().position(|t| *t == w.withdraws)?;
                (a.flow == flow).then_some((a, at))
            });
            if let Some((a, at)) = earlier {
                a.transitions.remove(at);
            }
        }
    }
}

/// Wireshark's TCP expert flags (Wireshark's `tcp.analysis.*` names), as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct AnalysisFlags(pub u16);

impl AnalysisFlags {
    pub const RETRANSMISSION: u16 = 1 << 0;
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    pub const DUPLICATE_ACK: u16 = 1 << 4;
    pub const ZERO_WINDOW: u16 = 1 << 5;
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 6;
    pub const WINDOW_FULL: u16 = 1 << 7;
    pub const LOST_SEGMENT: u16 = 1 << 8;
    pub const KEEP_ALIVE: u16 = 1 << 9;

    const NAMES: [(u16, &'static str); 10] = [
        (Self::RETRANSMISSION, "retransmission"),
        (Self::FAST_RETRANSMISSION, "fast_retransmission"),
        (Self::SPURIOUS_RETRANSMISSION, "spurious_retransmission"),
        (Self::OUT_OF_ORDER, "out_of_order"),
        (Self::DUPLICATE_ACK, "duplicate_ack"),
        (Self::ZERO_WINDOW, "zero_window"),
        (Self::ZERO_WINDOW_PROBE, "zero_window_probe"),
        (Self::WINDOW_FULL, "window_full"),
        (Self::LOST_SEGMENT, "lost_segment"),
        (Self::KEEP_ALIVE, "keep_alive"),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }

    pub fn set(&mut self, bit: u16) {
        self.0 |= bit;
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// True for any of the three retransmission kinds.
    pub fn is_retransmission(self) -> bool {
        self.has(Self::RETRANSMISSION | Self::FAST_RETRANSMISSION | Self::SPURIOUS_RETRANSMISSION)
    }

    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(bit, _)| self.has(*bit))
            .map(|(_, name)| name)
    }
}

impl Serialize for AnalysisFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// Everything analysis found out about one frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameAnalysis {
    /// The flow the frame belongs to (TCP connection or UDP stream).
    pub flow: Option<u64>,
    /// Which side sent it.
    pub sender: Option<Role>,
    /// Sequence number relative to the sender's initial sequence number.
    pub rel_seq: Option<u32>,
    /// Acknowledgment number relative to the receiver's initial sequence number.
    pub rel_ack: Option<u32>,
    pub flags: AnalysisFlags,
    /// For a duplicate ACK: how many duplicates of this ACK so far (Wireshark's "#n").
    pub dup_ack_count: u32,
    /// Wireshark's `tcp.analysis.ack_rtt`: on an ACK that yields an RTT sample, the time
    /// since the data it acknowledges was sent. That data is the peer's (the other side
    /// from `sender`), sent at this frame's time minus the sample. Retransmitted data
    /// (Karn's rule) and zero-window probes yield none. The flow's RTT statistics are
    /// these samples, so every output that shows RTT agrees with `flows`.
    pub rtt_ns: Option<u64>,
    /// With `rtt_ns`: the frame of the segment this ACK measured (Wireshark's
    /// `tcp.analysis.acks_frame`).
    pub acks_frame: Option<u64>,
    /// Wireshark's `tcp.analysis.bytes_in_flight` on a segment carrying data: the
    /// sender's bytes sent and not yet acknowledged (nor SACKed) at the capture
    /// point, this segment's included (see `flight.rs` for the exact rule).
    pub bytes_in_flight: Option<u32>,
    /// State changes this frame caused (or, for a SYN seen earlier, confirmed).
    pub transitions: ArrayVec<Transition, 6>,
    /// Earlier transitions this frame proves wrong; they come before `transitions`
    /// in the frame's story (JSON lists them first in `transitions`).
    pub withdrawals: ArrayVec<Withdrawal, 2>,
    /// Segments impossible in the state their endpoint was in.
    pub anomalies: ArrayVec<AnomalyNote, 4>,
    /// Another connection this frame proves over, and its last transition: a new
    /// SYN from a client port whose earlier SYNs nobody answered (with another ISN)
    /// shows the earlier connect timed out. That flow's, not this frame's.
    pub concluded: Option<(u64, Transition)>,
}

impl FrameAnalysis {
    /// Clears it for the next frame without rewriting the whole struct.
    pub fn reset(&mut self) {
        self.flow = None;
        self.sender = None;
        self.rel_seq = None;
        self.rel_ack = None;
        self.flags = AnalysisFlags::default();
        self.dup_ack_count = 0;
        self.rtt_ns = None;
        self.acks_frame = None;
        self.bytes_in_flight = None;
        self.transitions.clear();
        self.withdrawals.clear();
        self.anomalies.clear();
        self.concluded = None;
    }

    /// Records an anomaly once per endpoint and kind (one segment can be two events).
    pub fn note(&mut self, endpoint: Role, what: super::Anomaly) {
        let n = AnomalyNote { endpoint, what };
        if !self.anomalies.contains(&n) {
            let _ = self.anomalies.try_push(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settle_removes_what_later_frames_withdrew() {
        let t = |frame, to| Transition {
            endpoint: Role::Server,
            frame,
            ts_ns: frame,
            from: TcpState::Established,
            to,
            why: Why::ReceivedFin,
        };
        let mut frames = vec![FrameAnalysis::default(); 3];
        for a in &mut frames {
            a.flow = Some(1);
        }
        frames[0].transitions.push(t(7, TcpState::CloseWait));
        frames[1].transitions.push(t(7, TcpState::CloseWait));
        frames[1].flow = Some(2);
        frames[2].withdrawals.push(Withdrawal {
            endpoint: Role::Server,
            withdraws: t(7, TcpState::CloseWait),
            why: Withdrawn::FinsCrossed,
        });
        frames[2].transitions.push(t(8, TcpState::FinWait1));
        settle(frames.iter_mut());
        assert!(
            frames[0].transitions.is_empty(),
            "flow 1's CLOSE_WAIT is gone"
        );
        assert_eq!(frames[1].transitions.len(), 1, "flow 2's is not touched");
        assert!(frames[2].withdrawals.is_empty());
        assert_eq!(frames[2].transitions.len(), 1);
    }

    #[test]
    fn reset_clears_every_field() {
        let mut a = FrameAnalysis {
            flow: Some(1),
            sender: Some(Role::Server),
            rel_seq: Some(1),
            rel_ack: Some(2001),
            flags: AnalysisFlags(AnalysisFlags::DUPLICATE_ACK),
            dup_ack_count: 2,
            rtt_ns: Some(1_000_000),
            acks_frame: Some(1),
            bytes_in_flight: Some(2000),
            transitions: ArrayVec::new(),
            withdrawals: ArrayVec::new(),
            anomalies: ArrayVec::new(),
            concluded: None,
        };
        let t = Transition {
            endpoint: Role::Client,
            frame: 6,
            ts_ns: 0,
            from: TcpState::Established,
            to: TcpState::FinWait1,
            why: Why::SentFin,
        };
        a.transitions.push(t);
        a.withdrawals.push(Withdrawal {
            endpoint: Role::Client,
            withdraws: t,
            why: Withdrawn::FinsCrossed,
        });
        a.note(Role::Client, super::super::Anomaly::DataAfterFin);
        a.concluded = Some((3, t));
        a.reset();
        assert_eq!(a, FrameAnalysis::default());
    }
}
