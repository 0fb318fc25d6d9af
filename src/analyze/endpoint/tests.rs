//! State-machine tests, grouped by the state under test. Each reads like a packet
//! trace: `c.client_sends(SYN, 100, 0, 0)` is "client sends SYN seq 100".

use super::*;

const SYN: u16 = TcpFlags::SYN;
const ACK: u16 = TcpFlags::ACK;
const FIN: u16 = TcpFlags::FIN;
const RST: u16 = TcpFlags::RST;
const PSH: u16 = TcpFlags::PSH;

use TcpState::*;

use crate::analyze::Anomaly;

/// The transitions one segment caused.
type Changes = ArrayVec<Transition, 6>;

/// A connection seen at the capture point: client ISN 100, server ISN 300.
struct Conn {
    client: TcpEndpoint,
    server: TcpEndpoint,
    frame: u64,
    /// Everything the last segment caused: transitions, withdrawals, anomalies.
    last: FrameAnalysis,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            client: TcpEndpoint::new(Role::Client, Closed),
            server: TcpEndpoint::new(Role::Server, Listen),
            frame: 0,
            last: FrameAnalysis::default(),
        }
    }

    fn seg(&mut self, flags: u16, seq: u32, ack: u32, len: u32) -> Segment {
        self.frame += 1;
        Segment {
            frame: self.frame,
            ts_ns: self.frame * 1000,
            flags: TcpFlags(flags),
            seq,
            ack,
            len,
        }
    }

    fn client_sends(&mut self, flags: u16, seq: u32, ack: u32, len: u32) -> Changes {
        let seg = self.seg(flags, seq, ack, len);
        self.last.reset();
        on_segment(&mut self.client, &mut self.server, &seg, &mut self.last);
        self.last.transitions.clone()
    }

    fn server_sends(&mut self, flags: u16, seq: u32, ack: u32, len: u32) -> Changes {
        let seg = self.seg(flags, seq, ack, len);
        self.last.reset();
        on_segment(&mut self.server, &mut self.client, &seg, &mut self.last);
        self.last.transitions.clone()
    }

    /// The anomalies of the last segment.
    fn anomalies(&self) -> Vec<(Role, Anomaly)> {
        self.last
            .anomalies
            .iter()
            .map(|n| (n.endpoint, n.what))
            .collect()
    }

    fn states(&self) -> (TcpState, TcpState) {
        (self.client.state, self.server.state)
    }
}

fn moves(changes: &Changes) -> Vec<(Role, TcpState, TcpState, u64)> {
    changes
        .iter()
        .map(|t| (t.endpoint, t.from, t.to, t.frame))
        .collect()
}

fn syn_sent() -> Conn {
    let mut c = Conn::new();
    c.client_sends(SYN, 100, 0, 0);
    c
}

fn established() -> Conn {
    let mut c = syn_sent();
    c.server_sends(SYN | ACK, 300, 101, 0);
    c.client_sends(ACK, 101, 301, 0);
    assert_eq!(c.states(), (Established, Established));
    c
}

/// The client has sent 10 bytes and its FIN (FIN occupies seq 111).
fn client_fin_wait_1() -> Conn {
    let mut c = established();
    c.client_sends(PSH | ACK, 101, 301, 10);
    c.client_sends(FIN | ACK, 111, 301, 0);
    assert_eq!(c.states(), (FinWait1, CloseWait));
    c
}

// ---- tests for the CLOSED / LISTEN states ------------------------------------

#[test]
fn active_open_moves_client_to_syn_sent_at_once() {
    let mut c = Conn::new();
    let out = c.client_sends(SYN, 100, 0, 0);
    assert_eq!(moves(&out), vec![(Role::Client, Closed, SynSent, 1)]);
    // The server's state is not known until it answers.
    assert_eq!(c.server.state, Listen);
}

