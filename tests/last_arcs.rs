//! The last arcs of the diagram a Linux kernel can take, run by the real kernel
//! again and again (needs root: network namespaces, AF_PACKET, tracefs,
//! sock_diag):
//!
//! - `connect-abandon`: close() in SYN_SENT and close() of the listener, with
//!   nothing on the wire: the capture shows one unanswered SYN (protolab must not
//!   call it a timeout) and the kernel's tracepoint the two closes, the
//!   expectation's kernel-only arcs.
//! - `time-wait-rst`: the bridge sends the server's FIN again after the client's
//!   last ACK; the capture must show the duplicate FIN, the TIME_WAIT's second ACK
//!   of it, and the server's RST whose sequence number is that ACK's
//!   acknowledgment number; the socket table must show the TIME_WAIT ending there,
//!   long before 60 s.
//!
//! Each run goes through `run`'s library entry point without asking for the
//! namespace lab (the scenario picks it); every run must meet its expectation,
//! kernel-only arcs included, with protolab's states equal to the kernel's, and
//! take the same arcs. CI runs each 3 times; `PROTOLAB_LAST_ARCS_REPEATS=10` runs
//! ten. Without root the tests are skipped with a message, unless
//! `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where they fail.

mod common;

use protolab::capture::FileReader;
use protolab::decode::{decode_bytes, Packet, Transport};
use protolab::scenario::ScenarioName;

fn repeats() -> usize {
    common::repeat::repeats("PROTOLAB_LAST_ARCS_REPEATS", 3)
}

#[test]
fn connect_abandon_closes_in_syn_sent_and_the_listener_every_run() {
    if !common::require_root("connect-abandon runs", "network namespaces, tracefs") {
        return;
    }
    assert_eq!(
        common::repeat::the_same_arcs_every_run(ScenarioName::ConnectAbandon, repeats()),
        1
    );
}

#[test]
fn time_wait_rst_the_duplicate_fin_brings_back_the_rst_that_ends_time_wait() {
    if !common::require_root("time-wait-rst runs", "network namespaces, tracefs") {
        return;
    }
    let connections = common::repeat::the_same_arcs_every_run_and(
        ScenarioName::TimeWaitRst,
        repeats(),
        |round, outcome| {
            let segs = tcp_segments(&outcome.capture_path);
            let text = protolab::lab::summary::render(outcome);
            // The server's FIN, twice, the same segment (seq and timestamp).
            let fins: Vec<&Seg> = segs.iter().filter(|s| !s.from_client && s.fin).collect();
            assert_eq!(fins.len(), 2, "run {round}: {segs:?}\n{text}");
            assert_eq!(fins[0].seq, fins[1].seq, "run {round}");
            let second = segs.iter().position(|s| std::ptr::eq(s, fins[1])).unwrap();
            // After it: the client's ACK of it again, then the server's RST.
            let ack = segs[second + 1..]
                .iter()
                .find(|s| s.from_client)
                .unwrap_or_else(|| panic!("run {round}: no second ACK\n{text}"));
            assert_eq!(ack.ack, fins[1].seq + 1, "run {round}");
            let rst = segs
                .iter()
                .find(|s| !s.from_client && s.rst)
                .unwrap_or_else(|| panic!("run {round}: no RST\n{text}"));
            assert_eq!(rst.seq, ack.ack, "run {round}: the RST's seq");
            // Nothing from the client after the RST: its TIME_WAIT is gone.
            let after_rst = segs.iter().position(|s| std::ptr::eq(s, rst)).unwrap();
            assert!(
                segs[after_rst + 1..].iter().all(|s| !s.from_client),
                "run {round}"
            );
            // The socket table saw TIME_WAIT end right after the RST.
            let c = &outcome.kernel.connections[0].client;
            let tw = c
                .rows
                .iter()
                .position(|r| r.kernel == Some(protolab::analyze::TcpState::TimeWait))
                .unwrap();
            let (Some(start), Some(end)) = (c.rows[tw].kernel_ns, c.rows[tw + 1].kernel_ns) else {
                panic!("run {round}: no kernel times\n{text}");
            };
            let lasted = std::time::Duration::from_nanos(end - start);
            assert!(
                lasted < std::time::Duration::from_secs(5),
                "run {round}: {lasted:?}"
            );
        },
    );
    assert_eq!(connections, 1);
}

/// One TCP segment of a capture, as the test needs it.
#[derive(Debug)]
struct Seg {
    from_client: bool,
    seq: u32,
    ack: u32,
    fin: bool,
    rst: bool,
}

/// The capture's TCP segments in order (the client is the side on 198.18.0.1).
fn tcp_segments(capture: &std::path::Path) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut packet = Packet::default();
    for frame in FileReader::open(capture).unwrap() {
        let f = frame.unwrap();
        decode_bytes(
            f.number,
            f.ts_ns,
            f.linktype,
            f.orig_len,
            &f.bytes,
            &mut packet,
        );
        if let (Some(ip), Some(Transport::Tcp(t))) = (&packet.ip, &packet.transport) {
            out.push(Seg {
                from_client: ip.src.to_string() == "198.18.0.1",
                seq: t.seq,
                ack: t.ack,
                fin: t.flags.fin(),
                rst: t.flags.rst(),
            });
        }
    }
    out
}
