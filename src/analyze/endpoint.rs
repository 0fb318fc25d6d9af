//! One TCP endpoint's state machine, inferred from the segments at the capture point.
//!
//! Each endpoint sees every segment twice in its life: as sender or as receiver.
//! This file classifies a segment into the [`Event`]s it means to the endpoint (one
//! when sent; when received, the ACK part then the FIN) and applies what
//! [`transition`] says: every state change goes through `set_state`, which records
//! it. Impossible input becomes an `Anomaly` on the frame; it never panics.
//!
//! Two inferences need care, and both are explicit steps of `transition`:
//! - A pure SYN arriving at the server says nothing yet about whether anyone listens.
//!   The server's LISTEN → SYN_RECEIVED is recorded when its answer (SYN-ACK) is
//!   seen, attributed to the SYN frame it answers; a RST answer instead means the
//!   port was CLOSED all along (its initial state becomes CLOSED: nothing was
//!   streamed for it yet, so nothing already said is contradicted).
//! - Capture order can show a FIN arriving before the receiver's own FIN left. When
//!   that FIN's ACK shows the FINs crossed, the CLOSE_WAIT inferred earlier is
//!   withdrawn in the open: the frame carries a `Withdrawal`.
//! - The same goes for an abort: a RST whose ACK does not cover the peer's FIN
//!   withdraws what receiving that FIN did (CLOSE_WAIT, or CLOSING and TIME_WAIT),
//!   and a segment sent by an endpoint that capture order says the peer's RST
//!   already closed withdraws that CLOSED: the RST was still in flight.

use arrayvec::ArrayVec;

use super::seq::{seq_ge, seq_gt};
use super::transition::{transition, At, Event, Move, Step};
use super::{FrameAnalysis, Role, TcpState, Transition, Why, Withdrawal, Withdrawn};
use crate::decode::TcpFlags;

/// The parts of a TCP segment the state machine looks at.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub frame: u64,
    pub ts_ns: u64,
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
}

/// Maximum transitions kept per endpoint; a real connection has at most seven.
const MAX_TRANSITIONS: usize = 16;

/// One side of a connection. Its state is read-only outside this file: every
/// change goes through `transition` and `set_state`.
#[derive(Debug, Clone)]
pub struct TcpEndpoint {
    role: Role,
    /// The state before the first transition (LISTEN for a server, CLOSED for a client,
    /// ESTABLISHED mid-stream, CLOSED for a server that refused).
    initial: TcpState,
    state: TcpState,
    transitions: ArrayVec<Transition, MAX_TRANSITIONS>,
    /// Sequence number of this endpoint's SYN, once seen.
    isn: Option<u32>,
    /// Sequence number occupied by this endpoint's FIN, once sent.
    fin_seq: Option<u32>,
    /// A SYN received while in LISTEN, not yet answered: (frame, ts).
    pending_syn: Option<(u64, u64)>,
    /// Its latest SYN sent (frame, ts): a connect that times out is attributed to it.
    last_syn: Option<(u64, u64)>,
    /// How many SYNs it sent (saturating): one alone never shows a timeout.
    syns_sent: u8,
}

/// The events one received segment means: the ACK part, then the FIN.
type Received = ArrayVec<Event, 2>;

impl TcpEndpoint {
    /// An endpoint starting in `initial`.
    pub fn new(role: Role, initial: TcpState) -> Self {
        TcpEndpoint {
            role,
            initial,
            state: initial,
            transitions: ArrayVec::new(),
            isn: None,
            fin_seq: None,
            pending_syn: None,
            last_syn: None,
            syns_sent: 0,
        }
    }

    /// A client that has (as far as we know) already sent a SYN with sequence `isn`.
    pub fn with_isn(mut self, isn: u32) -> Self {
        self.isn = Some(isn);
        self
    }

    /// The state it is in now.
    pub fn state(&self) -> TcpState {
        self.state
    }