#[test]
fn syn_ack_confirms_server_syn_received_attributed_to_the_syn() {
    let mut c = syn_sent();
    let out = c.server_sends(SYN | ACK, 300, 101, 0);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, Listen, SynReceived, 1),
            (Role::Client, SynSent, Established, 2)
        ]
    );
    assert_eq!(out[0].why, Why::ReceivedSyn);
}

#[test]
fn refused_connection_leaves_server_closed_never_listen() {
    let mut c = syn_sent();
    let out = c.server_sends(RST | ACK, 0, 101, 0);
    assert_eq!(moves(&out), vec![(Role::Client, SynSent, Closed, 2)]);
    assert_eq!(out[0].why, Why::Refused);
    assert_eq!(c.server.states(), vec![Closed]);
    assert_eq!(c.client.states(), vec![Closed, SynSent, Closed]);
}

// ---- tests for the SYN-SENT state --------------------------------------------

#[test]
fn retransmitted_syn_creates_no_transition_and_answer_points_at_last_syn() {
    let mut c = syn_sent();
    assert!(c.client_sends(SYN, 100, 0, 0).is_empty());
    let out = c.server_sends(SYN | ACK, 300, 101, 0);
    // The first SYN was lost before the server: it answered the second (frame 2).
    assert_eq!(out[0].frame, 2);
    assert_eq!(c.client.states(), vec![Closed, SynSent, Established]);
}

#[test]
fn syn_ack_not_acknowledging_our_syn_moves_nothing() {
    let mut c = syn_sent();
    let out = c.server_sends(SYN | ACK, 300, 555, 0);
    assert!(!out.iter().any(|t| t.endpoint == Role::Client));
    assert_eq!(c.client.state, SynSent);
}

#[test]
fn simultaneous_open_passes_both_through_syn_received() {
    let mut c = syn_sent();
    // The "server" also opens actively: its SYN crosses the client's.
    let out = c.server_sends(SYN, 300, 0, 0);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, Closed, SynSent, 2),
            (Role::Server, SynSent, SynReceived, 2),
            (Role::Client, SynSent, SynReceived, 2)
        ]
    );
    c.client_sends(SYN | ACK, 100, 301, 0);
    c.server_sends(SYN | ACK, 300, 101, 0);
    assert_eq!(c.states(), (Established, Established));
    assert_eq!(
        c.server.states(),
        vec![Closed, SynSent, SynReceived, Established]
    );
    assert_eq!(
        c.client.states(),
        vec![Closed, SynSent, SynReceived, Established]
    );
}

#[test]
fn unanswered_syns_time_out_at_the_end_attributed_to_the_last_syn() {
    let mut c = syn_sent();
    // Retransmissions with backoff: no new transition, no anomaly.
    assert!(c.client_sends(SYN, 100, 0, 0).is_empty());
    assert!(c.client_sends(SYN, 100, 0, 0).is_empty());
    assert!(c.anomalies().is_empty());
    let mut end = FrameAnalysis::default();
    c.client.conclude(true, &mut end);
    assert_eq!(
        moves(&end.transitions),
        vec![(Role::Client, SynSent, Closed, 3)]
    );
    assert_eq!(end.transitions[0].why, Why::ConnectTimedOut);
    assert_eq!(c.client.states(), vec![Closed, SynSent, Closed]);
    // The server never answered: still the LISTEN nobody can tell apart from CLOSED.
    assert_eq!(c.server.states(), vec![Listen]);
    // Concluding twice adds nothing.
    let mut again = FrameAnalysis::default();
    c.client.conclude(true, &mut again);
    assert!(again.transitions.is_empty());
}

#[test]
fn a_lone_unanswered_syn_does_not_time_out() {
    // One SYN, no answer, then nothing: a connect still waiting, or closed in
    // SYN_SENT (nothing on the wire). Linux gives up only after a retransmission.
    let mut c = syn_sent();
    let mut end = FrameAnalysis::default();
    c.client.conclude(true, &mut end);
    assert!(end.transitions.is_empty());
    assert_eq!(c.client.states(), vec![Closed, SynSent]);
}

