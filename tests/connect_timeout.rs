//! `protolab run connect-timeout`, again and again (needs root: namespaces, the
//! bridge, tracefs): every run the kernel's tracepoint shows the client's socket go
//! SYN_SENT → CLOSE with no answer, protolab infers the same from the packets alone,
//! and the SYNs double their gaps. The arcs must be the same every run: the scenario
//! is deterministic, not timing luck.
//!
//! Three runs by default (about 10 s each); `PROTOLAB_REPEAT=10` runs ten. Without
//! root the test is skipped with a message, unless `PROTOLAB_REQUIRE_ROOT_TESTS=1`
//! (CI), where it fails.

mod common;

use std::time::Duration;

use protolab::analyze::{TcpState, Why};
use protolab::capture::FileReader;
use protolab::decode::{decode_bytes, Packet, Transport};
use protolab::lab::run::{run, RunConfig};
use protolab::scenario::{Params, ScenarioName};

/// Each endpoint's states as the kernel reported them, client then server.
type KernelArcs = (Vec<Option<TcpState>>, Vec<Option<TcpState>>);

#[test]
fn connect_timeout_gives_the_same_arcs_every_run() {
    if !common::require_root("connect-timeout runs", "namespaces, AF_PACKET, tracefs") {
        return;
    }
    let runs: usize = std::env::var("PROTOLAB_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let mut seen: Vec<KernelArcs> = Vec::new();
    for i in 0..runs {
        let config = RunConfig {
            scenario: ScenarioName::ConnectTimeout,
            params: Params::default(),
            port: None,
            out_dir: Some(dir.path().to_path_buf()),
            timeout: Duration::from_secs(30),
            command: "protolab run connect-timeout".into(),
            snaplen: None,
            lang: protolab::chart::Lang::En,
            // Not asked for: the scenario picks the lab network by itself.
            netns: None,
        };
        let outcome = run(&config, &|| false).unwrap_or_else(|e| panic!("run {i}: {e}"));
        let text = protolab::lab::summary::render(&outcome);
        assert!(outcome.mismatches.is_empty(), "run {i}\n{text}");
        assert!(outcome.kernel.agree, "run {i}: kernel disagrees\n{text}");
        assert!(
            outcome.kernel.source.contains("tracepoint"),
            "run {i}\n{text}"
        );
        assert!(outcome.bridge.is_some(), "run {i}: not in the lab network");

        let [c] = &outcome.kernel.connections[..] else {
            panic!("run {i}: one connection\n{text}");
        };
        let kernel = |rows: &[protolab::model::kernel::Row]| -> Vec<Option<TcpState>> {
            rows.iter().map(|r| r.kernel).collect()
        };
        seen.push((kernel(&c.client.rows), kernel(&c.server.rows)));

        // The inferred timeout is the timer's arc, not a RST.
        let tcp = outcome.flows[0].tcp.as_ref().unwrap();
        let last = tcp.client_transitions.last().unwrap();
        assert_eq!(
            (last.from, last.to, last.why),
            (TcpState::SynSent, TcpState::Closed, Why::ConnectTimedOut),
            "run {i}"
        );

        // On the wire: three SYNs (TCP_SYNCNT 2), each gap twice the one before,
        // and nothing from the server, RST least of all.
        let syns = client_syn_times(&outcome.capture_path, &mut |p| {
            assert!(
                p.tcp().is_none_or(|t| t.sport != 8014),
                "run {i}: the server sent {p:?}"
            );
        });
        assert_eq!(syns.len(), 3, "run {i}: SYNs at {syns:?}");
        let ratio = (syns[2] - syns[1]) as f64 / (syns[1] - syns[0]) as f64;
        assert!(
            (1.5..2.5).contains(&ratio),
            "run {i}: gaps {syns:?} do not double"
        );
    }
    let first = &seen[0];
    assert_eq!(
        first,
        &(
            vec![
                Some(TcpState::Closed),
                Some(TcpState::SynSent),
                Some(TcpState::Closed)
            ],
            // The listener, which no SYN reached, closed at the end: kernel only.
            vec![Some(TcpState::Listen), Some(TcpState::Closed)]
        )
    );
    for (i, arcs) in seen.iter().enumerate() {
        assert_eq!(arcs, first, "run {i} took other arcs than run 0");
    }
    println!(
        "{runs} runs of connect-timeout, {} times the kernel's {:?}",
        seen.len(),
        first.0
    );
}

/// The times of the client's SYNs in `capture`; every TCP packet also goes to `check`.
fn client_syn_times(capture: &std::path::Path, check: &mut dyn FnMut(&Packet)) -> Vec<u64> {
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
        if let Some(Transport::Tcp(t)) = &packet.transport {
            check(&packet);
            if t.flags.syn() && !t.flags.ack() {
                out.push(packet.ts_ns);
            }
        }
    }
    out
}
