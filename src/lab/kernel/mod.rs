//! Kernel ground truth: what the Linux kernel itself says about a run's TCP sockets.
//!
//! protolab infers both endpoints' TCP states from packets; this module asks the kernel,
//! so the report can put the two side by side and flag every disagreement. Two real
//! sources, both filtered on the run's ports:
//!
//! - [`TracepointSession`]: the tracepoint `sock:inet_sock_set_state` (the source bcc's
//!   `tcpstates` uses) in a tracefs instance of the session's own. It sees *every*
//!   transition, including the ~100 µs ones (SYN_SENT, SYN_RECV, FIN_WAIT1) that no
//!   polling can catch, with nanosecond timestamps mapped onto CLOCK_REALTIME (the
//!   clock of pcap timestamps).
//! - [`DiagSampler`]: the socket table through netlink `sock_diag` (what `ss` uses),
//!   sampled every millisecond. TIME_WAIT lives in a separate kernel object that the
//!   tracepoint only shows as FIN_WAIT2 → CLOSE, so TIME_WAIT and CLOSE_WAIT durations
//!   come from here, summarised as [`SocketTimeline`]s.
//!
//! Without privileges tracing is impossible and [`poll_proc_net`] reads
//! `/proc/net/tcp{,6}` instead; its output is marked `source = "proc"`.
//!
//! Namespaces: the tracepoint is global to the kernel (it sees every network namespace;
//! the port filter is what keeps other traffic out), while the samplers see the network
//! namespace of the thread that starts them — enter the namespace first, then start.
//!
//! All timestamps here are CLOCK_REALTIME nanoseconds since the Unix epoch.

mod proc_net;
mod ring_buffer;
mod sampler;
mod sock_diag;
mod tcp_trace;
mod timeline;
mod tracepoint;
mod watch;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::analyze::TcpState;

pub use proc_net::{parse_proc_net_line, sample_proc_once};
pub use sampler::{poll_proc_net, DiagSampler, SampleSource, SamplerStats, DEFAULT_INTERVAL};
pub use sock_diag::sample_once;
pub use timeline::SocketTimeline;
pub use tracepoint::{
    group_by_socket, parse_trace_line, remove_stale_instances, KernelTransition, LiveTransitions,
    SocketHistory, TraceFormat, TraceLine, TraceOptions, TraceStats, TracepointSession,
};
pub use watch::{PortWatch, StateChange, Witness, POLL_EVERY};

/// A TCP state as the kernel names it (`include/net/tcp_states.h`).
///
/// The kernel has one state the RFC lacks: `TCP_NEW_SYN_RECV`, the light request socket
/// that stands for a half-open connection in a listener's queue before the full socket
/// is created. It has no RFC counterpart, hence [`KernelState::to_rfc`] returns an
/// `Option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KernelState {
    /// `TCP_CLOSE` (7): the RFC's CLOSED.
    Closed,
    /// `TCP_LISTEN` (10).
    Listen,
    /// `TCP_SYN_SENT` (2).
    SynSent,
    /// `TCP_SYN_RECV` (3): the RFC's SYN-RECEIVED.
    SynRecv,
    /// `TCP_NEW_SYN_RECV` (12): a request socket, not an RFC state.
    NewSynRecv,
    /// `TCP_ESTABLISHED` (1).
    Established,
    /// `TCP_FIN_WAIT1` (4).
    FinWait1,
    /// `TCP_FIN_WAIT2` (5).
    FinWait2,
    /// `TCP_CLOSING` (11).
    Closing,
    /// `TCP_TIME_WAIT` (6).
    TimeWait,
    /// `TCP_CLOSE_WAIT` (8).
    CloseWait,
    /// `TCP_LAST_ACK` (9).
    LastAck,
}

impl KernelState {
    /// Every state, in the kernel's numbering order.
    pub const ALL: [KernelState; 12] = [
        KernelState::Established,
        KernelState::SynSent,
        KernelState::SynRecv,
        KernelState::FinWait1,
        KernelState::FinWait2,
        KernelState::TimeWait,
        KernelState::Closed,
        KernelState::CloseWait,
        KernelState::LastAck,
        KernelState::Listen,
        KernelState::Closing,
        KernelState::NewSynRecv,
    ];