    /// Its transitions so far, withdrawn ones removed.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The states this endpoint went through, initial first.
    pub fn states(&self) -> Vec<TcpState> {
        std::iter::once(self.initial)
            .chain(self.transitions.iter().map(|t| t.to))
            .collect()
    }

    /// The one place a state changes: records the transition for the flow and the frame.
    fn set_state(
        &mut self,
        to: TcpState,
        frame: u64,
        ts_ns: u64,
        why: Why,
        out: &mut FrameAnalysis,
    ) {
        if to == self.state {
            return;
        }
        let t = Transition {
            endpoint: self.role,
            frame,
            ts_ns,
            from: self.state,
            to,
            why,
        };
        tracing::trace!(endpoint = %self.role, frame, "{} => {}", self.state, to);
        self.state = to;
        let _ = self.transitions.try_push(t);
        let _ = out.transitions.try_push(t);
    }

    /// True when `seg` acknowledges the sequence number `seq` (a SYN's or a FIN's).
    fn acks(seg: &Segment, seq: Option<u32>) -> bool {
        seg.flags.ack() && seq.is_some_and(|s| seq_ge(seg.ack, s.wrapping_add(1)))
    }

    /// What sending `seg` means to this endpoint; `peer` is the receiver, before it
    /// has processed `seg`.
    fn sent_event(&self, seg: &Segment, peer: &TcpEndpoint) -> Event {
        let f = seg.flags;
        if f.rst() {
            return Event::SentRst;
        }
        if f.syn() {
            return if f.ack() {
                Event::SentSynAck
            } else {
                Event::SentSyn
            };
        }
        if let Some(fin) = self.fin_seq {
            // Bytes past the FIN's own slot (a one-byte keep-alive sits on that slot).
            if seq_gt(seg.seq.wrapping_add(seg.len), fin.wrapping_add(1)) {
                return Event::SentDataAfterFin;
            }
            return if f.fin() {
                Event::SentFinAgain
            } else {
                Event::SentSegment
            };
        }
        if !f.fin() {
            return Event::SentSegment;
        }
        // A FIN from CLOSE_WAIT whose ACK does not cover the peer's FIN: it left
        // before that FIN arrived.
        let crossed = self.state == TcpState::CloseWait
            && f.ack()
            && peer
                .fin_seq
                .is_some_and(|fin| !seq_ge(seg.ack, fin.wrapping_add(1)));
        if crossed {
            Event::SentFinCrossed
        } else {
            Event::SentFin
        }
    }

    /// What receiving `seg` means to this endpoint.
    fn received_events(&self, seg: &Segment) -> Received {
        let f = seg.flags;
        let mut out = Received::new();
        if f.rst() {
            out.push(Event::ReceivedRst);
        } else if f.syn() && !f.ack() {
            out.push(Event::ReceivedSyn);
        } else if f.syn() {
            // In SYN-SENT the only acceptable ACK is exactly ISS+1 (RFC 9293 §3.10.7.3).
            let exact = self.isn.is_some_and(|isn| seg.ack == isn.wrapping_add(1));
            out.push(if exact {
                Event::ReceivedSynAckOfSyn
            } else {
                Event::ReceivedSynAck
            });
        } else {
            // A SYN held in LISTEN whose SYN-ACK was not captured: the peer's ACK
            // acknowledges it.
            let held = self.state == TcpState::Listen && self.pending_syn.is_some();
            out.push(if Self::acks(seg, self.fin_seq) {
                Event::ReceivedAckOfFin
            } else if Self::acks(seg, self.isn) || (held && f.ack()) {
                Event::ReceivedAckOfSyn
            } else {
                Event::ReceivedAck
            });
            if f.fin() {
                out.push(Event::ReceivedFin);
            }
        }
        out
    }

    /// This endpoint sent `seg`, which means `event`.
    fn on_sent(&mut self, event: Event, seg: &Segment, out: &mut FrameAnalysis) {
        self.note_sent(event, seg);
        self.step(event, seg, out);
    }