#[test]
fn a_syn_the_peer_answered_never_times_out() {
    // The peer said something (here a SYN-ACK for another ISN): the connect's end is
    // not known, so nothing is inferred.
    let mut c = syn_sent();
    c.server_sends(SYN | ACK, 300, 999, 0);
    let mut end = FrameAnalysis::default();
    c.client.conclude(false, &mut end);
    assert!(end.transitions.is_empty());
    assert_eq!(c.client.state, SynSent);
    // An established client has no connect to time out, whatever the peer did.
    let mut e = established();
    e.client.conclude(true, &mut end);
    assert!(end.transitions.is_empty());
    assert_eq!(e.client.state, Established);
}

// ---- tests for the SYN-RECEIVED state ----------------------------------------

#[test]
fn ack_of_syn_establishes_server() {
    let mut c = syn_sent();
    c.server_sends(SYN | ACK, 300, 101, 0);
    let out = c.client_sends(ACK, 101, 301, 0);
    assert_eq!(
        moves(&out),
        vec![(Role::Server, SynReceived, Established, 3)]
    );
}

#[test]
fn data_with_ack_also_establishes_server() {
    let mut c = syn_sent();
    c.server_sends(SYN | ACK, 300, 101, 0);
    c.client_sends(PSH | ACK, 101, 301, 5);
    assert_eq!(c.server.state, Established);
}

// ---- tests for the ESTABLISHED state -----------------------------------------

#[test]
fn fin_moves_sender_to_fin_wait_1_and_receiver_to_close_wait() {
    let mut c = established();
    let out = c.client_sends(FIN | ACK, 101, 301, 0);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Client, Established, FinWait1, 4),
            (Role::Server, Established, CloseWait, 4)
        ]
    );
}

#[test]
fn rst_closes_both_sides() {
    let mut c = established();
    let out = c.client_sends(RST | ACK, 101, 301, 0);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Client, Established, Closed, 4),
            (Role::Server, Established, Closed, 4)
        ]
    );
    assert_eq!(out[0].why, Why::SentRst);
    assert_eq!(out[1].why, Why::ReceivedRst);
}

// ---- tests for the FIN-WAIT-1 state ------------------------------------------

#[test]
fn ack_below_the_fin_moves_nothing() {
    let mut c = client_fin_wait_1();
    // Acknowledges the data (111) but not the FIN (which needs 112).
    assert!(c.server_sends(ACK, 301, 111, 0).is_empty());
    assert_eq!(c.client.state, FinWait1);
    let out = c.server_sends(ACK, 301, 112, 0);
    assert_eq!(moves(&out), vec![(Role::Client, FinWait1, FinWait2, 7)]);
}

#[test]
fn fin_with_ack_of_our_fin_goes_through_fin_wait_2_to_time_wait() {
    let mut c = client_fin_wait_1();
    let out = c.server_sends(FIN | ACK, 301, 112, 0);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, CloseWait, LastAck, 6),
            (Role::Client, FinWait1, FinWait2, 6),
            (Role::Client, FinWait2, TimeWait, 6)
        ]
    );
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut c = established();
    // Both send FIN before either FIN arrives: neither FIN acknowledges the other.
    // In capture order the client's FIN comes first, so the server looks CLOSE_WAIT …
    let out = c.client_sends(FIN | ACK, 101, 301, 0);
    assert_eq!(out[1].to, CloseWait);
    // … until its own FIN shows (ack 101, not 102) that it had not received that FIN.
    let out = c.server_sends(FIN | ACK, 301, 101, 0);
    let w = &c.last.withdrawals;
    assert_eq!(w.len(), 1, "the CLOSE_WAIT is withdrawn in the open");
    assert_eq!((w[0].endpoint, w[0].withdraws.frame), (Role::Server, 4));
    assert_eq!(
        (w[0].withdraws.from, w[0].withdraws.to),
        (Established, CloseWait)
    );
    assert_eq!(w[0].why, Withdrawn::FinsCrossed);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, Established, FinWait1, 5),
            (Role::Server, FinWait1, Closing, 5),
            (Role::Client, FinWait1, Closing, 5)
        ]
    );
    assert_eq!(out[0].why, Why::FinCrossed);
    assert_eq!(c.states(), (Closing, Closing));
    // Each ACKs the other's FIN.
    c.client_sends(ACK, 102, 302, 0);
    c.server_sends(ACK, 302, 102, 0);
    assert_eq!(c.states(), (TimeWait, TimeWait));
    assert_eq!(
        c.client.states(),
        vec![Closed, SynSent, Established, FinWait1, Closing, TimeWait]
    );
    // The flow's list no longer has the CLOSE_WAIT: what replaying the stream gives.
    assert_eq!(
        c.server.states(),
        vec![
            Listen,
            SynReceived,
            Established,
            FinWait1,
            Closing,
            TimeWait
        ]
    );
}

