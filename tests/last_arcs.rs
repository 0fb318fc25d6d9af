//! The last arcs of the diagram a Linux kernel can take, run by the real kernel
//! again and again (needs root: network namespaces, AF_PACKET, tracefs,
//! sock_diag):
//!
//! - `connect-abandon`: close() in SYN_SENT and close() of the listener, with
//!   nothing on the wire: the capture shows one unanswered SYN (protolab must not
//!   call it a timeout) and the kernel's tracepoint the two closes, the
//!   expectation's kernel-only arcs.
//!
//! Each run goes through `run`'s library entry point without asking for the
//! namespace lab (the scenario picks it); every run must meet its expectation,
//! kernel-only arcs included, with protolab's states equal to the kernel's, and
//! take the same arcs. CI runs each 3 times; `PROTOLAB_LAST_ARCS_REPEATS=10` runs
//! ten. Without root the tests are skipped with a message, unless
//! `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where they fail.

mod common;

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