    /// Where its SYN and FIN sit, whatever the state, and its latest SYN.
    fn note_sent(&mut self, event: Event, seg: &Segment) {
        if event == Event::SentSyn {
            self.last_syn = Some((seg.frame, seg.ts_ns));
            self.syns_sent = self.syns_sent.saturating_add(1);
        }
        // Sequence bookkeeping, whatever the state: where its SYN and FIN sit.
        match event {
            Event::SentSyn
                if self.isn.is_none()
                    || matches!(self.state, TcpState::Closed | TcpState::Listen) =>
            {
                self.isn = Some(seg.seq);
            }
            Event::SentSynAck if self.isn.is_none() => self.isn = Some(seg.seq),
            Event::SentFin | Event::SentFinCrossed => {
                self.fin_seq = Some(seg.seq.wrapping_add(seg.len));
            }
            _ => {}
        }
    }

    /// The capture has ended. A connect still in SYN_SENT whose SYNs the peer never
    /// answered (`peer_silent`: not one segment came back) ran out of retries: the
    /// timer arc to CLOSED, attributed to its last SYN, since no later frame exists
    /// to carry it. Nothing streamed before is contradicted: the endpoint stayed in
    /// SYN_SENT up to here. Calling it again changes nothing.
    ///
    /// Only when the SYN was sent again: a connect gives up only after at least one
    /// retransmission (Linux's `TCP_SYNCNT` and `tcp_syn_retries` are 1 or more),
    /// so a lone SYN shows a connect that was still waiting, or was abandoned
    /// (close() in SYN_SENT sends nothing): the packets cannot say which, and say
    /// neither: the endpoint stays in SYN_SENT.
    pub fn conclude(&mut self, peer_silent: bool, out: &mut FrameAnalysis) {
        let retried = self.syns_sent >= 2;
        let Some((frame, ts_ns)) = self.last_syn.filter(|_| peer_silent && retried) else {
            return;
        };
        let seg = Segment {
            frame,
            ts_ns,
            flags: TcpFlags(0),
            seq: 0,
            ack: 0,
            len: 0,
        };
        self.step(Event::SynsUnanswered, &seg, out);
    }

    /// Applies what [`transition`] says `event` does in the current state.
    fn step(&mut self, event: Event, seg: &Segment, out: &mut FrameAnalysis) {
        match transition(self.state, event) {
            Step::Stay => {}
            Step::Go(m) => self.take(m, event, seg, out),
            Step::HoldSyn => self.pending_syn = Some((seg.frame, seg.ts_ns)),
            Step::NeverListened => {
                // Still LISTEN: no transition of it was streamed, so a CLOSED initial
                // state contradicts nothing already written.
                debug_assert!(self.transitions.is_empty());
                let held = self.pending_syn.take();
                self.initial = TcpState::Closed;
                self.state = TcpState::Closed;
                self.step(event, seg, out);
                // Its own SYN went out before the held one arrived: the SYNs crossed.
                if held.is_some() && self.state == TcpState::SynSent {
                    self.step(Event::ReceivedSyn, seg, out);
                }
            }
            Step::Withdraw(why) => self.withdraw(why, event, seg, out),
            Step::Anomaly(what) => out.note(self.role, what),
        }
    }

    /// Takes an arc. An arc out of LISTEN belongs to the held SYN's frame, and the
    /// event that revealed it is then processed in SYN_RECEIVED.
    fn take(&mut self, m: Move, event: Event, seg: &Segment, out: &mut FrameAnalysis) {
        let (frame, ts) = (seg.frame, seg.ts_ns);
        match m.at {
            At::Segment => self.set_state(m.to, frame, ts, m.why, out),
            At::HeldSyn => {
                match self.pending_syn.take() {
                    Some((syn_frame, syn_ts)) => {
                        self.set_state(m.to, syn_frame, syn_ts, m.why, out)
                    }
                    None => self.set_state(m.to, frame, ts, Why::SentSynAckSynUnseen, out),
                }
                self.step(event, seg, out);
            }
        }
    }