#[test]
fn a_fin_acknowledging_the_peers_fin_withdraws_nothing() {
    let mut c = client_fin_wait_1();
    c.server_sends(FIN | ACK, 301, 112, 0);
    assert!(c.last.withdrawals.is_empty());
    assert_eq!(c.states(), (TimeWait, LastAck));
}

// ---- tests for the FIN-WAIT-2 / CLOSE-WAIT states (half close) ---------------

#[test]
fn half_close_lets_the_server_keep_sending() {
    let mut c = client_fin_wait_1();
    c.server_sends(ACK, 301, 112, 0);
    assert_eq!(c.states(), (FinWait2, CloseWait));
    for i in 0..3 {
        assert!(c
            .server_sends(PSH | ACK, 301 + i * 100, 112, 100)
            .is_empty());
    }
    c.server_sends(FIN | ACK, 601, 112, 0);
    assert_eq!(c.states(), (TimeWait, LastAck));
    let out = c.client_sends(ACK, 112, 602, 0);
    assert_eq!(moves(&out), vec![(Role::Server, LastAck, Closed, 11)]);
}

// ---- tests for the LAST-ACK / TIME-WAIT states -------------------------------

#[test]
fn retransmitted_fin_in_time_wait_changes_nothing() {
    let mut c = client_fin_wait_1();
    c.server_sends(FIN | ACK, 301, 112, 0);
    c.client_sends(ACK, 112, 302, 0);
    assert_eq!(c.states(), (TimeWait, Closed));
    assert!(c.server_sends(FIN | ACK, 301, 112, 0).is_empty());
    assert!(c.client_sends(ACK, 112, 302, 0).is_empty());
}

#[test]
fn retransmitted_fin_in_fin_wait_1_creates_no_transition() {
    let mut c = client_fin_wait_1();
    assert!(c.client_sends(FIN | ACK, 111, 301, 0).is_empty());
}

// ---- mid-stream ---------------------------------------------------------------

#[test]
fn midstream_starts_established_and_closes_normally() {
    let mut c = Conn {
        client: TcpEndpoint::new(Role::Client, Established),
        server: TcpEndpoint::new(Role::Server, Established),
        frame: 0,
        last: FrameAnalysis::default(),
    };
    c.client_sends(PSH | ACK, 5000, 9000, 10);
    c.server_sends(FIN | ACK, 9000, 5010, 0);
    c.client_sends(FIN | ACK, 5010, 9001, 0);
    c.server_sends(ACK, 9001, 5011, 0);
    assert_eq!(c.states(), (Closed, TimeWait));
    assert_eq!(
        c.server.states(),
        vec![Established, FinWait1, FinWait2, TimeWait]
    );
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut c = Conn::new();
    let isn = u32::MAX - 4;
    c.client_sends(SYN, isn, 0, 0);
    c.server_sends(SYN | ACK, 300, isn.wrapping_add(1), 0);
    c.client_sends(ACK, isn.wrapping_add(1), 301, 0);
    // 10 bytes take the sequence past 2^32; the FIN sits at 6 (wrapped), so 7 acks it.
    c.client_sends(FIN | ACK, isn.wrapping_add(1), 301, 10);
    assert!(
        c.server_sends(ACK, 301, 6, 0).is_empty(),
        "ack below the FIN"
    );
    c.server_sends(ACK, 301, 7, 0);
    assert_eq!(c.client.state, FinWait2);
}