    /// The state for a kernel state number (`TCP_ESTABLISHED` = 1 … `TCP_NEW_SYN_RECV`
    /// = 12), as found in tracepoint records, sock_diag replies and `/proc/net/tcp`.
    pub fn from_code(code: u32) -> Option<KernelState> {
        Some(match code {
            1 => KernelState::Established,
            2 => KernelState::SynSent,
            3 => KernelState::SynRecv,
            4 => KernelState::FinWait1,
            5 => KernelState::FinWait2,
            6 => KernelState::TimeWait,
            7 => KernelState::Closed,
            8 => KernelState::CloseWait,
            9 => KernelState::LastAck,
            10 => KernelState::Listen,
            11 => KernelState::Closing,
            12 => KernelState::NewSynRecv,
            _ => return None,
        })
    }

    /// The kernel's number for this state.
    pub fn code(self) -> u32 {
        match self {
            KernelState::Established => 1,
            KernelState::SynSent => 2,
            KernelState::SynRecv => 3,
            KernelState::FinWait1 => 4,
            KernelState::FinWait2 => 5,
            KernelState::TimeWait => 6,
            KernelState::Closed => 7,
            KernelState::CloseWait => 8,
            KernelState::LastAck => 9,
            KernelState::Listen => 10,
            KernelState::Closing => 11,
            KernelState::NewSynRecv => 12,
        }
    }

    /// The name the kernel prints (the tracepoint's `oldstate=`/`newstate=` values).
    pub fn kernel_name(self) -> &'static str {
        match self {
            KernelState::Closed => "TCP_CLOSE",
            KernelState::Listen => "TCP_LISTEN",
            KernelState::SynSent => "TCP_SYN_SENT",
            KernelState::SynRecv => "TCP_SYN_RECV",
            KernelState::NewSynRecv => "TCP_NEW_SYN_RECV",
            KernelState::Established => "TCP_ESTABLISHED",
            KernelState::FinWait1 => "TCP_FIN_WAIT1",
            KernelState::FinWait2 => "TCP_FIN_WAIT2",
            KernelState::Closing => "TCP_CLOSING",
            KernelState::TimeWait => "TCP_TIME_WAIT",
            KernelState::CloseWait => "TCP_CLOSE_WAIT",
            KernelState::LastAck => "TCP_LAST_ACK",
        }
    }

    /// The RFC 9293 state this kernel state stands for; `None` for `TCP_NEW_SYN_RECV`,
    /// which is the kernel's own optimisation (a request socket, not a connection).
    pub fn to_rfc(self) -> Option<TcpState> {
        Some(match self {
            KernelState::Closed => TcpState::Closed,
            KernelState::Listen => TcpState::Listen,
            KernelState::SynSent => TcpState::SynSent,
            KernelState::SynRecv => TcpState::SynReceived,
            KernelState::NewSynRecv => return None,
            KernelState::Established => TcpState::Established,
            KernelState::FinWait1 => TcpState::FinWait1,
            KernelState::FinWait2 => TcpState::FinWait2,
            KernelState::Closing => TcpState::Closing,
            KernelState::TimeWait => TcpState::TimeWait,
            KernelState::CloseWait => TcpState::CloseWait,
            KernelState::LastAck => TcpState::LastAck,
        })
    }
}

impl fmt::Display for KernelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kernel_name())
    }
}

/// Error for a string that names no kernel TCP state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel TCP state {0:?}: expected a name like TCP_SYN_RECV, SYN-RECV or SYN_RECV")]
pub struct UnknownKernelState(pub String);

impl FromStr for KernelState {
    type Err = UnknownKernelState;

    /// Accepts the kernel's names (`TCP_SYN_RECV`), the same without the prefix
    /// (`SYN_RECV`) and `ss`'s spelling (`SYN-RECV`), case-insensitively, so text from
    /// any of the three tools parses.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        let bare = norm.strip_prefix("TCP_").unwrap_or(&norm);
        let state = match bare {
            "CLOSE" | "CLOSED" | "UNCONN" => KernelState::Closed,
            "LISTEN" => KernelState::Listen,
            "SYN_SENT" => KernelState::SynSent,
            "SYN_RECV" => KernelState::SynRecv,
            "NEW_SYN_RECV" => KernelState::NewSynRecv,
            "ESTABLISHED" | "ESTAB" => KernelState::Established,
            "FIN_WAIT1" | "FIN_WAIT_1" => KernelState::FinWait1,
            "FIN_WAIT2" | "FIN_WAIT_2" => KernelState::FinWait2,
            "CLOSING" => KernelState::Closing,
            "TIME_WAIT" => KernelState::TimeWait,
            "CLOSE_WAIT" => KernelState::CloseWait,
            "LAST_ACK" => KernelState::LastAck,
            _ => return Err(UnknownKernelState(s.to_string())),
        };
        Ok(state)
    }
}

