//! The kernel's socket states beside the inferred ones, per connection and endpoint.
//!
//! Pure: flows from the capture and what the kernel observers recorded (as a plain
//! [`KernelRecord`]) go in, a side-by-side table and a verdict come out. Two kernel facts shape the rules:
//! the tracepoint never shows TIME_WAIT (the kernel swaps the socket for a separate
//! time-wait object, so it prints FIN_WAIT2 → CLOSE), which the socket-table
//! samples fill in; and a server's accepted socket is born from the listener, so
//! the listener's LISTEN is the server endpoint's first state.

use std::net::SocketAddr;

use serde::Serialize;

use crate::analyze::{FlowSummary, TcpState, TransitionRecord};

/// What the kernel said during a run, in RFC terms: the input of [`compare_kernel`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KernelRecord {
    /// Which witnesses worked (`tracepoint+sock_diag`, `proc`, …).
    pub source: String,
    /// Every socket's transitions, as the tracepoint reported them.
    pub sockets: Vec<KernelSocket>,
    /// The socket table over time (TIME_WAIT lives only here).
    pub table: Vec<KernelTableEntry>,
    /// Set when no kernel source worked at all.
    pub unavailable: Option<String>,
}

/// One socket's life as the tracepoint saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub transitions: Vec<KernelStep>,
}

/// One transition of a socket; `None` for a kernel state with no RFC name
/// (NEW_SYN_RECV, a request socket).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelStep {
    pub ts_ns: u64,
    pub old: Option<TcpState>,
    pub new: Option<TcpState>,
}

/// A socket the table showed in one state, from the first sample that saw it so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelTableEntry {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: Option<TcpState>,
    pub first_seen_ns: u64,
}

/// One line of the side-by-side table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub inferred: Option<TcpState>,
    /// Frame of the inferred transition (none for the initial state).
    pub frame: Option<u64>,
    pub kernel: Option<TcpState>,
    /// Kernel time minus capture time of the same transition, in µs.
    pub offset_us: Option<i64>,
    pub agree: bool,
}

/// One endpoint of one connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointComparison {
    pub endpoint: &'static str,
    pub local: SocketAddr,
    pub rows: Vec<Row>,
    pub agree: bool,
}

/// One connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionComparison {
    pub flow: u64,
    pub client: EndpointComparison,
    pub server: EndpointComparison,
}

/// All connections, and whether the kernel agrees with every inferred sequence.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct KernelComparison {
    pub source: String,
    pub connections: Vec<ConnectionComparison>,
    pub agree: bool,
    /// Why no comparison was possible, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// (state, kernel time) as the kernel saw one endpoint.
fn kernel_states(
    obs: &KernelRecord,
    local: SocketAddr,
    remote: SocketAddr,
    server: bool,
) -> Vec<(TcpState, Option<u64>)> {
    let mut seq: Vec<(TcpState, Option<u64>)> = Vec::new();
    if let Some(history) = obs
        .sockets
        .iter()
        .find(|h| h.local == local && h.remote == remote)
    {
        if let Some(first) = history.transitions.first().and_then(|t| t.old) {
            seq.push((first, None));
        }
        for t in &history.transitions {
            // NEW_SYN_RECV (a request socket) has no RFC state of its own.
            if let Some(new) = t.new {
                if seq.last().map(|(s, _)| *s) != Some(new) {
                    seq.push((new, Some(t.ts_ns)));
                }
            }
        }
    }
    if server {
        // The accepted socket is born from the listener: its first state is LISTEN.
        let listened = obs.sockets.iter().any(|h| {
            h.local.port() == local.port()
                && h.remote.port() == 0
                && h.transitions
                    .iter()
                    .any(|t| t.new == Some(TcpState::Listen))
        });
        if listened && seq.first().map(|(s, _)| *s) != Some(TcpState::Listen) {
            if seq.first().map(|(s, _)| *s) == Some(TcpState::Closed) {
                seq.remove(0);
            }
            seq.insert(0, (TcpState::Listen, None));
        }
    }
    // TIME_WAIT lives in the socket table only: the closing CLOSE was really TIME_WAIT.
    let time_wait = obs
        .table
        .iter()
        .find(|s| s.local == local && s.remote == remote && s.state == Some(TcpState::TimeWait));
    if let Some(tw) = time_wait {
        let n = seq.len();
        if n >= 2
            && seq[n - 1].0 == TcpState::Closed
            && matches!(seq[n - 2].0, TcpState::FinWait2 | TcpState::Closing)
        {
            seq[n - 1] = (TcpState::TimeWait, Some(tw.first_seen_ns));
        }
    }
    if seq.is_empty() {
        // No socket ever existed on that side (a refused connection's server).
        seq.push((TcpState::Closed, None));
    }
    seq
}

fn compare_endpoint(
    endpoint: &'static str,
    local: SocketAddr,
    inferred: &[TcpState],
    transitions: &[TransitionRecord],
    kernel: &[(TcpState, Option<u64>)],
) -> EndpointComparison {
    let n = inferred.len().max(kernel.len());
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let inf = inferred.get(i).copied();
        // transitions[i - 1] led to inferred[i].
        let t = i.checked_sub(1).and_then(|j| transitions.get(j));
        let k = kernel.get(i);
        let offset_us = match (t, k.and_then(|(_, ts)| *ts)) {
            (Some(t), Some(kts)) => Some((kts as i64 - t.ts.0 as i64) / 1_000),
            _ => None,
        };
        rows.push(Row {
            inferred: inf,
            frame: t.map(|t| t.frame),
            kernel: k.map(|(s, _)| *s),
            offset_us,
            agree: inf.is_some() && inf == k.map(|(s, _)| *s),
        });
    }
    let agree = rows.iter().all(|r| r.agree);
    EndpointComparison {
        endpoint,
        local,
        rows,
        agree,
    }
}

/// Compares every TCP connection of `flows` with the kernel's record of its sockets.
pub fn compare_kernel(flows: &[FlowSummary], obs: &KernelRecord) -> KernelComparison {
    if let Some(why) = &obs.unavailable {
        return KernelComparison {
            source: obs.source.clone(),
            connections: Vec::new(),
            agree: true,
            unavailable: Some(why.clone()),
        };
    }
    let connections: Vec<ConnectionComparison> = flows
        .iter()
        .filter_map(|f| {
            let tcp = f.tcp.as_ref()?;
            let client_kernel = kernel_states(obs, f.client, f.server, false);
            let server_kernel = kernel_states(obs, f.server, f.client, true);
            Some(ConnectionComparison {
                flow: f.flow,
                client: compare_endpoint(
                    "client",
                    f.client,
                    &tcp.client_states,
                    &tcp.client_transitions,
                    &client_kernel,
                ),
                server: compare_endpoint(
                    "server",
                    f.server,
                    &tcp.server_states,
                    &tcp.server_transitions,
                    &server_kernel,
                ),
            })
        })
        .collect();
    let agree = connections.iter().all(|c| c.client.agree && c.server.agree);
    KernelComparison {
        source: obs.source.clone(),
        connections,
        agree,
        unavailable: None,
    }
}