// ---- anomalies -----------------------------------------------------------------

#[test]
fn data_after_own_fin_is_an_anomaly_but_a_retransmission_before_it_is_not() {
    let mut c = client_fin_wait_1();
    // The 10 bytes before the FIN, again: normal.
    assert!(c.client_sends(PSH | ACK, 101, 301, 10).is_empty());
    assert!(c.anomalies().is_empty());
    // New bytes after the FIN (which sits at 111): impossible.
    c.client_sends(PSH | ACK, 112, 301, 5);
    assert_eq!(c.anomalies(), vec![(Role::Client, Anomaly::DataAfterFin)]);
    assert_eq!(c.states(), (FinWait1, CloseWait), "no state moved");
}

#[test]
fn a_keep_alive_after_the_fin_is_not_data_after_fin() {
    let mut c = client_fin_wait_1();
    c.server_sends(ACK, 301, 112, 0);
    // One byte on the FIN's own slot (seq 111): a keep-alive probe.
    c.client_sends(ACK, 111, 301, 1);
    assert!(c.anomalies().is_empty());
}

#[test]
fn a_segment_from_a_closed_endpoint_other_than_rst_is_an_anomaly() {
    let mut c = established();
    c.client_sends(RST | ACK, 101, 301, 0);
    assert_eq!(c.states(), (Closed, Closed));
    // More RSTs answering late segments are what CLOSED does.
    c.client_sends(RST, 101, 0, 0);
    assert!(c.anomalies().is_empty());
    c.client_sends(PSH | ACK, 101, 301, 10);
    assert_eq!(
        c.anomalies(),
        vec![(Role::Client, Anomaly::SentWhileClosed)]
    );
}

#[test]
fn a_rst_that_does_not_ack_the_peers_fin_withdraws_close_wait() {
    // Captured near the client: its FIN, then the server's RST, which left before
    // that FIN arrived (ack 111, not 112): the server aborted in ESTABLISHED.
    let mut c = client_fin_wait_1();
    let out = c.server_sends(RST | ACK, 301, 111, 0);
    let w = &c.last.withdrawals;
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].endpoint, w[0].withdraws.to, w[0].why),
        (Role::Server, CloseWait, Withdrawn::ResetBeforeFin)
    );
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, Established, Closed, 6),
            (Role::Client, FinWait1, Closed, 6)
        ]
    );
    assert_eq!((out[0].why, out[1].why), (Why::SentRst, Why::ReceivedRst));
    assert_eq!(
        c.server.states(),
        vec![Listen, SynReceived, Established, Closed]
    );
    // A RST that does acknowledge the FIN keeps the CLOSE_WAIT.
    let mut c = client_fin_wait_1();
    c.server_sends(RST | ACK, 301, 112, 0);
    assert!(c.last.withdrawals.is_empty());
    assert_eq!(
        c.server.states(),
        vec![Listen, SynReceived, Established, CloseWait, Closed]
    );
}

#[test]
fn fins_crossed_then_a_rst_before_the_fin_arrived_leaves_fin_wait_1() {
    let mut c = established();
    c.client_sends(FIN | ACK, 101, 301, 0);
    c.server_sends(FIN | ACK, 301, 101, 0);
    c.client_sends(ACK, 102, 302, 0);
    assert_eq!(c.states(), (Closing, TimeWait));
    // The server's RST still acknowledges 101: neither the client's FIN nor its
    // ACK had arrived. The server went FIN_WAIT_1 → CLOSED; the client, CLOSING → CLOSED.
    let out = c.server_sends(RST | ACK, 302, 101, 0);
    assert_eq!(c.last.withdrawals.len(), 2, "CLOSING and TIME_WAIT");
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, FinWait1, Closed, 7),
            (Role::Client, Closing, Closed, 7)
        ]
    );
    assert_eq!(
        c.server.states(),
        vec![Listen, SynReceived, Established, FinWait1, Closed]
    );
    assert_eq!(
        c.client.states(),
        vec![Closed, SynSent, Established, FinWait1, Closing, Closed]
    );
}

