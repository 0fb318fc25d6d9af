//! The TCP state diagram as one function: `transition(state, event) -> Step`.
//!
//! `endpoint.rs` turns each segment into one or two [`Event`]s per endpoint (what it
//! sent, or what it received: the ACK part first, then the FIN, as RFC 9293 §3.10.7.4
//! processes them). This module says what each event does in each state: one `match`
//! over both, one arm per arc of the diagram, each naming its RFC 9293 section. A
//! segment that cannot happen in a state is an [`Anomaly`], never a silent no-op.
//!
//! The arcs are also listed as data in [`ARCS`], for the state-diagram chart and the
//! scenarios' arc lists; a test enumerates every (state, event) pair and checks that
//! the match and the list agree exactly, so they cannot drift apart.

use super::anomaly::Anomaly;
use super::events::Withdrawn;
use super::{TcpState, Why};

/// What one segment means to one endpoint, in the terms of the state diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// It sent a SYN without ACK.
    SentSyn,
    /// It sent a SYN-ACK.
    SentSynAck,
    /// It sent its first FIN.
    SentFin,
    /// It sent its first FIN in CLOSE_WAIT, and that FIN's ACK does not cover the
    /// peer's FIN: it had not received that FIN yet (the FINs crossed).
    SentFinCrossed,
    /// It sent its FIN again (a retransmission).
    SentFinAgain,
    /// It sent data with sequence numbers beyond its own FIN.
    SentDataAfterFin,
    /// It sent data or an ACK (no SYN, FIN or RST).
    SentSegment,
    /// It sent a RST.
    SentRst,
    /// It received a SYN without ACK.
    ReceivedSyn,
    /// It received a SYN-ACK acknowledging exactly its SYN (ISS + 1).
    ReceivedSynAckOfSyn,
    /// It received a SYN-ACK that does not acknowledge its SYN.
    ReceivedSynAck,
    /// It received an ACK covering its SYN (in LISTEN with a SYN held: the peer
    /// acknowledges the SYN-ACK the capture missed).
    ReceivedAckOfSyn,
    /// It received an ACK covering its FIN.
    ReceivedAckOfFin,
    /// It received a segment whose ACK covers neither its SYN nor its FIN (or has no ACK).
    ReceivedAck,
    /// It received a FIN (after the segment's ACK was processed).
    ReceivedFin,
    /// It received a RST.
    ReceivedRst,
    /// No segment: the capture ended with its SYNs never answered (the peer sent
    /// nothing at all), so its connect's retransmission timer ran out. The one event
    /// that an absence means; [`super::Analyzer::conclude`] makes it.
    SynsUnanswered,
}

impl Event {
    /// Every event, for tables and the exhaustive test.
    pub const ALL: [Event; 17] = [
        Event::SentSyn,
        Event::SentSynAck,
        Event::SentFin,
        Event::SentFinCrossed,
        Event::SentFinAgain,
        Event::SentDataAfterFin,
        Event::SentSegment,
        Event::SentRst,
        Event::ReceivedSyn,
        Event::ReceivedSynAckOfSyn,
        Event::ReceivedSynAck,
        Event::ReceivedAckOfSyn,
        Event::ReceivedAckOfFin,
        Event::ReceivedAck,
        Event::ReceivedFin,
        Event::ReceivedRst,
        Event::SynsUnanswered,
    ];

    /// A short label for an arc of the diagram ("rcv FIN").
    pub fn label(self) -> &'static str {
        match self {
            Event::SentSyn => "snd SYN",
            Event::SentSynAck => "snd SYN-ACK",
            Event::SentFin => "snd FIN",
            Event::SentFinCrossed => "snd FIN (FINs crossed)",
            Event::SentFinAgain => "snd FIN again",
            Event::SentDataAfterFin => "snd data after FIN",
            Event::SentSegment => "snd data/ACK",
            Event::SentRst => "snd RST",
            Event::ReceivedSyn => "rcv SYN",
            Event::ReceivedSynAckOfSyn => "rcv SYN-ACK of SYN",
            Event::ReceivedSynAck => "rcv SYN-ACK",
            Event::ReceivedAckOfSyn => "rcv ACK of SYN",
            Event::ReceivedAckOfFin => "rcv ACK of FIN",
            Event::ReceivedAck => "rcv ACK",
            Event::ReceivedFin => "rcv FIN",
            Event::ReceivedRst => "rcv RST",
            Event::SynsUnanswered => "timeout (no answer to SYN)",
        }
    }
}

/// Which frame a move is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The segment being processed.
    Segment,
    /// The SYN held in LISTEN, now known to have been accepted (or, when no SYN
    /// was captured, the segment, with `Why::SentSynAckSynUnseen`).
    HeldSyn,
}