    /// What `seg`, about to be sent, proves about transitions already inferred from
    /// capture order; when it proves them wrong, withdraws them and processes the
    /// segment itself (returns true). `peer_fin`: where the peer's FIN sits, if sent.
    fn revise(
        &mut self,
        event: Event,
        seg: &Segment,
        peer_fin: Option<u32>,
        out: &mut FrameAnalysis,
    ) -> bool {
        // CLOSED by the peer's RST, yet sending more than a RST: a closed socket
        // cannot, so the RST was still in flight when this segment left.
        let reset_from = self
            .transitions
            .last()
            .filter(|t| t.to == TcpState::Closed && t.why == Why::ReceivedRst)
            .map(|t| t.from);
        if let Some(from) = reset_from.filter(|_| event != Event::SentRst) {
            self.note_sent(event, seg);
            // A segment that moves nothing (an ACK that crossed the RST) changes
            // nothing either: the CLOSED stays at the RST's frame.
            if transition(from, event) != Step::Stay {
                self.withdraw(Withdrawn::ResetInFlight, event, seg, out);
            }
            return true;
        }
        // A RST (Linux's carries an ACK) that does not acknowledge the peer's FIN:
        // the FIN had not arrived when it aborted, nor anything the peer sent after it.
        let fin_unseen =
            seg.flags.ack() && peer_fin.is_some_and(|fin| !seq_ge(seg.ack, fin.wrapping_add(1)));
        if event != Event::SentRst || self.state == TcpState::Closed || !fin_unseen {
            return false;
        }
        let Some(at) = self
            .transitions
            .iter()
            .position(|t| matches!(t.why, Why::ReceivedFin | Why::SimultaneousClose))
        else {
            return false;
        };
        self.state = self.transitions[at].from;
        for t in self.transitions.drain(at..).rev() {
            let _ = out.withdrawals.try_push(Withdrawal {
                endpoint: self.role,
                withdraws: t,
                why: Withdrawn::ResetBeforeFin,
            });
        }
        self.on_sent(event, seg, out);
        true
    }

    /// Withdraws the last transition (streamed at an earlier frame), then replays
    /// `event` from the state before it, then the withdrawn transition's cause.
    fn withdraw(&mut self, why: Withdrawn, event: Event, seg: &Segment, out: &mut FrameAnalysis) {
        let (cause, as_usual) = match why {
            Withdrawn::FinsCrossed => (Event::ReceivedFin, Event::SentFin),
            Withdrawn::ResetInFlight => (Event::ReceivedRst, event),
            // Withdrawn by `revise`, whose cause is never replayed.
            Withdrawn::ResetBeforeFin => return self.step(event, seg, out),
        };
        let state = self.state;
        let Some(last) = self.transitions.last().copied().filter(|t| t.to == state) else {
            // The transition was never recorded (the list was full): go on as usual.
            return self.step(as_usual, seg, out);
        };
        self.transitions.pop();
        self.state = last.from;
        let _ = out.withdrawals.try_push(Withdrawal {
            endpoint: self.role,
            withdraws: last,
            why,
        });
        self.step(event, seg, out);
        self.step(cause, seg, out);
    }
}

/// Passes one segment through both endpoints: first the sender, then the receiver.
pub fn on_segment(
    sender: &mut TcpEndpoint,
    receiver: &mut TcpEndpoint,
    seg: &Segment,
    out: &mut FrameAnalysis,
) {
    // The bulk of every capture: data and ACKs between two ESTABLISHED endpoints,
    // which no arc moves and no rule finds impossible (only SYN, FIN and RST move
    // them; data after a FIN needs a FIN, so a state other than ESTABLISHED).
    // Skipping the rules here is measurably faster on million-segment files.
    if !seg.flags.is_control()
        && sender.state == TcpState::Established
        && receiver.state == TcpState::Established
    {
        return;
    }
    let sent = sender.sent_event(seg, receiver);
    if !sender.revise(sent, seg, receiver.fin_seq, out) {
        sender.on_sent(sent, seg, out);
    }
    for event in receiver.received_events(seg) {
        receiver.step(event, seg, out);
    }
}

#[cfg(test)]
mod tests;