#[test]
fn a_segment_sent_after_the_peers_rst_by_capture_order_was_sent_before_it_arrived() {
    // The client aborts in FIN_WAIT_2; the server's FIN (LAST_ACK) was already in
    // flight, captured after the RST.
    let mut c = client_fin_wait_1();
    c.server_sends(ACK, 301, 112, 0);
    c.client_sends(RST | ACK, 112, 301, 0);
    assert_eq!(c.states(), (Closed, Closed));
    let out = c.server_sends(FIN | ACK, 301, 112, 0);
    assert!(c.anomalies().is_empty(), "{:?}", c.anomalies());
    let w = &c.last.withdrawals;
    assert_eq!(
        (w.len(), w[0].withdraws.from, w[0].why),
        (1, CloseWait, Withdrawn::ResetInFlight)
    );
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, CloseWait, LastAck, 8),
            (Role::Server, LastAck, Closed, 8)
        ]
    );
    assert_eq!(out[1].why, Why::ReceivedRst);
    assert_eq!(
        c.server.states(),
        vec![Listen, SynReceived, Established, CloseWait, LastAck, Closed]
    );
    // The client's kernel answers that FIN with a RST of no socket: nothing moves.
    assert!(c.client_sends(RST, 112, 0, 0).is_empty());
}

#[test]
fn an_ack_that_crossed_the_peers_rst_moves_nothing() {
    // Fins crossed; the server's FIN then its RST reach the client, whose ACK of
    // that FIN (sent before the RST arrived) is captured after the RST.
    let mut c = established();
    c.client_sends(FIN | ACK, 101, 301, 0);
    c.server_sends(FIN | ACK, 301, 101, 0);
    c.server_sends(RST | ACK, 302, 101, 0);
    assert_eq!(c.states(), (Closed, Closed));
    let out = c.client_sends(ACK, 102, 302, 0);
    assert!(out.is_empty());
    assert!(c.last.withdrawals.is_empty());
    assert!(c.anomalies().is_empty(), "{:?}", c.anomalies());
    assert_eq!(c.client.transitions().last().map(|t| t.frame), Some(6));
}

#[test]
fn fin_or_data_in_syn_sent_is_an_anomaly() {
    let mut c = syn_sent();
    c.client_sends(FIN, 101, 0, 0);
    assert_eq!(
        c.anomalies(),
        vec![
            (Role::Client, Anomaly::SentBeforeOpen),
            (Role::Server, Anomaly::ReceivedBeforeOpen)
        ]
    );
    assert_eq!(c.client.state, SynSent);
    // The listening server answers with a FIN instead of a SYN-ACK.
    c.server_sends(FIN | ACK, 300, 101, 0);
    assert_eq!(
        c.anomalies(),
        vec![
            (Role::Server, Anomaly::SentBeforeOpen),
            (Role::Client, Anomaly::ReceivedBeforeOpen)
        ]
    );
    assert_eq!(c.states(), (SynSent, Listen));
}

#[test]
fn a_syn_ack_for_another_syn_is_an_anomaly() {
    let mut c = syn_sent();
    c.server_sends(SYN | ACK, 300, 555, 0);
    assert!(c
        .anomalies()
        .contains(&(Role::Client, Anomaly::SynAckNotForItsSyn)));
}

