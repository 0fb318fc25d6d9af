//! Starts and stops the kernel's two witnesses for a run: the `inet_sock_set_state`
//! tracepoint (every transition, brief ones included) and the socket table sampled
//! through sock_diag (TIME_WAIT, CLOSE_WAIT durations). Without root, the socket
//! table comes from `/proc/net/tcp` polling, marked as such, and the tracepoint is
//! missing: the run still works and says what it could not see.

use std::time::Duration;

use serde::Serialize;

use super::kernel::{
    group_by_socket, poll_proc_net, DiagSampler, SocketHistory, SocketTimeline, TraceOptions,
    TracepointSession,
};
use crate::model::kernel::{KernelRecord, KernelSocket, KernelStep, KernelTableEntry};
use crate::model::tcp_dynamics::KernelTcp;

/// Socket-table sampling period: TIME_WAIT lasts 60 s, CLOSE_WAIT often a few ms.
const SAMPLE_EVERY: Duration = Duration::from_millis(1);

/// Per-CPU ring buffer of the session, KiB: at ~100 bytes a `tcp_probe` record,
/// room for ~40 000 events between two reads of a reader that fell behind.
const TCP_BUFFER_KB: u32 = 4096;

/// Running observers.
pub struct KernelObservers {
    trace: Option<TracepointSession>,
    /// One sampler per network namespace the run's sockets live in.
    tables: Vec<DiagSampler>,
    source: &'static str,
    warnings: Vec<String>,
}

/// What the kernel said during the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KernelObservations {
    /// `tracepoint+sock_diag`, `proc` (unprivileged fallback) or `none`.
    pub source: &'static str,
    /// Every socket's transitions, as the tracepoint reported them.
    pub sockets: Vec<SocketHistory>,
    /// The socket table over time (TIME_WAIT lives only here).
    pub table: Vec<SocketTimeline>,
    /// The kernel's congestion control: `tcp_probe`, `cong_state`,
    /// `kernel_retransmissions` and `tcp_trace` (why missing, when it is).
    #[serde(flatten)]
    pub tcp: KernelTcp,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Set when no kernel source worked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

impl KernelObservations {
    /// What was observed as plain data in RFC terms, for the pure comparison
    /// ([`crate::model::kernel::compare_kernel`]).
    pub fn record(&self) -> KernelRecord {
        KernelRecord {
            source: self.source.to_string(),
            sockets: self
                .sockets
                .iter()
                .map(|h| KernelSocket {
                    local: h.local,
                    remote: h.remote,
                    transitions: h
                        .transitions
                        .iter()
                        .map(|t| KernelStep {
                            ts_ns: t.ts_ns,
                            old: t.old.to_rfc(),
                            new: t.new.to_rfc(),
                        })
                        .collect(),
                })
                .collect(),
            table: self
                .table
                .iter()
                .map(|s| KernelTableEntry {
                    local: s.local,
                    remote: s.remote,
                    state: s.state.to_rfc(),
                    first_seen_ns: s.first_seen_ns,
                    ended_ns: s.ended_ns,
                })
                .collect(),
            unavailable: self.unavailable.clone(),
        }
    }
}

impl KernelObservers {
    /// Starts whatever this process may start; problems become warnings, never errors,
    /// because the capture alone is still a valid experiment.
    pub fn start(ports: &[u16]) -> Self {
        Self::start_in(ports, &[])
    }

