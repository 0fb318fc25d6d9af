//! Replays every committed fixture and checks states, transition frames, expert
//! flags and Zeek codes against what each capture was built to show
//! (captures/README.md says how each was made).

mod common;

use common::{replay_fixture, states, transition_frames};
use protolab::analyze::{FlowSummary, Why};

/// What one TCP connection of a fixture must look like.
struct Expect {
    client: &'static str,
    server: &'static str,
    client_frames: &'static [u64],
    server_frames: &'static [u64],
    conn_state: &'static str,
    history: &'static str,
}

fn check(name: &str, flow: &FlowSummary, e: &Expect) {
    let tcp = flow
        .tcp
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: not TCP"));
    assert_eq!(tcp.client_states, states(e.client), "{name}: client states");
    assert_eq!(tcp.server_states, states(e.server), "{name}: server states");
    assert_eq!(
        transition_frames(flow, true),
        e.client_frames,
        "{name}: client transition frames"
    );
    assert_eq!(
        transition_frames(flow, false),
        e.server_frames,
        "{name}: server transition frames"
    );
    assert_eq!(flow.conn_state, e.conn_state, "{name}: conn_state");
    assert_eq!(flow.history, e.history, "{name}: history");
}

fn single_flow(name: &str) -> (common::Replayed, FlowSummary) {
    let r = replay_fixture(name);
    assert!(r.error.is_none(), "{name}: {:?}", r.error);
    assert_eq!(r.flows.len(), 1, "{name}: one flow");
    let flow = r.flows[0].clone();
    (r, flow)
}

const ACTIVE_CLOSE: &str = "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT";
const PASSIVE_CLOSE_SERVER: &str = "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED";

#[test]
fn handshake_data_client_close() {
    let (r, flow) = single_flow("handshake_data_client_close.pcap");
    check(
        "handshake_data_client_close",
        &flow,
        &Expect {
            client: ACTIVE_CLOSE,
            server: PASSIVE_CLOSE_SERVER,
            client_frames: &[1, 2, 9, 10, 11],
            server_frames: &[1, 3, 9, 11, 12],
            conn_state: "SF",
            history: "ShADadFf",
        },
    );
    // The server's LISTEN → SYN_RECEIVED is learnt from the SYN-ACK (frame 2) but
    // attributed to the SYN it answers (frame 1).
    let t = &r.frame(2).1.transitions[0];
    assert_eq!((t.frame, t.to.name()), (1, "SYN_RECEIVED"));
    assert!(
        r.frames.iter().all(|(_, a)| a.flags.is_empty()),
        "a clean connection has no expert flags"
    );
    assert_eq!(flow.packets.client + flow.packets.server, 12);
}

#[test]
fn ethernet_padding_does_not_count_as_payload() {
    let (r, flow) = single_flow("handshake_data_client_close.pcap");
    let padded: Vec<_> = r
        .frames
        .iter()
        .filter(|(p, _)| p.len == 60 && p.tcp().is_some())
        .collect();
    assert!(!padded.is_empty(), "the fixture has a padded 60-byte frame");
    for (p, _) in padded {
        assert_eq!(p.tcp().unwrap().len, 0, "frame {}", p.frame);
    }
    assert_eq!((flow.bytes.client, flow.bytes.server), (26, 26));
}

#[test]
fn server_closes_first_and_ends_in_time_wait() {
    let (_, flow) = single_flow("server_close.pcap");
    check(
        "server_close",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT",
            client_frames: &[1, 2, 6, 8, 9],
            server_frames: &[1, 3, 6, 7, 8],
            conn_state: "SF",
            history: "ShADdfFa",
        },
    );
}

#[test]
fn simultaneous_open_passes_both_through_syn_received() {
    let (r, flow) = single_flow("simultaneous_open.pcap");
    check(
        "simultaneous_open",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT",
            server: "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
            client_frames: &[1, 2, 4, 10, 11, 12],
            server_frames: &[2, 2, 3, 10, 12, 13],
            conn_state: "SF",
            history: "SsAaDdFf",
        },
    );
    // Each SYN-ACK repeats its side's SYN: Wireshark calls that a retransmission.
    assert_eq!(r.frames_with("retransmission"), vec![3, 4]);
}

