//! `protolab run time-wait-expiry` by the real kernel, once (it lasts a minute:
//! Linux's TIME_WAIT is 60 s). It runs on loopback, so it creates no namespace
//! and stays out of the lab-network group; it needs root for the tracepoint and
//! sock_diag. The run must meet its expectation, including the kernel-only arc
//! TIME_WAIT → CLOSED by the 2MSL timer, which the socket table must time at
//! about 60 s, with protolab's states equal to the kernel's. Without root the test
//! is skipped with a message, unless `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where
//! it fails.

mod common;

use std::time::Duration;

use protolab::analyze::TcpState;
use protolab::lab::run::{run, RunConfig};
use protolab::scenario::{Params, ScenarioName};

#[test]
fn time_wait_ends_by_its_timer_after_sixty_seconds() {
    if !common::require_root("time-wait-expiry runs", "tracefs, sock_diag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig {
        scenario: ScenarioName::TimeWaitExpiry,
        params: Params::default(),
        port: None,
        out_dir: Some(dir.path().to_path_buf()),
        // Shorter than TIME_WAIT: the scenario takes the time it needs by itself.
        timeout: Duration::from_secs(30),
        command: "protolab run time-wait-expiry".into(),
        snaplen: None,
        lang: protolab::chart::Lang::En,
        netns: None,
    };
    let outcome = run(&config, &|| false).expect("run");
    let text = protolab::lab::summary::render(&outcome);
    assert!(outcome.mismatches.is_empty(), "{text}");
    assert!(outcome.kernel.agree, "{text}");
    assert!(outcome.bridge.is_none(), "loopback: {text}");
    assert!(text.contains("kernel only: no packet shows it"), "{text}");
    // The client's TIME_WAIT row, then CLOSED by the timer, timed by the table.
    let rows = &outcome.kernel.connections[0].client.rows;
    let [.., tw, closed] = &rows[..] else {
        panic!("{text}");
    };
    assert_eq!(
        (tw.kernel, tw.inferred, closed.kernel, closed.inferred),
        (
            Some(TcpState::TimeWait),
            Some(TcpState::TimeWait),
            Some(TcpState::Closed),
            None
        ),
        "{text}"
    );
    assert!(closed.kernel_only, "{text}");
    let lasted = Duration::from_nanos(closed.kernel_ns.unwrap() - tw.kernel_ns.unwrap());
    assert!(
        (Duration::from_secs(59)..Duration::from_secs(70)).contains(&lasted),
        "TIME_WAIT lasted {lasted:?}\n{text}"
    );
    println!("TIME_WAIT lasted {lasted:?}");
}