#[test]
fn retransmitted_syn_syn_ack_and_fin_are_not_anomalies() {
    let mut c = syn_sent();
    c.client_sends(SYN, 100, 0, 0);
    assert!(c.anomalies().is_empty());
    c.server_sends(SYN | ACK, 300, 101, 0);
    c.server_sends(SYN | ACK, 300, 101, 0);
    assert!(c.anomalies().is_empty());
    c.client_sends(ACK, 101, 301, 0);
    c.client_sends(FIN | ACK, 101, 301, 0);
    c.client_sends(FIN | ACK, 101, 301, 0);
    assert!(c.anomalies().is_empty());
    c.server_sends(FIN | ACK, 301, 102, 0);
    c.server_sends(FIN | ACK, 301, 102, 0);
    assert!(
        c.anomalies().is_empty(),
        "a FIN again in TIME_WAIT is normal"
    );
    assert_eq!(c.states(), (TimeWait, LastAck));
}

// ---- held SYN ------------------------------------------------------------------

#[test]
fn an_ack_after_a_missed_syn_ack_confirms_the_held_syn() {
    let mut c = syn_sent();
    // The SYN-ACK was not captured; the client's ACK shows it was sent and received.
    let out = c.client_sends(ACK, 101, 301, 0);
    assert_eq!(
        moves(&out),
        vec![
            (Role::Server, Listen, SynReceived, 1),
            (Role::Server, SynReceived, Established, 2)
        ]
    );
}

#[test]
fn a_syn_ack_without_a_captured_syn_is_attributed_to_itself() {
    let mut c = Conn::new();
    c.client = TcpEndpoint::new(Role::Client, SynSent).with_isn(100);
    let out = c.server_sends(SYN | ACK, 300, 101, 0);
    assert_eq!(out[0].why, Why::SentSynAckSynUnseen);
    assert_eq!(moves(&out)[0], (Role::Server, Listen, SynReceived, 1));
    assert_eq!(c.states(), (Established, SynReceived));
}

// ---- the replay rule, on random segment sequences -------------------------------

mod replay_rule {
    use proptest::prelude::*;

    use super::*;

    /// (from client?, flags, seq offset, ack offset, payload length).
    type Step = (bool, u16, u32, u32, u32);

    fn step() -> impl Strategy<Value = Step> {
        let flags = prop::sample::select(vec![SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, FIN, RST]);
        (any::<bool>(), flags, 0u32..14, 0u32..14, 0u32..4)
    }

    /// Replays what the frames streamed, applying withdrawals, per endpoint.
    fn replayed(frames: &[FrameAnalysis], role: Role) -> Vec<Transition> {
        let mut out: Vec<Transition> = Vec::new();
        for a in frames {
            for w in a.withdrawals.iter().filter(|w| w.endpoint == role) {
                let at = out.iter().rposition(|t| *t == w.withdraws);
                out.remove(at.expect("a withdrawal names a streamed transition"));
            }
            out.extend(a.transitions.iter().filter(|t| t.endpoint == role));
        }
        out.sort_by_key(|t| t.frame);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn streamed_transitions_with_withdrawals_are_the_endpoints_own(
            steps in prop::collection::vec(step(), 1..24)
        ) {
            let mut c = Conn::new();
            let mut frames = Vec::new();
            let mut server_silent = true;
            for (from_client, flags, seq, ack, len) in steps {
                server_silent &= from_client;
                if from_client {
                    c.client_sends(flags, 100 + seq, 300 + ack, len);
                } else {
                    c.server_sends(flags, 300 + seq, 100 + ack, len);
                }
                frames.push(c.last.clone());
            }
            // The capture's end, as `Analyzer::conclude` streams it: a record of its own.
            let mut end = FrameAnalysis::default();
            c.client.conclude(server_silent, &mut end);
            frames.push(end);
            let mut client = c.client.transitions().to_vec();
            let mut server = c.server.transitions().to_vec();
            client.sort_by_key(|t| t.frame);
            server.sort_by_key(|t| t.frame);
            prop_assert_eq!(replayed(&frames, Role::Client), client);
            prop_assert_eq!(replayed(&frames, Role::Server), server);
        }
    }
}