/// One arc taken: the new state, why, and the RFC 9293 section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub to: TcpState,
    pub why: Why,
    pub rfc: &'static str,
    pub at: At,
}

/// What an event does to an endpoint in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Normal, and nothing changes (data, ACKs, retransmissions, keep-alives).
    Stay,
    /// Take an arc of the diagram. With `At::HeldSyn` the event is then processed
    /// again in the new state (the SYN-ACK or ACK that revealed the accepted SYN).
    Go(Move),
    /// LISTEN + SYN: hold it; only the answer tells whether anyone listens.
    HoldSyn,
    /// The endpoint never listened: its initial state was CLOSED. The event is then
    /// processed from CLOSED (and a held SYN after it). Nothing was streamed for an
    /// endpoint still in LISTEN, so this contradicts no earlier output.
    NeverListened,
    /// The endpoint's last transition is proved wrong: withdraw it (the stream says
    /// so), process the event from the state before it, then the withdrawn
    /// transition's cause, which happened after this segment.
    Withdraw(Withdrawn),
    /// The segment cannot happen in this state.
    Anomaly(Anomaly),
}

const fn go(to: TcpState, why: Why, rfc: &'static str) -> Step {
    Step::Go(Move {
        to,
        why,
        rfc,
        at: At::Segment,
    })
}