#[test]
fn simultaneous_close_passes_both_through_closing() {
    let (r, flow) = single_flow("simultaneous_close.pcap");
    // Capture order shows the client's FIN (frame 7) first, so the server looks
    // CLOSE_WAIT; its own FIN (frame 8) does not acknowledge that FIN, so frame 8
    // withdraws the CLOSE_WAIT in the open before the server's real close.
    assert_eq!(r.frame(7).1.transitions[1].to.name(), "CLOSE_WAIT");
    let w = &r.frame(8).1.withdrawals;
    assert_eq!(w.len(), 1);
    assert_eq!(
        (
            w[0].endpoint.name(),
            w[0].withdraws.frame,
            w[0].withdraws.to.name()
        ),
        ("server", 7, "CLOSE_WAIT")
    );
    assert!(
        r.frames.iter().all(|(_, a)| a.anomalies.is_empty()),
        "a clean close has no anomaly"
    );
    check(
        "simultaneous_close",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT",
            server: "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT",
            client_frames: &[1, 2, 7, 8, 10],
            server_frames: &[1, 3, 8, 8, 9],
            conn_state: "SF",
            history: "ShADdFfa",
        },
    );
}

/// The crossing scenarios as the kernel ran them (`protolab run`, recorded by the
/// bridge: the client's view, 100 ms each way), each one the kernel's tracepoint
/// confirmed state by state: the inference must say what the kernel said.
#[test]
fn kernel_recorded_simultaneous_open() {
    let (r, flow) = single_flow("kernel_simultaneous_open.pcapng");
    check(
        "kernel_simultaneous_open",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT",
            server: "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
            client_frames: &[3, 5, 9, 15, 17, 17],
            server_frames: &[5, 5, 6, 15, 17, 18],
            conn_state: "SF",
            history: "SsADadFf",
        },
    );
    assert!(r.frames.iter().all(|(_, a)| a.anomalies.is_empty()));
}

#[test]
fn kernel_recorded_simultaneous_close() {
    let (r, flow) = single_flow("kernel_simultaneous_close.pcapng");
    check(
        "kernel_simultaneous_close",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT",
            server: "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT",
            client_frames: &[5, 7, 14, 15, 17],
            server_frames: &[5, 8, 15, 15, 16],
            conn_state: "SF",
            history: "ShADadFf",
        },
    );
    // The client's FIN (14) comes first in the client's view; the server's FIN (15)
    // does not acknowledge it, so the server's CLOSE_WAIT of frame 14 is withdrawn.
    let w = &r.frame(15).1.withdrawals;
    assert_eq!(
        (w.len(), w[0].endpoint.name(), w[0].withdraws.frame),
        (1, "server", 14)
    );
    assert!(r.frames.iter().all(|(_, a)| a.anomalies.is_empty()));
}

#[test]
fn kernel_recorded_syn_received_close() {
    let (r, flow) = single_flow("kernel_syn_received_close.pcapng");
    check(
        "kernel_syn_received_close",
        &flow,
        &Expect {
            // FIN_WAIT_1 straight from SYN_RECEIVED: the client never was ESTABLISHED.
            client: "CLOSED SYN_SENT SYN_RECEIVED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT",
            server: "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
            client_frames: &[3, 6, 9, 14, 14],
            server_frames: &[6, 6, 7, 9, 14, 15],
            conn_state: "SF",
            history: "SsFAaf",
        },
    );
    assert!(r.frames.iter().all(|(_, a)| a.anomalies.is_empty()));
}