    /// [`KernelObservers::start`] for sockets living in the named network
    /// namespaces (the `--netns` lab): the tracepoint is global to the kernel,
    /// but each namespace has a socket table of its own, read by a sock_diag
    /// socket opened inside it. An empty list means this thread's namespace.
    pub fn start_in(ports: &[u16], namespaces: &[String]) -> Self {
        let mut warnings = Vec::new();
        // A run killed before it could clean up leaves its tracing instance behind.
        if let Ok(stale) = super::kernel::remove_stale_instances() {
            for name in stale {
                tracing::debug!("removed stale tracing instance {name}");
            }
        }
        // The TCP congestion-control events ride in the same session: same ports,
        // same clock, one reader. tcp_probe fires per ACK, hence a larger buffer.
        let options = TraceOptions {
            tcp_dynamics: true,
            buffer_size_kb: Some(TCP_BUFFER_KB),
            ..TraceOptions::default()
        };
        let trace = match TracepointSession::start_with(ports, options) {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("kernel tracepoint unavailable: {e}"));
                None
            }
        };
        if !namespaces.is_empty() {
            let mut tables = Vec::new();
            for ns in namespaces {
                match start_sampler_in(ns, ports) {
                    Ok(s) => tables.push(s),
                    Err(e) => warnings.push(format!("sock_diag in {ns} unavailable: {e}")),
                }
            }
            let source = match (trace.is_some(), tables.len() == namespaces.len()) {
                (true, true) => "tracepoint+sock_diag",
                (true, false) => "tracepoint",
                (false, true) => "sock_diag",
                (false, false) => "none",
            };
            return KernelObservers {
                trace,
                tables,
                source,
                warnings,
            };
        }
        let (table, table_source) = match DiagSampler::start(ports, SAMPLE_EVERY) {
            Ok(s) => (Some(s), "sock_diag"),
            Err(e) => {
                warnings.push(format!(
                    "sock_diag unavailable ({e}); polling /proc/net/tcp instead"
                ));
                match poll_proc_net(ports, SAMPLE_EVERY) {
                    Ok(s) => (Some(s), "proc"),
                    Err(e) => {
                        warnings.push(format!("/proc/net/tcp unavailable: {e}"));
                        (None, "none")
                    }
                }
            }
        };
        let source = match (trace.is_some(), table_source) {
            (true, "sock_diag") => "tracepoint+sock_diag",
            (true, "proc") => "tracepoint+proc",
            (true, _) => "tracepoint",
            (false, "sock_diag") => "sock_diag",
            (false, "proc") => "proc (unprivileged fallback)",
            _ => "none",
        };
        for w in &warnings {
            tracing::debug!("{w}");
        }
        KernelObservers {
            trace,
            tables: table.into_iter().collect(),
            source,
            warnings,
        }
    }

    /// Waits until every socket-table sampler has completed a sample that began
    /// after this call (its count grew by two), or `limit` passed: the last states
    /// (TIME_WAIT, a closing CLOSE_WAIT) are then surely in the table, however
    /// slowly the machine ran the sampler threads.
    pub fn wait_for_fresh_samples(&self, limit: Duration) {
        let start: Vec<u64> = self.tables.iter().map(|t| t.samples_taken()).collect();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline
            && self
                .tables
                .iter()
                .zip(&start)
                .any(|(t, &n)| t.samples_taken() < n + 2)
        {
            std::thread::sleep(SAMPLE_EVERY);
        }
    }

    /// Stops both observers and collects what they saw.
    pub fn stop(self) -> KernelObservations {
        let mut warnings = self.warnings;
        let (sockets, tcp) = match self.trace.map(TracepointSession::stop_all) {
            Some(Ok((transitions, stats, tcp))) => {
                let mut tcp = tcp.map_or_else(
                    || KernelTcp::unavailable("the TCP events were not traced"),
                    KernelTcp::from_trace,
                );
                if stats.lost_events > 0 || stats.lost_unknown {
                    warnings.push(format!(
                        "the kernel's ring buffer overran: {} trace events lost{}",
                        stats.lost_events,
                        if stats.lost_unknown {
                            " (and more, uncounted)"
                        } else {
                            ""
                        }
                    ));
                }
                tcp.tcp_trace.lost_events = stats.lost_events;
                // The namespaces the lab creates inherit the host's default.
                tcp.tcp_trace.congestion_control =
                    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
                        .ok()
                        .map(|s| s.trim().to_string());
                (group_by_socket(&transitions), tcp)
            }
            Some(Err(e)) => {
                warnings.push(format!("kernel tracepoint failed: {e}"));
                (
                    Vec::new(),
                    KernelTcp::unavailable(format!("kernel tracepoint failed: {e}")),
                )
            }
            None => (
                Vec::new(),
                KernelTcp::unavailable(
                    "no kernel tracing (needs root): cwnd, ssthresh, srtt, congestion \
                     states and the kernel's retransmissions are missing",
                ),
            ),
        };
        let table = self
            .tables
            .into_iter()
            .flat_map(DiagSampler::stop)
            .collect();
        let unavailable = (self.source == "none")
            .then(|| "neither the tracepoint nor the socket table could be read".to_string());
        KernelObservations {
            source: self.source,
            sockets,
            table,
            tcp,
            warnings,
            unavailable,
        }
    }
}

/// Opens a socket-table sampler inside namespace `ns` (its sock_diag socket is
/// bound to the namespace of the thread that opens it; this thread alone enters).
fn start_sampler_in(ns: &str, ports: &[u16]) -> Result<DiagSampler, String> {
    let ns = ns.to_string();
    let ports = ports.to_vec();
    std::thread::spawn(move || {
        super::netns::enter(&ns).map_err(|e| e.to_string())?;
        DiagSampler::start(&ports, SAMPLE_EVERY).map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the sampler thread panicked".to_string())?
}
