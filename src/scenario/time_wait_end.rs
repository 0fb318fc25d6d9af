//! Waiting for a TIME_WAIT to end, as the kernel's socket table shows it.
//!
//! Once a socket is in TIME_WAIT its program has nothing left to ask: the file
//! descriptor refers to a closed socket, and the kernel keeps the connection in a
//! separate timewait object that `TCP_INFO` cannot reach. The socket table
//! (netlink sock_diag, what `ss` reads) still lists it, so the client of
//! `time-wait-rst` and `time-wait-expiry` asks it, again and again, until the
//! entry is gone: the run ends on that condition, not after a guessed time.
//! sock_diag answers for the namespace of the thread that asks: the client's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::ScenarioError;
use crate::lab::kernel::{sample_once, KernelState};

/// How the wait went: how long the TIME_WAIT was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeWaitEnd {
    /// From the first sample that listed it to the first that did not.
    pub seen_for: Duration,
}

/// Waits until the socket table no longer lists `local → remote` in TIME_WAIT,
/// asking every `every`, for at most `limit`. The TIME_WAIT must be there at the
/// first look (the caller has just seen the peer's FIN).
pub(crate) async fn time_wait_gone(
    local: SocketAddr,
    remote: SocketAddr,
    every: Duration,
    limit: Duration,
) -> Result<TimeWaitEnd, ScenarioError> {
    let what = || format!("watch {local} → {remote} in TIME_WAIT in the socket table");
    let first = Instant::now();
    let deadline = first + limit;
    let mut looked = false;
    loop {
        let table = sample_once(&[remote.port()])
            .map_err(|e| ScenarioError::io(what(), std::io::Error::other(e.to_string())))?;
        let there = table
            .iter()
            .any(|s| s.local == local && s.remote == remote && s.state == KernelState::TimeWait);
        match (there, looked) {
            (false, false) => {
                return Err(ScenarioError::Protocol(format!(
                    "no TIME_WAIT socket {local} → {remote} in the socket table"
                )))
            }
            (false, true) => {
                return Ok(TimeWaitEnd {
                    seen_for: first.elapsed(),
                })
            }
            (true, _) => looked = true,
        }
        if Instant::now() >= deadline {
            return Err(ScenarioError::Timeout {
                what: what(),
                after: limit,
            });
        }
        tokio::time::sleep(every).await;
    }
}
