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

use protolab::scenario::ScenarioName;

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
    let repeats = common::repeat::repeats("PROTOLAB_ABORT_REPEATS", 3);
    for (name, connections) in ABORTS {
        assert_eq!(
            common::repeat::the_same_arcs_every_run(name, repeats),
            connections
        );
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
