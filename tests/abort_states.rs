//! `abort-states` and `syn-received-abort` run by the real kernel, again and again
//! (needs root: network namespaces, AF_PACKET, tracefs, sock_diag).
//!
//! Five connections, each aborted with `SO_LINGER {on, 0}` in another pair of
//! states (FIN_WAIT_2/CLOSE_WAIT both ways, FIN_WAIT_1 against CLOSING, ESTABLISHED
//! against FIN_WAIT_1, FIN_WAIT_2 against LAST_ACK); `syn-received-abort` aborts
//! one simultaneous open in SYN_RECEIVED. A scenario teaches only if
//! every run takes the same arcs: each run goes through `run`'s library entry
//! point without asking for the namespace lab (the scenario picks it, with its
//! delay), and the kernel's tracepoint sequences must equal the expectation, endpoint
//! by endpoint, with protolab's inferred states equal to the kernel's. CI runs each 3
//! times (about 16 and 6 s a run); `PROTOLAB_ABORT_REPEATS=10` runs the ten. One
//! run goes through the binary too: `protolab run abort-states` exits 0.
//! Without root the test is skipped with a message, unless
//! `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where it fails.

mod common;

use std::time::Duration;

use protolab::analyze::TcpState;
use protolab::lab::run::{run, RunConfig, RunOutcome};
use protolab::scenario::{self, Params, ScenarioName};

const ABORTS: [(ScenarioName, usize); 2] = [
    (ScenarioName::AbortStates, 5),
    (ScenarioName::SynReceivedAbort, 1),
];

#[test]
fn abort_states() {
    if !common::require_root("abort-states tests", "network namespaces, tracefs") {
        return;
    }
    the_same_arcs_every_run();
    run_exits_0_from_the_binary();
}

fn the_same_arcs_every_run() {
    let repeats: usize = std::env::var("PROTOLAB_ABORT_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    for (name, connections) in ABORTS {
        let id = scenario::info(name).id;
        let expected = scenario::expectation(name, &Params::default());
        let want: Vec<(Vec<TcpState>, Vec<TcpState>)> = expected
            .connections
            .iter()
            .map(|c| (c.client_states.clone(), c.server_states.clone()))
            .collect();
        assert_eq!(want.len(), connections);
        for round in 1..=repeats {
            let outcome = run(&config(name, dir.path()), &|| false)
                .unwrap_or_else(|e| panic!("{id} run {round}: {e}"));
            let text = protolab::lab::summary::render(&outcome);
            // The expectation's ways are checked here too: each RST arc is "snd RST"
            // on the aborting side and "rcv RST" on the other.
            assert!(
                outcome.mismatches.is_empty(),
                "{id} run {round}: expectations failed\n{text}"
            );
            assert_eq!(
                outcome.kernel.source, "tracepoint+sock_diag",
                "{id} run {round}\n{text}"
            );
            assert!(
                outcome.kernel.agree,
                "{id} run {round}: kernel disagrees\n{text}"
            );
            assert_eq!(
                kernel_paths(&outcome),
                want,
                "{id} run {round}: the kernel took other arcs\n{text}"
            );
            assert!(
                outcome.bridge.is_some(),
                "{id} run {round}: not run in the namespace lab"
            );
        }
        eprintln!("{id}: {repeats} runs, the same arcs each time");
    }
}

/// What the kernel said each endpoint went through: (client, server) per connection.
fn kernel_paths(outcome: &RunOutcome) -> Vec<(Vec<TcpState>, Vec<TcpState>)> {
    outcome
        .kernel
        .connections
        .iter()
        .map(|c| {
            let path = |rows: &[protolab::model::kernel::Row]| -> Vec<TcpState> {
                rows.iter().filter_map(|r| r.kernel).collect()
            };
            (path(&c.client.rows), path(&c.server.rows))
        })
        .collect()
}

fn config(name: ScenarioName, out: &std::path::Path) -> RunConfig {
    RunConfig {
        scenario: name,
        params: Params::default(),
        port: None,
        out_dir: Some(out.to_path_buf()),
        timeout: Duration::from_secs(30),
        command: format!("protolab run {}", scenario::info(name).id),
        snaplen: None,
        lang: protolab::chart::Lang::En,
        // Not asked for: the scenario chooses the namespace lab and its delay.
        netns: None,
    }
}

fn run_exits_0_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::protolab(&["run", "abort-states", "-o", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("recorded by the bridge"), "{stdout}");
    assert!(
        stdout.contains("arrive in LAST_ACK") && stdout.contains("close() in FIN_WAIT_1"),
        "{stdout}"
    );
}