#[test]
fn kernel_recorded_abort_states() {
    let r = replay_fixture("kernel_abort_states.pcapng");
    assert!(r.error.is_none(), "{:?}", r.error);
    let flows: Vec<&FlowSummary> = r.flows.iter().filter(|f| f.tcp.is_some()).collect();
    assert_eq!(flows.len(), 5, "one connection per pair of states");
    let cases = [
        // 1: the client aborts in FIN_WAIT_2; the server gets the RST in CLOSE_WAIT.
        Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT CLOSED",
            client_frames: &[4, 7, 14, 15, 16],
            server_frames: &[4, 8, 14, 16],
            conn_state: "RSTO",
            history: "ShADadFR",
        },
        // 2: the server aborts in CLOSE_WAIT; the client gets it in FIN_WAIT_2.
        Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT CLOSED",
            client_frames: &[17, 19, 25, 27, 28],
            server_frames: &[17, 20, 25, 28],
            conn_state: "RSTR",
            history: "ShADadFr",
        },
        // 3: FINs cross; the server aborts in FIN_WAIT_1 (its RST at 40 does not
        // acknowledge the client's FIN): the client gets it in CLOSING.
        Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 CLOSED",
            client_frames: &[29, 31, 38, 39, 40],
            server_frames: &[29, 32, 39, 40],
            conn_state: "RSTR",
            history: "ShADadFfrrr",
        },
        // 4: the server aborts in ESTABLISHED, the client's FIN in flight: the client
        // gets the RST in FIN_WAIT_1.
        Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED CLOSED",
            client_frames: &[42, 46, 52, 53],
            server_frames: &[42, 47, 53],
            conn_state: "RSTR",
            history: "ShADadFr",
        },
        // 5: the client aborts in FIN_WAIT_2 while the server's FIN (66, captured
        // after the RST) is in flight: the server gets the RST in LAST_ACK.
        Expect {
            client: "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
            client_frames: &[54, 57, 63, 64, 65],
            server_frames: &[54, 58, 63, 66, 66],
            conn_state: "RSTO",
            history: "ShADadFRf",
        },
    ];
    for (i, (flow, expect)) in flows.iter().zip(cases).enumerate() {
        let name = format!("kernel_abort_states connection {}", i + 1);
        check(&name, flow, &expect);
        let tcp = flow.tcp.as_ref().unwrap();
        // Every arc into CLOSED is a RST: sent by one side, received by the other.
        let last = |t: &[protolab::analyze::TransitionRecord]| t.last().map(|t| t.why);
        let whys = [last(&tcp.client_transitions), last(&tcp.server_transitions)];
        assert!(
            whys.contains(&Some(Why::SentRst)) && whys.contains(&Some(Why::ReceivedRst)),
            "{name}: {whys:?}"
        );
    }
    // Three corrections, said in the open: CLOSE_WAIT (39: the FINs crossed), then
    // CLOSING (40) and CLOSE_WAIT (53) by RSTs that left before the client's FIN
    // arrived, and CLOSED (66) by a FIN that left before the client's RST arrived.
    let withdrawn: Vec<u64> = r
        .frames
        .iter()
        .filter(|(_, a)| !a.withdrawals.is_empty())
        .map(|(p, _)| p.frame)
        .collect();
    assert_eq!(withdrawn, [39, 40, 53, 66]);
    assert!(r.frames.iter().all(|(_, a)| a.anomalies.is_empty()));
}

#[test]
fn kernel_recorded_syn_received_abort() {
    let (r, flow) = single_flow("kernel_syn_received_abort.pcapng");
    check(
        "kernel_syn_received_abort",
        &flow,
        &Expect {
            // The client's RST (8) leaves from SYN_RECEIVED, right behind its SYN-ACK
            // (6), which opened the server.
            client: "CLOSED SYN_SENT SYN_RECEIVED CLOSED",
            server: "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED CLOSED",
            client_frames: &[3, 5, 8],
            server_frames: &[5, 5, 6, 8],
            conn_state: "RSTO",
            history: "SsRa",
        },
    );
    let tcp = flow.tcp.as_ref().unwrap();
    assert_eq!(tcp.client_transitions[2].why, Why::SentRst);
    assert_eq!(tcp.server_transitions[3].why, Why::ReceivedRst);
    // The server's SYN-ACK (10) and ACK (12) left before the RST reached it: captured
    // after it, they move nothing and are no anomaly.
    assert!(r
        .frames
        .iter()
        .all(|(_, a)| a.anomalies.is_empty() && a.withdrawals.is_empty()));
}

