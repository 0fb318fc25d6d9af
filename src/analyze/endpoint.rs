//! One TCP endpoint's state machine, inferred from the segments at the capture point.
//!
//! Each endpoint sees every segment twice in its life: as sender or as receiver.
//! `on_sent` and `on_received` each hold one `match` on the state, with the
//! RFC 9293 rule in a comment per arm. Impossible input changes nothing; it never
//! panics. All changes go through `set_state`, which records the transition.
//!
//! One inference needs care: a pure SYN arriving at the server says nothing yet
//! about whether anyone listens. The server's LISTEN → SYN_RECEIVED is therefore
//! recorded when its answer (SYN-ACK) is seen, attributed to the SYN frame it
//! answers; a RST answer instead means the port was CLOSED all along.

use arrayvec::ArrayVec;

use super::seq::seq_ge;
use super::{Role, TcpState, Transition, Why};
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

/// One side of a connection.
#[derive(Debug, Clone)]
pub struct TcpEndpoint {
    pub role: Role,
    /// The state before the first transition (LISTEN for a server, CLOSED for a client,
    /// ESTABLISHED mid-stream, CLOSED for a server that refused).
    pub initial: TcpState,
    pub state: TcpState,
    pub transitions: ArrayVec<Transition, MAX_TRANSITIONS>,
    /// Sequence number of this endpoint's SYN, once seen.
    isn: Option<u32>,
    /// Sequence number occupied by this endpoint's FIN, once sent.
    fin_seq: Option<u32>,
    /// A SYN received while in LISTEN, not yet answered: (frame, ts).
    pending_syn: Option<(u64, u64)>,
}

