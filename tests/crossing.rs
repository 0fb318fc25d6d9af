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

use std::time::Duration;

use protolab::analyze::TcpState;
use protolab::lab::run::{run, RunConfig, RunOutcome};
use protolab::scenario::{self, Params, ScenarioName};

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
    let repeats: usize = std::env::var("PROTOLAB_CROSSING_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    for name in CROSSING {
        let id = scenario::info(name).id;
        let expected = scenario::expectation(name, &Params::default());
        let want: Vec<(Vec<TcpState>, Vec<TcpState>)> = expected
            .connections
            .iter()
            .map(|c| (c.client_states.clone(), c.server_states.clone()))
            .collect();
        for round in 1..=repeats {
            let outcome = run(&config(name, dir.path()), &|| false)
                .unwrap_or_else(|e| panic!("{id} run {round}: {e}"));
            let text = protolab::lab::summary::render(&outcome);
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
                "{id} run {round}: not run in the namespace lab\n{text}"
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
