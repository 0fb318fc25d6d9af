//! The crossing scenarios run by the real kernel, again and again (needs root:
//! network namespaces, AF_PACKET, tracefs, sock_diag).
//!
//! `simultaneous-open`, `simultaneous-close` and `syn-received-close` only teach
//! something if their segments cross in flight every time. Each is run several
//! times in a row through `run`'s library entry point, without asking for the
//! namespace lab (the scenarios pick it, with their delay, by themselves), and
//! every run must show the same arcs: the kernel's tracepoint sequences equal the
//! scenario's expectation, endpoint by endpoint, and protolab's inferred states
//! equal the kernel's. CI runs each scenario 3 times (about 6 s a run);
//! `PROTOLAB_CROSSING_REPEATS=10` runs the ten.
//! One run goes through the binary too: `protolab run simultaneous-open`
//! exits 0 and says it ran in the namespace lab.
//! Without root the test is skipped with a message, unless
//! `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where it fails.

mod common;

use protolab::scenario::ScenarioName;

const CROSSING: [ScenarioName; 3] = [
    ScenarioName::SimultaneousOpen,
    ScenarioName::SimultaneousClose,
    ScenarioName::SynReceivedClose,
];

#[test]
fn crossing_scenarios() {
    if !common::require_root("crossing scenario tests", "network namespaces, tracefs") {
        return;
    }
    // One after the other: each run's namespaces and ports are its own.
    the_same_arcs_every_run();
    run_picks_the_namespace_lab_by_itself_and_exits_0();
}

fn the_same_arcs_every_run() {
    let repeats = common::repeat::repeats("PROTOLAB_CROSSING_REPEATS", 3);
    for name in CROSSING {
        common::repeat::the_same_arcs_every_run(name, repeats);
    }
}

fn run_picks_the_namespace_lab_by_itself_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::protolab(&[
        "run",
        "simultaneous-open",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("recorded by the bridge"), "{stdout}");
    assert!(stdout.contains("delays every frame by 100 ms"), "{stdout}");
    let run_dir = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["network"], "netns");
    assert_eq!(run_json["link"]["delay_ms"], 100.0);
    assert_eq!(run_json["expectation_met"], true);
}