/// Transitions produced while handling one segment.
pub type Changes = ArrayVec<Transition, 6>;

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
        }
    }

    /// A client that has (as far as we know) already sent a SYN with sequence `isn`.
    pub fn with_isn(mut self, isn: u32) -> Self {
        self.isn = Some(isn);
        self
    }

    /// The states this endpoint went through, initial first.
    pub fn states(&self) -> Vec<TcpState> {
        std::iter::once(self.initial)
            .chain(self.transitions.iter().map(|t| t.to))
            .collect()
    }

    fn set_state(&mut self, to: TcpState, frame: u64, ts_ns: u64, why: Why, out: &mut Changes) {
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
        let _ = out.try_push(t);
    }

    fn acks(seg: &Segment, seq: Option<u32>) -> bool {
        seg.flags.ack() && seq.is_some_and(|s| seq_ge(seg.ack, s.wrapping_add(1)))
    }

    /// This endpoint sent `seg`.
    pub fn on_sent(&mut self, seg: &Segment, out: &mut Changes) {
        let f = seg.flags;
        let (frame, ts) = (seg.frame, seg.ts_ns);
        if f.rst() {
            match self.state {
                // A SYN answered with RST: no socket listened; the port was CLOSED all along.
                TcpState::Listen => {
                    self.initial = TcpState::Closed;
                    self.state = TcpState::Closed;
                    self.pending_syn = None;
                }
                TcpState::Closed => {}
                // RFC 9293 §3.10.7 / abort: sending RST deletes the TCB.
                _ => self.set_state(TcpState::Closed, frame, ts, Why::SentRst, out),
            }
            return;
        }
        if f.syn() && !f.ack() {
            match self.state {
                // Active OPEN: send SYN, enter SYN-SENT.
                TcpState::Closed => {
                    self.isn = Some(seg.seq);
                    self.set_state(TcpState::SynSent, frame, ts, Why::SentSyn, out);
                }
                // The "server" opened actively too: it was never listening. If the peer's SYN
                // already arrived, it crosses ours: SYN-SENT + SYN → SYN-RECEIVED (simultaneous open).
                TcpState::Listen => {
                    self.initial = TcpState::Closed;
                    self.state = TcpState::Closed;
                    self.isn = Some(seg.seq);
                    self.set_state(TcpState::SynSent, frame, ts, Why::SentSyn, out);
                    if self.pending_syn.take().is_some() {
                        self.set_state(
                            TcpState::SynReceived,
                            frame,
                            ts,
                            Why::SimultaneousOpen,
                            out,
                        );
                    }
                }
                // A retransmitted SYN changes nothing.
                _ => {}
            }
            return;
        }
        if f.syn() && f.ack() {
            if self.isn.is_none() {
                self.isn = Some(seg.seq);
            }
            // LISTEN + SYN → SYN-RECEIVED, known only now that the SYN-ACK answers it.
            if self.state == TcpState::Listen {
                match self.pending_syn.take() {
                    Some((syn_frame, syn_ts)) => self.set_state(
                        TcpState::SynReceived,
                        syn_frame,
                        syn_ts,
                        Why::ReceivedSyn,
                        out,
                    ),
                    None => self.set_state(
                        TcpState::SynReceived,
                        frame,
                        ts,
                        Why::SentSynAckSynUnseen,
                        out,
                    ),
                }
            }
            // Otherwise a retransmitted SYN-ACK, or simultaneous open's SYN-ACK: no change.
            return;
        }
        if f.fin() {
            if self.fin_seq.is_some() {
                // A retransmitted FIN changes nothing.
                return;
            }
            match self.state {
                // CLOSE in ESTABLISHED or SYN-RECEIVED: send FIN, enter FIN-WAIT-1.
                TcpState::Established | TcpState::SynReceived => {
                    self.fin_seq = Some(seg.seq.wrapping_add(seg.len));
                    self.set_state(TcpState::FinWait1, frame, ts, Why::SentFin, out);
                }
                // CLOSE in CLOSE-WAIT: send FIN, enter LAST-ACK.
                TcpState::CloseWait => {
                    self.fin_seq = Some(seg.seq.wrapping_add(seg.len));
                    self.set_state(TcpState::LastAck, frame, ts, Why::SentFin, out);
                }
                _ => {}
            }
        }
    }

    /// This endpoint received `seg` (from its peer).
    pub fn on_received(&mut self, seg: &Segment, out: &mut Changes) {
        let f = seg.flags;
        let (frame, ts) = (seg.frame, seg.ts_ns);
        if f.rst() {
            match self.state {
                // SYN-SENT: a RST acknowledging our SYN means the connection is refused.
                TcpState::SynSent => self.set_state(TcpState::Closed, frame, ts, Why::Refused, out),
                // LISTEN ignores RST; CLOSED has nothing to reset.
                TcpState::Listen | TcpState::Closed => {}
                // Any synchronized state (and TIME-WAIT, as Linux does without RFC 1337):
                // a valid RST deletes the TCB.
                _ => self.set_state(TcpState::Closed, frame, ts, Why::ReceivedRst, out),
            }
            return;
        }
        if f.syn() && !f.ack() {
            match self.state {
                // LISTEN + SYN: remember it; the answer tells whether the SYN was accepted.
                TcpState::Listen => self.pending_syn = Some((frame, ts)),
                // SYN-SENT + SYN (no ACK): the SYNs crossed, enter SYN-RECEIVED.
                TcpState::SynSent => {
                    self.set_state(TcpState::SynReceived, frame, ts, Why::SimultaneousOpen, out)
                }
                _ => {}
            }
            return;
        }
        let acks_syn = Self::acks(seg, self.isn);
        if f.syn() && f.ack() {
            // In SYN-SENT the only acceptable ACK is exactly ISS+1 (RFC 9293 §3.10.7.3).
            let acks_exactly = self.isn.is_some_and(|isn| seg.ack == isn.wrapping_add(1));
            match self.state {
                // SYN-SENT + SYN-ACK acknowledging our SYN: ESTABLISHED.
                TcpState::SynSent if acks_exactly => {
                    self.set_state(TcpState::Established, frame, ts, Why::ReceivedSynAck, out)
                }
                // Simultaneous open: SYN-RECEIVED + ACK of our SYN: ESTABLISHED.
                TcpState::SynReceived if acks_syn => {
                    self.set_state(TcpState::Established, frame, ts, Why::AckOfSyn, out)
                }
                _ => {}
            }
            return;
        }
        if f.ack() {
            let acks_fin = Self::acks(seg, self.fin_seq);
            match self.state {
                // The SYN-ACK was not captured but the peer acknowledges it: the SYN was accepted.
                TcpState::Listen if self.pending_syn.is_some() => {
                    let (syn_frame, syn_ts) = self.pending_syn.take().unwrap_or((frame, ts));
                    self.set_state(
                        TcpState::SynReceived,
                        syn_frame,
                        syn_ts,
                        Why::ReceivedSyn,
                        out,
                    );
                    self.set_state(TcpState::Established, frame, ts, Why::AckOfSyn, out);
                }
                // SYN-RECEIVED + ACK of our SYN: ESTABLISHED.
                TcpState::SynReceived if acks_syn => {
                    self.set_state(TcpState::Established, frame, ts, Why::AckOfSyn, out)
                }
                // FIN-WAIT-1 + ACK of our FIN: FIN-WAIT-2.
                TcpState::FinWait1 if acks_fin => {
                    self.set_state(TcpState::FinWait2, frame, ts, Why::AckOfFin, out)
                }
                // CLOSING + ACK of our FIN: TIME-WAIT.
                TcpState::Closing if acks_fin => {
                    self.set_state(TcpState::TimeWait, frame, ts, Why::AckOfFin, out)
                }
                // LAST-ACK + ACK of our FIN: CLOSED.
                TcpState::LastAck if acks_fin => {
                    self.set_state(TcpState::Closed, frame, ts, Why::AckOfFin, out)
                }
                // An ACK that does not cover our FIN moves nothing.
                _ => {}
            }
        }
        if f.fin() {
            match self.state {
                // ESTABLISHED + FIN: CLOSE-WAIT.
                TcpState::Established => {
                    self.set_state(TcpState::CloseWait, frame, ts, Why::ReceivedFin, out)
                }
                // FIN-WAIT-1 + FIN not acknowledging our FIN: CLOSING (simultaneous close).
                TcpState::FinWait1 => {
                    self.set_state(TcpState::Closing, frame, ts, Why::SimultaneousClose, out)
                }
                // FIN-WAIT-2 + FIN: TIME-WAIT.
                TcpState::FinWait2 => {
                    self.set_state(TcpState::TimeWait, frame, ts, Why::ReceivedFin, out)
                }
                // Retransmitted FINs in CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT change nothing.
                _ => {}
            }
        }
    }
}

