//! A lab scenario run again and again through `run`'s library entry point,
//! without asking for the namespace lab (the scenario picks it, with its delay):
//! every run must meet its expectation, be confirmed by the kernel's tracepoint
//! with protolab's states equal to the kernel's, and show the kernel taking the
//! expectation's arcs, endpoint by endpoint. The crossing and abort scenarios'
//! repeat tests share it.

use std::time::Duration;

use protolab::analyze::TcpState;
use protolab::lab::run::{run, RunConfig, RunOutcome};
use protolab::scenario::{self, Params, ScenarioName, Side};

/// How many runs: the variable `var` when set to a number, else `default`.
pub fn repeats(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs `name` `repeats` times; panics on the first run that takes other arcs.
/// Returns how many connections the expectation has.
pub fn the_same_arcs_every_run(name: ScenarioName, repeats: usize) -> usize {
    the_same_arcs_every_run_and(name, repeats, |_, _| {})
}

/// [`the_same_arcs_every_run`], with `check` looking at each run as well (its
/// number, from 1, and what it produced).
pub fn the_same_arcs_every_run_and(
    name: ScenarioName,
    repeats: usize,
    check: impl Fn(usize, &RunOutcome),
) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let id = scenario::info(name).id;
    let expected = scenario::expectation(name, &Params::default());
    let want: Vec<(Vec<TcpState>, Vec<TcpState>)> = expected
        .connections
        .iter()
        // The packets' paths, then the arcs only the kernel shows.
        .map(|c| (c.kernel_path(Side::Client), c.kernel_path(Side::Server)))
        .collect();
    for round in 1..=repeats {
        let outcome = run(&config(name, dir.path()), &|| false)
            .unwrap_or_else(|e| panic!("{id} run {round}: {e}"));
        let text = protolab::lab::summary::render(&outcome);
        // The expectation's ways are checked here too (e.g. "snd RST" on the
        // aborting side, "rcv RST" on the other).
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
        check(round, &outcome);
    }
    eprintln!("{id}: {repeats} runs, the same arcs each time");
    want.len()
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