#[test]
fn rst_abort_closes_both_at_once() {
    let (_, flow) = single_flow("rst_abort.pcap");
    check(
        "rst_abort",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT ESTABLISHED CLOSED",
            server: "LISTEN SYN_RECEIVED ESTABLISHED CLOSED",
            client_frames: &[1, 2, 7],
            server_frames: &[1, 3, 7],
            conn_state: "RSTO",
            history: "ShADdR",
        },
    );
}

#[test]
fn refused_server_never_listens() {
    let (_, flow) = single_flow("refused.pcap");
    check(
        "refused",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT CLOSED",
            server: "CLOSED",
            client_frames: &[1, 2],
            server_frames: &[],
            conn_state: "REJ",
            history: "Sr",
        },
    );
}

#[test]
fn unanswered_syns_time_out_at_the_end_of_the_capture() {
    let (r, flow) = single_flow("connect_timeout.pcapng");
    check(
        "connect_timeout",
        &flow,
        &Expect {
            client: "CLOSED SYN_SENT CLOSED",
            // Nothing reached the server: the LISTEN it started in.
            server: "LISTEN",
            // The timer's arc is attributed to the last SYN: no later frame exists.
            client_frames: &[3, 13],
            server_frames: &[],
            conn_state: "S0",
            history: "S",
        },
    );
    let tcp = flow.tcp.as_ref().unwrap();
    assert_eq!(tcp.client_transitions[1].why, Why::ConnectTimedOut);
    assert_eq!(tcp.retransmissions, 2);
    assert_eq!(r.flags(8), ["retransmission"]);
    assert_eq!(r.flags(13), ["retransmission"]);
    // Streamed, no frame carries it: only the end of the capture proves it.
    assert!(r
        .frames
        .iter()
        .all(|(_, a)| a.transitions.iter().all(|t| t.why != Why::ConnectTimedOut)));
    // The backoff doubles: the second gap is twice the first.
    let ts = |n: u64| r.frame(n).0.ts_ns as f64;
    let ratio = (ts(13) - ts(8)) / (ts(8) - ts(3));
    assert!((1.9..2.1).contains(&ratio), "gap ratio {ratio}");
}

#[test]
fn a_new_isn_from_the_same_port_proves_the_earlier_connect_timed_out() {
    let r = replay_fixture("syn_restart.pcap");
    assert_eq!(r.flows.len(), 2, "the new ISN opens a second flow");
    check(
        "syn_restart flow 1",
        &r.flows[0],
        &Expect {
            client: "CLOSED SYN_SENT CLOSED",
            server: "LISTEN",
            client_frames: &[1, 3],
            server_frames: &[],
            conn_state: "S0",
            history: "S",
        },
    );
    check(
        "syn_restart flow 2",
        &r.flows[1],
        &Expect {
            client: ACTIVE_CLOSE,
            server: PASSIVE_CLOSE_SERVER,
            client_frames: &[4, 5, 7, 8, 9],
            server_frames: &[4, 6, 7, 9, 10],
            conn_state: "SF",
            history: "ShAFaf",
        },
    );
    // Said on the SYN that proved it, as flow 1's; flow 2 has no anomaly.
    let (_, a) = r.frame(4);
    let (flow, t) = a.concluded.expect("frame 4 concludes flow 1");
    assert_eq!((flow, t.frame, t.why), (1, 3, Why::ConnectTimedOut));
    assert_eq!(a.flow, Some(2));
    assert!(r.frames.iter().all(|(_, a)| a.anomalies.is_empty()));
}

#[test]
fn lost_syn_is_retransmitted_without_a_new_transition() {
    let (r, flow) = single_flow("lost_syn.pcap");
    check(
        "lost_syn",
        &flow,
        &Expect {
            client: ACTIVE_CLOSE,
            server: PASSIVE_CLOSE_SERVER,
            client_frames: &[1, 3, 8, 9, 10],
            // The server answered the second SYN: the first never reached it.
            server_frames: &[2, 4, 8, 10, 11],
            conn_state: "SF",
            history: "ShADdFaf",
        },
    );
    assert_eq!(r.flags(2), ["retransmission"]);
    assert_eq!(flow.tcp.as_ref().unwrap().retransmissions, 1);
}