/// Serialised as the kernel's name (`"TCP_SYN_RECV"`), so `kernel.json` reads like the
/// trace itself.
impl Serialize for KernelState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.kernel_name())
    }
}

impl<'de> Deserialize<'de> for KernelState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One socket as one sample of the kernel's socket table saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketSample {
    /// When the sample was taken (CLOCK_REALTIME ns, the clock of pcap timestamps).
    pub ts_ns: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: KernelState,
    /// The socket's inode (as in `ls -l /proc/PID/fd`); 0 once no file refers to it
    /// (orphaned after close(), and always for TIME_WAIT).
    pub inode: u32,
    /// The kernel's socket cookie (sock_diag; 0 from `/proc`): unique per socket object
    /// for the kernel's lifetime, so a 4-tuple reused while its old TIME_WAIT lingers
    /// (loopback reuses TIME_WAIT ports, `tcp_tw_reuse = 2`) is still told apart.
    pub cookie: u64,
    /// Bytes not yet read by the application (for a listener: the accept queue length).
    pub recv_q: u32,
    /// Bytes not yet acknowledged by the peer (for a listener: the backlog limit).
    pub send_q: u32,
    /// `"sock_diag"` (netlink) or `"proc"` (the `/proc/net/tcp` fallback).
    pub source: &'static str,
}

/// A source of complete socket-table samples (sock_diag or `/proc`), which a
/// [`DiagSampler`] asks again and again. Here, above both tables and the sampler,
/// so that neither table needs the sampler nor the sampler one table's file.
pub(crate) trait Probe: Send {
    fn sample(&mut self, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError>;
    fn source(&self) -> &'static str;
}

/// Everything that can go wrong while asking the kernel; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("no ports given: the kernel sources only watch the run's ports, pass at least one")]
    NoPorts,

    #[error(
        "tracefs is not mounted and could not be mounted ({detail}): tracing needs root \
         (CAP_SYS_ADMIN) to mount tracefs: run with sudo, or mount it once with \
         `sudo mount -t tracefs nodev /sys/kernel/tracing`"
    )]
    TracefsMount { detail: String },

    #[error(
        "permission denied on {path}: kernel tracing needs root (CAP_SYS_ADMIN): run with \
         sudo, or fall back to socket-table sampling (poll_proc_net) without transitions"
    )]
    TracePermission {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "this kernel has no tracepoint sock:inet_sock_set_state ({path} is missing): it needs \
         Linux >= 4.16 built with CONFIG_TRACEPOINTS; use sock_diag sampling alone"
    )]
    NoTracepoint { path: PathBuf },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "unexpected content in {path}: {detail}; this kernel's trace layout is not \
         understood: try TraceFormat::Text, and report the file's content"
    )]
    Format { path: PathBuf, detail: String },

    #[error(
        "the trace clock could not be mapped onto wall-clock time: {detail}; check that \
         tracing_on is 1 and the `markers` option is on in the instance"
    )]
    ClockSync { detail: String },

    #[error("the trace reader thread failed: {detail}")]
    Reader { detail: String },

    #[error(
        "netlink sock_diag {what} failed: {source}; if netlink is unavailable here use the \
         /proc/net/tcp fallback (poll_proc_net / SampleSource::Proc)"
    )]
    Netlink {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("could not start the {what} thread: {source}")]
    Spawn {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl KernelError {
    /// An I/O error on a tracefs file: permission problems get the "run with sudo"
    /// message, everything else keeps the path.
    pub(crate) fn trace_io(path: impl Into<PathBuf>, source: std::io::Error) -> KernelError {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            KernelError::TracePermission { path, source }
        } else {
            KernelError::Io { path, source }
        }
    }
}

/// Now, as CLOCK_REALTIME nanoseconds (what pcap timestamps use).
pub(crate) fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Whether a socket belongs to the run: its local or its remote port is one of `ports`.
pub(crate) fn port_matches(ports: &[u16], local: &SocketAddr, remote: &SocketAddr) -> bool {
    ports.contains(&local.port()) || ports.contains(&remote.port())
}

/// Ports sorted, deduplicated and checked non-empty: every source filters on them.
pub(crate) fn normalize_ports(ports: &[u16]) -> Result<Vec<u16>, KernelError> {
    let mut ports: Vec<u16> = ports.iter().copied().filter(|&p| p != 0).collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return Err(KernelError::NoPorts);
    }
    Ok(ports)
}
