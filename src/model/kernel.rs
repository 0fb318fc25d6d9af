//! The kernel's socket states beside the inferred ones, per connection and endpoint.
//!
//! Pure: flows from the capture and what the kernel observers recorded (as a plain
//! [`KernelRecord`]) go in, a side-by-side table and a verdict come out. Two kernel facts shape the rules:
//! the tracepoint never shows TIME_WAIT (the kernel swaps the socket for a separate
//! time-wait object, so it prints FIN_WAIT2 → CLOSE), which the socket-table
//! samples fill in (and the table shows it end: after a RST, or 2MSL later); and a
//! server's accepted socket is born from the listener, so the listener's LISTEN is
//! the server endpoint's first state (and when no SYN reached the server, the
//! listener is the server endpoint: its close is the server's last arc).
//!
//! Some arcs leave nothing on the wire (closing a listener or a connecting socket,
//! TIME_WAIT's 2MSL timer): where the packets' path stops and the kernel's goes on
//! by such an arc, the row says "kernel only", which is no disagreement; the
//! inferred side is never rewritten.

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
    /// The first sample without it (it left that state, or the table), when that
    /// happened while the run lasted.
    pub ended_ns: Option<u64>,
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
    /// The kernel took this arc, and no packet can show it (a call with nothing on
    /// the wire, a timer): `inferred` is empty, and that is no disagreement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kernel_only: bool,
    /// When the kernel took it (CLOCK_REALTIME ns), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_ns: Option<u64>,
}