#[test]
fn fast_retransmit_after_three_duplicate_acks() {
    let (r, flow) = single_flow("fast_retransmit.pcap");
    assert_eq!(r.frames_with("lost_segment"), vec![5]);
    assert_eq!(r.frames_with("duplicate_ack"), vec![10, 11, 12, 14]);
    assert_eq!(r.frames_with("fast_retransmission"), vec![13]);
    assert_eq!(r.flags(13), ["retransmission", "fast_retransmission"]);
    let dup_counts: Vec<u32> = [10, 11, 12, 14]
        .iter()
        .map(|&n| r.frame(n).1.dup_ack_count)
        .collect();
    assert_eq!(dup_counts, vec![1, 2, 3, 4]);
    let tcp = flow.tcp.as_ref().unwrap();
    assert_eq!(
        (tcp.retransmissions, tcp.fast_retransmissions, tcp.dup_acks),
        (1, 1, 4)
    );
    assert_eq!(flow.history, "ShADaTFf");
    assert_eq!(flow.conn_state, "SF");
}

#[test]
fn out_of_order_segment_within_an_rtt() {
    let (r, flow) = single_flow("out_of_order.pcap");
    assert_eq!(r.frames_with("lost_segment"), vec![6]);
    assert_eq!(r.frames_with("duplicate_ack"), vec![7]);
    assert_eq!(r.frames_with("out_of_order"), vec![8]);
    assert!(r.frames_with("retransmission").is_empty());
    assert_eq!(flow.tcp.as_ref().unwrap().out_of_order, 1);
}

#[test]
fn zero_window_with_probes() {
    let (r, flow) = single_flow("zero_window.pcap");
    assert_eq!(r.frames_with("window_full"), vec![8]);
    assert_eq!(r.frames_with("zero_window"), vec![9, 11, 13]);
    assert_eq!(r.frames_with("zero_window_probe"), vec![10, 12]);
    // The second probe repeats sequence space Zeek has seen: a retransmission (T).
    assert_eq!(flow.history, "ShADawTFf");
    let tcp = flow.tcp.as_ref().unwrap();
    assert_eq!((tcp.zero_windows, tcp.zero_window_probes), (3, 2));
}

#[test]
fn half_close_keeps_the_server_sending_in_close_wait() {
    let (r, flow) = single_flow("half_close.pcap");
    check(
        "half_close",
        &flow,
        &Expect {
            client: ACTIVE_CLOSE,
            server: PASSIVE_CLOSE_SERVER,
            client_frames: &[1, 2, 5, 6, 13],
            server_frames: &[1, 3, 5, 13, 14],
            conn_state: "SF",
            history: "ShADFadf",
        },
    );
    // Between the client's FIN being acknowledged and the server's FIN, the server sends data.
    let data_in_half_close = r.frames[6..12]
        .iter()
        .filter(|(p, _)| p.tcp().is_some_and(|t| t.len > 0))
        .count();
    assert!(
        data_in_half_close >= 3,
        "server data while the client is in FIN_WAIT_2"
    );
    assert_eq!(flow.bytes.server, 3500);
}

#[test]
fn ipv6_with_extension_header_and_icmpv6() {
    let (r, flow) = single_flow("ipv6.pcap");
    check(
        "ipv6",
        &flow,
        &Expect {
            client: ACTIVE_CLOSE,
            server: PASSIVE_CLOSE_SERVER,
            client_frames: &[3, 4, 10, 11, 12],
            server_frames: &[3, 5, 10, 12, 13],
            conn_state: "SF",
            history: "ShADadFf",
        },
    );
    assert_eq!(flow.client.to_string(), "[2001:db8::1]:40000");
    assert!(r
        .frames
        .iter()
        .any(|(p, _)| p.ip.as_ref().is_some_and(|ip| !ip.ext.is_empty())));
    let echo = r.frame(1).0.transport.as_ref().unwrap();
    assert!(matches!(echo, protolab::decode::Transport::Icmp(i) if i.icmp_type == 128));
}