impl TcpEndpoint {
    /// The sender's FIN does not acknowledge the FIN it supposedly received earlier:
    /// it had not received it yet when it sent its own (the FINs crossed).
    fn fins_crossed(&self, seg: &Segment, peer: &TcpEndpoint) -> bool {
        self.state == TcpState::CloseWait
            && self.fin_seq.is_none()
            && seg.flags.fin()
            && seg.flags.ack()
            && peer
                .fin_seq
                .is_some_and(|fin| !seq_ge(seg.ack, fin.wrapping_add(1)))
            && self
                .transitions
                .last()
                .is_some_and(|t| t.to == TcpState::CloseWait)
    }
}

/// Passes one segment through both endpoints: first the sender, then the receiver.
pub fn on_segment(
    sender: &mut TcpEndpoint,
    receiver: &mut TcpEndpoint,
    seg: &Segment,
    out: &mut Changes,
) {
    // The bulk of every capture: data and ACKs between two ESTABLISHED endpoints,
    // which no rule below moves (only SYN, FIN and RST can). Skipping the rules
    // here is measurably faster on million-segment files.
    if !seg.flags.is_control()
        && sender.state == TcpState::Established
        && receiver.state == TcpState::Established
    {
        return;
    }
    if sender.fins_crossed(seg, receiver) {
        // The capture order said CLOSE_WAIT; the ACK field says the FINs crossed.
        // Undo it and replay the close in the order this endpoint lived it.
        if let Some(undone) = sender.transitions.pop() {
            sender.state = undone.from;
        }
        // ESTABLISHED + CLOSE: send FIN, enter FIN-WAIT-1 …
        sender.fin_seq = Some(seg.seq.wrapping_add(seg.len));
        let (frame, ts) = (seg.frame, seg.ts_ns);
        sender.set_state(TcpState::FinWait1, frame, ts, Why::FinCrossed, out);
        // … then FIN-WAIT-1 + the peer's FIN not acknowledging ours: CLOSING.
        sender.set_state(TcpState::Closing, frame, ts, Why::SimultaneousClose, out);
    } else {
        sender.on_sent(seg, out);
    }
    receiver.on_received(seg, out);
}

#[cfg(test)]
mod tests;