/// The state diagram: what `event` does to an endpoint in `state`.
pub fn transition(state: TcpState, event: Event) -> Step {
    use Event::*;
    use TcpState::*;
    match (state, event) {
        // ---- the one timer the packets can show ---------------------------------------
        // 3.8.3 / 3.10.8: the SYN's retransmissions ran out unanswered: the connect fails
        // (ETIMEDOUT) and the TCB is deleted, without a segment.
        (SynSent, SynsUnanswered) => go(Closed, Why::ConnectTimedOut, "3.8.3"),
        // 3.8.3: only a connect in SYN-SENT has SYN retransmissions to run out.
        (_, SynsUnanswered) => Step::Stay,

        // ---- arcs that abort: RST -------------------------------------------------
        // 3.10.7.1 CLOSED: a segment to a closed port is answered with RST; nothing changes.
        (Closed, SentRst) => Step::Stay,
        // 3.10.7.1: a RST reaching a CLOSED endpoint is discarded.
        (Closed, ReceivedRst) => Step::Stay,
        // 3.10.7.1: a SYN answered by RST: no socket listened; the port was CLOSED all along.
        (Listen, SentRst) => Step::NeverListened,
        // 3.10.7.2 LISTEN: an incoming RST is ignored.
        (Listen, ReceivedRst) => Step::Stay,
        // 3.10.7.3 SYN-SENT: a RST acknowledging our SYN: connection refused.
        (SynSent, ReceivedRst) => go(Closed, Why::Refused, "3.10.7.3"),
        // 3.10.7.4 (second check), any synchronized state and TIME-WAIT (as Linux, without
        // RFC 1337): a valid RST deletes the TCB. SYN-RECEIVED goes to CLOSED too: the
        // listening socket is another socket.
        (_, ReceivedRst) => go(Closed, Why::ReceivedRst, "3.10.7.4"),
        // 3.10.5 ABORT: sending RST deletes the TCB.
        (_, SentRst) => go(Closed, Why::SentRst, "3.10.5"),

        // ---- CLOSED / LISTEN: opening -----------------------------------------------
        // 3.10.1 OPEN, active: send SYN, enter SYN-SENT.
        (Closed, SentSyn) => go(SynSent, Why::SentSyn, "3.10.1"),
        // 3.10.7.1: a CLOSED endpoint only answers with RST; it sends nothing else.
        (Closed, SentSynAck | SentFin | SentFinCrossed | SentFinAgain | SentDataAfterFin)
        | (Closed, SentSegment) => Step::Anomaly(Anomaly::SentWhileClosed),
        // 3.10.7.1: whatever reaches a CLOSED endpoint is answered with RST.
        (Closed, _) => Step::Stay,
        // 3.10.1 OPEN: a "server" that sends a SYN opened actively; it never listened.
        (Listen, SentSyn) => Step::NeverListened,
        // 3.10.7.2 LISTEN + SYN: send SYN-ACK, enter SYN-RECEIVED, known from the SYN-ACK.
        (Listen, SentSynAck) => Step::Go(Move {
            to: SynReceived,
            why: Why::ReceivedSyn,
            rfc: "3.10.7.2",
            at: At::HeldSyn,
        }),
        // 3.10.7.2 LISTEN: the SYN's fate is unknown until the answer.
        (Listen, ReceivedSyn) => Step::HoldSyn,
        // 3.10.7.2 then 3.10.7.4: the peer acknowledges a SYN-ACK the capture missed.
        (Listen, ReceivedAckOfSyn) => Step::Go(Move {
            to: SynReceived,
            why: Why::ReceivedSyn,
            rfc: "3.10.7.2",
            at: At::HeldSyn,
        }),
        // 3.10.7.2 LISTEN: a listening socket sends only SYN-ACK or RST.
        (Listen, SentFin | SentFinCrossed | SentFinAgain | SentDataAfterFin | SentSegment) => {
            Step::Anomaly(Anomaly::SentBeforeOpen)
        }
        // 3.10.7.2 LISTEN: any ACK, FIN or SYN-ACK reaching a listening socket is bad.
        (Listen, _) => Step::Anomaly(Anomaly::ReceivedBeforeOpen),

        // ---- SYN-SENT ----------------------------------------------------------------
        // 3.10.7.3 SYN-SENT: a SYN-ACK acknowledging ISS+1: ESTABLISHED.
        (SynSent, ReceivedSynAckOfSyn) => go(Established, Why::ReceivedSynAck, "3.10.7.3"),
        // 3.10.7.3 SYN-SENT: a SYN without ACK: the SYNs crossed, SYN-RECEIVED.
        (SynSent, ReceivedSyn) => go(SynReceived, Why::SimultaneousOpen, "3.10.7.3"),
        // 3.10.7.3 SYN-SENT: an ACK outside ISS+1 is unacceptable.
        (SynSent, ReceivedSynAck) => Step::Anomaly(Anomaly::SynAckNotForItsSyn),
        // 3.10.7.3 SYN-SENT: neither SYN nor RST: the segment is dropped.
        (SynSent, ReceivedAckOfSyn | ReceivedAckOfFin | ReceivedAck | ReceivedFin) => {
            Step::Anomaly(Anomaly::ReceivedBeforeOpen)
        }
        // 3.8.1 retransmission timeout: the SYN again.
        (SynSent, SentSyn) => Step::Stay,
        // 3.10.7.3: a SYN-ACK from SYN-SENT answers a peer SYN the capture missed.
        (SynSent, SentSynAck) => Step::Stay,
        // 3.10.7.3 SYN-SENT: no data or FIN before the SYN-ACK arrives.
        (SynSent, _) => Step::Anomaly(Anomaly::SentBeforeOpen),

        // ---- SYN-RECEIVED ------------------------------------------------------------
        // 3.10.7.4 (fifth check) SYN-RECEIVED: an ACK of our SYN: ESTABLISHED.
        (SynReceived, ReceivedAckOfSyn | ReceivedSynAckOfSyn) => {
            go(Established, Why::AckOfSyn, "3.10.7.4")
        }
        // 3.10.4 CLOSE in SYN-RECEIVED: send FIN, enter FIN-WAIT-1.
        (SynReceived, SentFin) => go(FinWait1, Why::SentFin, "3.10.4"),
        // 3.10.7.4 (eighth check) SYN-RECEIVED + FIN: CLOSE-WAIT.
        (SynReceived, ReceivedFin) => go(CloseWait, Why::ReceivedFin, "3.10.7.4"),

        // ---- ESTABLISHED ----------------------------------------------------------------
        // 3.10.4 CLOSE in ESTABLISHED: send FIN, enter FIN-WAIT-1.
        (Established, SentFin) => go(FinWait1, Why::SentFin, "3.10.4"),
        // 3.10.4 CLOSE in ESTABLISHED, found out late: the FIN left before the peer's arrived.
        (Established, SentFinCrossed) => go(FinWait1, Why::FinCrossed, "3.10.4"),
        // 3.10.7.4 (eighth check) ESTABLISHED + FIN: CLOSE-WAIT.
        (Established, ReceivedFin) => go(CloseWait, Why::ReceivedFin, "3.10.7.4"),

        // ---- FIN-WAIT-1 / FIN-WAIT-2 --------------------------------------------------
        // 3.10.7.4 (fifth check) FIN-WAIT-1 + ACK of our FIN: FIN-WAIT-2.
        (FinWait1, ReceivedAckOfFin) => go(FinWait2, Why::AckOfFin, "3.10.7.4"),
        // 3.10.7.4 (eighth check) FIN-WAIT-1 + FIN not acknowledging ours: CLOSING.
        (FinWait1, ReceivedFin) => go(Closing, Why::SimultaneousClose, "3.10.7.4"),
        // 3.10.7.4 (eighth check) FIN-WAIT-2 + FIN: TIME-WAIT.
        (FinWait2, ReceivedFin) => go(TimeWait, Why::ReceivedFin, "3.10.7.4"),

        // ---- CLOSE-WAIT / CLOSING / LAST-ACK ------------------------------------------
        // 3.10.4 CLOSE in CLOSE-WAIT: send FIN, enter LAST-ACK.
        (CloseWait, SentFin) => go(LastAck, Why::SentFin, "3.10.4"),
        // 3.10.4 CLOSE: this FIN does not acknowledge the peer's, so the CLOSE_WAIT
        // inferred from capture order was wrong: it closed from ESTABLISHED.
        (CloseWait, SentFinCrossed) => Step::Withdraw(Withdrawn::FinsCrossed),
        // 3.10.7.4 (fifth check) CLOSING + ACK of our FIN: TIME-WAIT.
        (Closing, ReceivedAckOfFin) => go(TimeWait, Why::AckOfFin, "3.10.7.4"),
        // 3.10.7.4 (fifth check) LAST-ACK + ACK of our FIN: CLOSED.
        (LastAck, ReceivedAckOfFin) => go(Closed, Why::AckOfFin, "3.10.7.4"),

        // ---- impossible or normal in every synchronized state ---------------------------
        // 3.6 closing: a FIN means "no more data"; it occupies the last sequence number.
        (_, SentDataAfterFin) => Step::Anomaly(Anomaly::DataAfterFin),
        // 3.10.7.4: everything else moves nothing: data, ACKs that cover nothing new,
        // window updates, keep-alives, and retransmitted SYN, SYN-ACK and FIN (a FIN
        // again in CLOSE-WAIT, CLOSING, LAST-ACK or TIME-WAIT restarts no arc).
        (
            SynReceived | Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck
            | TimeWait,
            _,
        ) => Step::Stay,
    }
}