#[test]
fn vlan_and_qinq_frames_are_decoded_and_flowed() {
    let (r, flow) = single_flow("vlan.pcap");
    assert_eq!(flow.conn_state, "SF");
    let tags: Vec<Vec<u16>> = r
        .frames
        .iter()
        .map(|(p, _)| p.eth.as_ref().unwrap().vlan.to_vec())
        .collect();
    assert!(tags.iter().all(|t| !t.is_empty()), "every frame is tagged");
    assert!(tags.contains(&vec![100]));
    assert!(tags.contains(&vec![200, 100]), "some frames are QinQ");
}

#[test]
fn midstream_starts_established() {
    let (_, flow) = single_flow("midstream.pcap");
    check(
        "midstream",
        &flow,
        &Expect {
            client: "ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT",
            server: "ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
            client_frames: &[8, 9, 10],
            server_frames: &[8, 10, 11],
            conn_state: "SF",
            history: "DadAFf",
        },
    );
    // No SYN: the client is the side on the higher (ephemeral) port.
    assert_eq!(flow.client.port(), 40000);
}

#[test]
fn a_reused_four_tuple_is_a_new_flow() {
    let r = replay_fixture("port_reuse.pcap");
    assert_eq!(r.flows.len(), 2);
    assert_eq!(r.flows[0].client, r.flows[1].client);
    assert_eq!((r.flows[0].flow, r.flows[1].flow), (1, 2));
    for f in &r.flows {
        assert_eq!(f.conn_state, "SF");
        assert_eq!(f.tcp.as_ref().unwrap().client_states[0].name(), "CLOSED");
    }
    assert_eq!(transition_frames(&r.flows[1], true)[0], 10);
}

#[test]
fn udp_has_no_handshake_and_no_states() {
    let (_, flow) = single_flow("udp_exchange.pcap");
    assert_eq!(flow.proto, "udp");
    assert!(flow.tcp.is_none());
    assert_eq!((flow.packets.client, flow.packets.server), (3, 3));
    assert_eq!(flow.udp.unwrap().answered, 3);
    assert_eq!((flow.conn_state, flow.history.as_str()), ("SF", "Dd"));
}

#[test]
fn arp_and_icmp_belong_to_no_flow() {
    let r = replay_fixture("arp.pcap");
    assert!(r.flows.is_empty());
    let arp = r.frame(1).0.arp.as_ref().unwrap();
    assert_eq!(arp.op, protolab::decode::ArpOp::Request);
    assert_eq!(
        r.frame(2).0.arp.as_ref().unwrap().op,
        protolab::decode::ArpOp::Reply
    );
}

#[test]
fn fragments_show_offset_and_more_flag_and_ip_options() {
    let r = replay_fixture("fragments.pcap");
    let frags: Vec<(u32, bool)> = r.frames[..3]
        .iter()
        .map(|(p, _)| {
            let f = p.ip.as_ref().unwrap().frag.unwrap();
            (f.offset, f.more)
        })
        .collect();
    assert_eq!(frags, vec![(0, true), (1480, true), (2960, false)]);
    assert!(r.frame(4).0.ip.as_ref().unwrap().options_len > 0);
    assert!(r.frames.iter().all(|(p, _)| p.error.is_none()));
}

#[test]
fn malformed_frames_get_errors_and_decoding_continues() {
    let r = replay_fixture("malformed.pcap");
    let errors: Vec<(u64, String)> = r
        .frames
        .iter()
        .filter_map(|(p, _)| p.error.as_ref().map(|e| (p.frame, e.to_string())))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                2,
                "ethernet: header needs 14 bytes, only 10 in the frame".to_string()
            ),
            (4, "ipv4: IHL 3 is below 5".to_string()),
            (6, "tcp: data offset 4 is below 5".to_string()),
            (
                8,
                "ipv4: total length 240 runs past the 86 bytes in the frame".to_string()
            ),
            (
                10,
                "udp: length 200 runs past the 14 bytes of IP payload".to_string()
            ),
            (14, "frame: no bytes captured".to_string()),
        ]
    );
    // The valid frames around them still form their connection and stream.
    assert_eq!(r.flows.len(), 2);
    let tcp = r.flows.iter().find(|f| f.proto == "tcp").unwrap();
    assert_eq!(
        tcp.tcp.as_ref().unwrap().client_states,
        states("CLOSED SYN_SENT ESTABLISHED")
    );
}