/// Whether the kernel's step `from → to` is one no packet can show: a diagram arc
/// Linux takes by a call or a timer, which the inference never takes.
pub fn no_packet_shows(from: TcpState, to: TcpState) -> bool {
    use crate::analyze::diagram::{Linux, Trigger, DIAGRAM};
    DIAGRAM.iter().any(|a| {
        a.from == from
            && a.to == to
            && a.whys.is_empty()
            && a.trigger != Trigger::Segment
            && a.linux == Linux::Takes
    })
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
        let listener = obs.sockets.iter().find(|h| {
            h.local.port() == local.port()
                && h.remote.port() == 0
                && h.transitions
                    .iter()
                    .any(|t| t.new == Some(TcpState::Listen))
        });
        if let Some(listener) = listener {
            if seq.is_empty() {
                // No socket of this connection: no SYN reached the server, and its
                // endpoint is the listener itself, up to its close.
                let listening = listener
                    .transitions
                    .iter()
                    .skip_while(|t| t.new != Some(TcpState::Listen));
                for t in listening {
                    if let Some(new) = t.new {
                        if seq.last().map(|(s, _)| *s) != Some(new) {
                            let ts = (!seq.is_empty()).then_some(t.ts_ns);
                            seq.push((new, ts));
                        }
                    }
                }
            } else if seq.first().map(|(s, _)| *s) != Some(TcpState::Listen) {
                if seq.first().map(|(s, _)| *s) == Some(TcpState::Closed) {
                    seq.remove(0);
                }
                seq.insert(0, (TcpState::Listen, None));
            }
        }
    }
    // TIME_WAIT lives in the socket table only: the closing CLOSE was really
    // TIME_WAIT, and the table shows when it ended (a RST, or 2MSL), if it did while
    // the run lasted.
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
            if let Some(ended) = tw.ended_ns {
                seq.push((TcpState::Closed, Some(ended)));
            }
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
    let mut rows: Vec<Row> = Vec::with_capacity(n);
    for i in 0..n {
        let inf = inferred.get(i).copied();
        // transitions[i - 1] led to inferred[i].
        let t = i.checked_sub(1).and_then(|j| transitions.get(j));
        let k = kernel.get(i);
        let kernel_ns = k.and_then(|(_, ts)| *ts);
        let offset_us = match (t, kernel_ns) {
            (Some(t), Some(kts)) => Some((kts as i64 - t.ts.0 as i64) / 1_000),
            _ => None,
        };
        // Past the packets' path, the kernel went on by an arc no packet shows,
        // from a state both agreed on (or that was itself such an arc).
        let kernel_only = inf.is_none()
            && i >= 1
            && rows.last().is_some_and(|r| r.agree)
            && kernel
                .get(i - 1)
                .zip(k)
                .is_some_and(|((from, _), (to, _))| no_packet_shows(*from, *to));
        rows.push(Row {
            inferred: inf,
            frame: t.map(|t| t.frame),
            kernel: k.map(|(s, _)| *s),
            offset_us,
            agree: kernel_only || (inf.is_some() && inf == k.map(|(s, _)| *s)),
            kernel_only,
            kernel_ns,
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

#[cfg(test)]
mod tests {
    use super::*;
    use TcpState::*;

    const CLIENT: &str = "198.18.0.1:40000";
    const SERVER: &str = "198.18.0.2:8026";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn socket(local: &str, remote: &str, steps: &[(u64, TcpState, TcpState)]) -> KernelSocket {
        KernelSocket {
            local: addr(local),
            remote: addr(remote),
            transitions: steps
                .iter()
                .map(|&(ts_ns, old, new)| KernelStep {
                    ts_ns,
                    old: Some(old),
                    new: Some(new),
                })
                .collect(),
        }
    }

    fn states(seq: &[(TcpState, Option<u64>)]) -> Vec<TcpState> {
        seq.iter().map(|(s, _)| *s).collect()
    }

    fn compared(inferred: &[TcpState], kernel: &[(TcpState, Option<u64>)]) -> EndpointComparison {
        compare_endpoint("client", addr(CLIENT), inferred, &[], kernel)
    }

    #[test]
    fn a_connect_closed_in_syn_sent_is_a_kernel_only_row() {
        let obs = KernelRecord {
            sockets: vec![socket(
                CLIENT,
                SERVER,
                &[(10, Closed, SynSent), (20, SynSent, Closed)],
            )],
            ..KernelRecord::default()
        };
        let kernel = kernel_states(&obs, addr(CLIENT), addr(SERVER), false);
        let e = compared(&[Closed, SynSent], &kernel);
        assert!(e.agree, "{e:?}");
        let last = e.rows.last().unwrap();
        assert_eq!((last.inferred, last.kernel), (None, Some(Closed)));
        assert!(last.kernel_only && last.agree);
        assert_eq!(last.kernel_ns, Some(20));
        // Nothing before it is kernel only.
        assert!(e.rows[..2].iter().all(|r| !r.kernel_only));
    }

    #[test]
    fn a_server_no_syn_reached_is_its_listener_up_to_its_close() {
        let obs = KernelRecord {
            sockets: vec![socket(
                "0.0.0.0:8026",
                "0.0.0.0:0",
                &[(5, Closed, Listen), (30, Listen, Closed)],
            )],
            ..KernelRecord::default()
        };
        let kernel = kernel_states(&obs, addr(SERVER), addr(CLIENT), true);
        assert_eq!(states(&kernel), vec![Listen, Closed]);
        let e = compare_endpoint("server", addr(SERVER), &[Listen], &[], &kernel);
        assert!(e.agree && e.rows[1].kernel_only, "{e:?}");
    }

    #[test]
    fn an_arc_packets_do_show_is_never_kernel_only() {
        // ESTABLISHED → CLOSED is a RST's: a capture that misses it disagrees.
        let e = compared(&[Established], &[(Established, None), (Closed, Some(9))]);
        assert!(!e.agree && !e.rows[1].kernel_only, "{e:?}");
        // After a disagreement, nothing is excused.
        let e = compared(
            &[Closed, SynSent, Established],
            &[
                (Closed, None),
                (SynSent, Some(1)),
                (SynReceived, Some(2)),
                (Closed, Some(3)),
            ],
        );
        assert!(!e.agree && !e.rows[3].kernel_only, "{e:?}");
    }

    fn time_wait_record(ended_ns: Option<u64>) -> KernelRecord {
        KernelRecord {
            sockets: vec![socket(
                CLIENT,
                SERVER,
                &[
                    (1, Closed, SynSent),
                    (2, SynSent, Established),
                    (3, Established, FinWait1),
                    (4, FinWait1, FinWait2),
                    (5, FinWait2, Closed),
                ],
            )],
            table: vec![KernelTableEntry {
                local: addr(CLIENT),
                remote: addr(SERVER),
                state: Some(TimeWait),
                first_seen_ns: 6,
                ended_ns,
            }],
            ..KernelRecord::default()
        }
    }

    #[test]
    fn the_socket_table_shows_time_wait_and_its_end() {
        let active = [Closed, SynSent, Established, FinWait1, FinWait2, TimeWait];
        // Still there when the run ended: the path stops in TIME_WAIT.
        let kernel = kernel_states(&time_wait_record(None), addr(CLIENT), addr(SERVER), false);
        assert_eq!(states(&kernel), active.to_vec());
        // Ended within the run: CLOSED, when the table lost it.
        let kernel = kernel_states(
            &time_wait_record(Some(70)),
            addr(CLIENT),
            addr(SERVER),
            false,
        );
        assert_eq!(kernel.last(), Some(&(Closed, Some(70))));
        // The packets showed a RST reaching it: the same path, agreed on.
        let by_rst = [&active[..], &[Closed]].concat();
        assert!(compared(&by_rst, &kernel).agree);
        // They showed nothing: 2MSL's timer, kernel only.
        let e = compared(&active, &kernel);
        assert!(e.agree && e.rows.last().unwrap().kernel_only, "{e:?}");
    }
}
