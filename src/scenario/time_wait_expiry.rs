//! `time-wait-expiry`: TIME_WAIT ends by its timer, 2MSL after it began.
//!
//! An ordinary close (the client first, so the client keeps the TIME_WAIT), and
//! then the wait RFC 9293 §3.10.8 prescribes: "When the time-wait timeout expires
//! … delete the TCB, enter the CLOSED state". The RFC's 2×MSL is 4 minutes;
//! Linux's is fixed at 60 s (`TCP_TIMEWAIT_LEN`, not a sysctl). No packet shows
//! the end, so the arc is the expectation's kernel-only arc: the client waits,
//! asking the socket table (sock_diag) until its TIME_WAIT is gone, at most
//! [`WAIT_LIMIT`], and the run checks that the kernel's record timed it at about
//! 60 s (the kernel's timer wheel fires a long timer up to one eighth late).
//!
//! It runs on loopback (no link is needed: nothing is on the wire to shape) and
//! takes a minute.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use super::time_wait_rst::{close_first_and_wait_out, serve_answering, WaitedOut};
use super::{
    ClientReport, ConnectionExpectation, Expectation, KernelOnlyArc, Params, ScenarioError,
    ServerReport, Shutdown, Side,
};
use crate::analyze::diagram::Trigger;
use crate::analyze::TcpState;

/// Linux's TIME_WAIT: `TCP_TIMEWAIT_LEN`, 60 s.
pub const TIME_WAIT_LEN: Duration = Duration::from_secs(60);
/// How long the client waits for its TIME_WAIT to end before it gives up.
pub const WAIT_LIMIT: Duration = Duration::from_secs(75);

/// What the client says before it closes.
pub const REQUEST: &[u8] = b"see you in two MSL\n";
/// What the server answers.
pub const ANSWER: &[u8] = b"sixty seconds on Linux\n";

/// The server: one connection, answered, closed once the client has closed.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    serve_answering(listener, params, shutdown, ANSWER).await
}

/// The client: ask, read the answer, close first, and wait out its TIME_WAIT.
pub async fn client(server: SocketAddr, _params: &Params) -> Result<ClientReport, ScenarioError> {
    let waited =
        close_first_and_wait_out(server, REQUEST, Duration::from_millis(20), WAIT_LIMIT).await;
    let (mut report, end) = match waited {
        Ok(done) => done,
        Err(WaitedOut::TimeWaitStayed(_)) => {
            return Err(ScenarioError::Timeout {
                what: "wait for TIME_WAIT's 2MSL timer".into(),
                after: WAIT_LIMIT,
            })
        }
        Err(WaitedOut::Failed(e)) => return Err(e),
    };
    report.notes.push(format!(
        "our TIME_WAIT stayed in the socket table for {:.1} s (Linux's 2MSL is {} s), \
         then the timer removed it: TIME_WAIT → CLOSED, nothing on the wire",
        end.seen_for.as_secs_f64(),
        TIME_WAIT_LEN.as_secs()
    ));
    Ok(report)
}

/// An ordinary close by the client, then TIME_WAIT's timer: kernel only.
pub fn expectation() -> Expectation {
    let mut c = ConnectionExpectation::client_closes_first(
        Some(REQUEST.len() as u64),
        Some(ANSWER.len() as u64),
    );
    c.kernel_only = vec![KernelOnlyArc::new(
        Side::Client,
        TcpState::TimeWait,
        TcpState::Closed,
        Trigger::Timer,
    )
    // Never early; late by at most the timer wheel's granularity (≤ 1/8).
    .lasting(
        TIME_WAIT_LEN - Duration::from_secs(1),
        TIME_WAIT_LEN + Duration::from_secs(10),
    )];
    Expectation {
        connections: vec![c],
        udp_datagrams: None,
        kernel_confirms: true,
        notes: vec![
            "an ordinary close: the client, closing first, keeps the TIME_WAIT",
            "60 s later the kernel deletes it: no packet shows it, the socket table does",
        ],
    }
}