/// One arc of the state diagram as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arc {
    pub from: TcpState,
    pub event: Event,
    pub to: TcpState,
    pub why: Why,
    /// The RFC 9293 section that defines it.
    pub rfc: &'static str,
}

const fn arc(from: TcpState, event: Event, to: TcpState, why: Why, rfc: &'static str) -> Arc {
    Arc {
        from,
        event,
        to,
        why,
        rfc,
    }
}

/// Every arc [`transition`] takes, in diagram order. A test keeps it equal to the match.
pub const ARCS: &[Arc] = {
    use Event::*;
    use TcpState::*;
    &[
        arc(Closed, SentSyn, SynSent, Why::SentSyn, "3.10.1"),
        arc(
            Listen,
            SentSynAck,
            SynReceived,
            Why::ReceivedSyn,
            "3.10.7.2",
        ),
        arc(
            Listen,
            ReceivedAckOfSyn,
            SynReceived,
            Why::ReceivedSyn,
            "3.10.7.2",
        ),
        arc(
            SynSent,
            ReceivedSynAckOfSyn,
            Established,
            Why::ReceivedSynAck,
            "3.10.7.3",
        ),
        arc(
            SynSent,
            ReceivedSyn,
            SynReceived,
            Why::SimultaneousOpen,
            "3.10.7.3",
        ),
        arc(SynSent, ReceivedRst, Closed, Why::Refused, "3.10.7.3"),
        arc(
            SynSent,
            SynsUnanswered,
            Closed,
            Why::ConnectTimedOut,
            "3.8.3",
        ),
        arc(
            SynReceived,
            ReceivedAckOfSyn,
            Established,
            Why::AckOfSyn,
            "3.10.7.4",
        ),
        arc(
            SynReceived,
            ReceivedSynAckOfSyn,
            Established,
            Why::AckOfSyn,
            "3.10.7.4",
        ),
        arc(SynReceived, SentFin, FinWait1, Why::SentFin, "3.10.4"),
        arc(
            SynReceived,
            ReceivedFin,
            CloseWait,
            Why::ReceivedFin,
            "3.10.7.4",
        ),
        arc(Established, SentFin, FinWait1, Why::SentFin, "3.10.4"),
        arc(
            Established,
            SentFinCrossed,
            FinWait1,
            Why::FinCrossed,
            "3.10.4",
        ),
        arc(
            Established,
            ReceivedFin,
            CloseWait,
            Why::ReceivedFin,
            "3.10.7.4",
        ),
        arc(
            FinWait1,
            ReceivedAckOfFin,
            FinWait2,
            Why::AckOfFin,
            "3.10.7.4",
        ),
        arc(
            FinWait1,
            ReceivedFin,
            Closing,
            Why::SimultaneousClose,
            "3.10.7.4",
        ),
        arc(
            FinWait2,
            ReceivedFin,
            TimeWait,
            Why::ReceivedFin,
            "3.10.7.4",
        ),
        arc(CloseWait, SentFin, LastAck, Why::SentFin, "3.10.4"),
        arc(
            Closing,
            ReceivedAckOfFin,
            TimeWait,
            Why::AckOfFin,
            "3.10.7.4",
        ),
        arc(LastAck, ReceivedAckOfFin, Closed, Why::AckOfFin, "3.10.7.4"),
        // Abort: RST sent or received, from every state that has a TCB.
        arc(SynSent, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(SynReceived, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(
            SynReceived,
            ReceivedRst,
            Closed,
            Why::ReceivedRst,
            "3.10.7.4",
        ),
        arc(Established, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(
            Established,
            ReceivedRst,
            Closed,
            Why::ReceivedRst,
            "3.10.7.4",
        ),
        arc(FinWait1, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(FinWait1, ReceivedRst, Closed, Why::ReceivedRst, "3.10.7.4"),
        arc(FinWait2, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(FinWait2, ReceivedRst, Closed, Why::ReceivedRst, "3.10.7.4"),
        arc(Closing, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(Closing, ReceivedRst, Closed, Why::ReceivedRst, "3.10.7.4"),
        arc(TimeWait, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(TimeWait, ReceivedRst, Closed, Why::ReceivedRst, "3.10.7.4"),
        arc(CloseWait, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(CloseWait, ReceivedRst, Closed, Why::ReceivedRst, "3.10.7.4"),
        arc(LastAck, SentRst, Closed, Why::SentRst, "3.10.5"),
        arc(LastAck, ReceivedRst, Closed, Why::ReceivedRst, "3.10.7.4"),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The arc a step takes, if it takes one.
    fn arc_of(from: TcpState, event: Event) -> Option<Arc> {
        match transition(from, event) {
            Step::Go(m) => Some(arc(from, event, m.to, m.why, m.rfc)),
            _ => None,
        }
    }

    #[test]
    fn the_match_and_arcs_agree_on_every_state_and_event() {
        let mut from_match = Vec::new();
        for state in TcpState::ALL {
            for event in Event::ALL {
                from_match.extend(arc_of(state, event));
            }
        }
        for a in &from_match {
            assert!(ARCS.contains(a), "ARCS lacks {a:?}");
        }
        for a in ARCS {
            assert!(from_match.contains(a), "the match does not take {a:?}");
        }
        assert_eq!(from_match.len(), ARCS.len(), "ARCS lists an arc twice");
    }

    #[test]
    fn every_event_is_listed_once() {
        for (i, e) in Event::ALL.iter().enumerate() {
            assert!(!Event::ALL[i + 1..].contains(e), "{e:?} twice");
        }
    }

    #[test]
    fn normal_repeats_are_not_anomalies() {
        use Event::*;
        use TcpState::*;
        for (state, event) in [
            (SynSent, SentSyn),
            (SynReceived, SentSynAck),
            (SynReceived, ReceivedSyn),
            (Established, SentSynAck),
            (Established, ReceivedSynAckOfSyn),
            (FinWait1, SentFinAgain),
            (CloseWait, ReceivedFin),
            (LastAck, SentFinAgain),
            (TimeWait, ReceivedFin),
            (TimeWait, SentSegment),
            (Established, SentSegment),
            (Established, ReceivedAck),
        ] {
            assert_eq!(transition(state, event), Step::Stay, "{state} + {event:?}");
        }
    }

    #[test]
    fn impossible_segments_are_anomalies() {
        use Event::*;
        use TcpState::*;
        for (state, event, what) in [
            (FinWait1, SentDataAfterFin, Anomaly::DataAfterFin),
            (LastAck, SentDataAfterFin, Anomaly::DataAfterFin),
            (Closed, SentSegment, Anomaly::SentWhileClosed),
            (Closed, SentFin, Anomaly::SentWhileClosed),
            (SynSent, SentFin, Anomaly::SentBeforeOpen),
            (SynSent, SentSegment, Anomaly::SentBeforeOpen),
            (Listen, SentSegment, Anomaly::SentBeforeOpen),
            (SynSent, ReceivedFin, Anomaly::ReceivedBeforeOpen),
            (Listen, ReceivedFin, Anomaly::ReceivedBeforeOpen),
            (SynSent, ReceivedSynAck, Anomaly::SynAckNotForItsSyn),
        ] {
            assert_eq!(
                transition(state, event),
                Step::Anomaly(what),
                "{state} + {event:?}"
            );
        }
    }
}
