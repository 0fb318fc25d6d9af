//! Many clients at once: [`run_clients`] runs a scenario's client `n` times
//! concurrently (the concurrent server is the lesson of `tcp-upper` and
//! `udp-daytime`) and merges what they saw, in client order, so a report does not
//! depend on which client finished first.

use std::future::Future;

use tokio::task::JoinSet;

use super::{ClientReport, ScenarioError};

/// Runs `n` clients concurrently and merges their reports in client order.
pub(crate) async fn run_clients<F, Fut>(n: usize, one: F) -> Result<ClientReport, ScenarioError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<ClientReport, ScenarioError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let fut = one(i);
        tasks.spawn(async move { (i, fut.await) });
    }
    let mut done = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => done.push(pair),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    done.sort_by_key(|(i, _)| *i);
    let mut report = ClientReport::default();
    for (_, one) in done {
        let one = one?;
        report.bytes_sent += one.bytes_sent;
        report.bytes_received += one.bytes_received;
        report.replies.extend(one.replies);
        report.notes.extend(one.notes);
        report.sha256 = one.sha256.or(report.sha256);
        report.tcp_info.extend(one.tcp_info);
    }
    Ok(report)
}