#[test]
fn every_link_type_and_file_format_gives_the_same_connection() {
    let reference = replay_fixture("linktype_raw101.pcap");
    let expect = &reference.flows[0];
    for name in [
        "linktype_null.pcap",
        "linktype_ipv4_228.pcap",
        "linktype_sll.pcap",
        "linktype_sll2.pcap",
        "format_pcap_ns.pcap",
        "format_pcap_be.pcap",
        "format_pcap_be_ns.pcap",
        "format_pcapng_multi_if.pcapng",
    ] {
        let (r, flow) = single_flow(name);
        assert!(r.frames.iter().all(|(p, _)| p.error.is_none()), "{name}");
        let tcp = flow.tcp.as_ref().unwrap();
        assert_eq!(
            tcp.client_states,
            expect.tcp.as_ref().unwrap().client_states,
            "{name}"
        );
        assert_eq!(
            tcp.server_states,
            expect.tcp.as_ref().unwrap().server_states,
            "{name}"
        );
        assert_eq!(
            (flow.conn_state, &flow.history),
            (expect.conn_state, &expect.history),
            "{name}"
        );
        assert_eq!(flow.packets, expect.packets, "{name}");
    }
    let (_, v6) = single_flow("linktype_ipv6_229.pcap");
    assert_eq!(v6.conn_state, "SF");
    assert_eq!(v6.server.to_string(), "[2001:db8::2]:8001");
}

#[test]
fn nanosecond_timestamps_are_kept_exactly() {
    let r = replay_fixture("format_pcap_ns.pcap");
    assert_eq!(r.frame(1).0.ts_ns, 1_700_000_000_000_000_123);
    assert_eq!(r.frame(2).0.ts_ns, 1_700_000_000_001_000_234);
    let be = replay_fixture("format_pcap_be_ns.pcap");
    assert_eq!(be.frame(2).0.ts_ns, r.frame(2).0.ts_ns);
}

#[test]
fn pcapng_interfaces_keep_their_own_link_type_and_resolution() {
    let ng = replay_fixture("format_pcapng_multi_if.pcapng");
    let us = replay_fixture("linktype_raw101.pcap");
    let ts = |r: &common::Replayed| r.frames.iter().map(|(p, _)| p.ts_ns).collect::<Vec<_>>();
    assert_eq!(
        ts(&ng),
        ts(&us),
        "µs and ns interfaces give the same absolute times"
    );
    let with_eth = ng.frames.iter().filter(|(p, _)| p.eth.is_some()).count();
    assert!(
        with_eth > 0 && with_eth < ng.frames.len(),
        "frames from both interfaces"
    );
}

#[test]
fn snaplen_truncated_segments_keep_their_real_length() {
    let (r, flow) = single_flow("snaplen_truncated.pcap");
    let (p, _) = r.frame(5);
    assert!(p.caplen < p.len);
    assert_eq!(p.tcp().unwrap().len, 1200);
    assert!(p.error.is_none());
    assert_eq!((flow.bytes.client, flow.bytes.server), (500, 1200));
    // Payload cut by snaplen is a content gap to Zeek once acknowledged: G, then g.
    assert_eq!(flow.history, "ShADdGgFaf");
}

#[test]
fn truncated_file_yields_whole_frames_then_an_error() {
    let r = replay_fixture("truncated_file.pcap");
    assert_eq!(r.frames.len(), 5);
    let err = r.error.expect("truncation reported").to_string();
    assert!(
        err.contains("truncated: the record after frame 5 is cut short"),
        "{err}"
    );
}

#[test]
fn recorded_loopback_captures_are_understood() {
    let (_, tcp) = single_flow("recorded_lo_tcp.pcap");
    assert_eq!(tcp.conn_state, "SF");
    assert_eq!(
        tcp.tcp.as_ref().unwrap().client_states,
        states(ACTIVE_CLOSE)
    );
    let (_, udp) = single_flow("recorded_lo_udp.pcapng");
    assert_eq!((udp.proto, udp.conn_state), ("udp", "SF"));
}
