//! The kernel's TCP state changes on one port, reported as they happen: what
//! `protolab serve` prints beside its log, the `netstat -an` step of the course
//! notes made continuous (a student compares it with `ss -tan`).
//!
//! A [`PortWatch`] uses the best witness this process may use:
//!
//! 1. the tracepoint `sock:inet_sock_set_state` in a live
//!    [`TracepointSession`] (root): every change, the ~100 µs ones included;
//!    a traced close into TIME_WAIT is checked in the socket table, since
//!    TIME_WAIT never goes through the tracepoint;
//! 2. otherwise the socket table polled every [`POLL_EVERY`] through sock_diag
//!    (no privilege needed), or `/proc/net/tcp` when netlink is unavailable: a
//!    state shorter than the interval (SYN_RECV, FIN_WAIT1, LAST_ACK) is missed,
//!    which is why [`Witness::polled`] is there for the caller to say so.
//!
//! Changes go to a callback on a thread of the watch's own; [`PortWatch::stop`]
//! returns once every change seen has been handed over and the tracefs instance
//! is removed.
//!
//! # Layout
//!
//! - [`change`] — one change ([`StateChange`]), the line printed for it, and the
//!   changes between two samples of the table (pure).

pub(super) mod change;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::proc_net::ProcProbe;
use super::sock_diag::DiagSocket;
use super::{
    realtime_ns, remove_stale_instances, sample_once, KernelError, KernelState, LiveTransitions,
    Probe, TraceOptions, TracepointSession,
};
use change::{table_changes, table_of, Table};

pub use change::StateChange;

/// How often the socket table is polled without the tracepoint: a sock_diag dump
/// costs ~0.4 ms, so this keeps a server that runs for hours below 5 % of a CPU.
pub const POLL_EVERY: Duration = Duration::from_millis(10);

/// How often the live trace is drained: a person reads the lines, and the ring
/// buffer holds far more than a class's connections make in this time.
const TRACE_POLL: Duration = Duration::from_millis(10);

/// Which of the kernel's records a [`PortWatch`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Witness {
    /// The tracepoint `sock:inet_sock_set_state`: every change.
    Tracepoint,
    /// Netlink sock_diag, polled every [`POLL_EVERY`].
    SockDiag,
    /// `/proc/net/tcp{,6}`, polled every [`POLL_EVERY`].
    Proc,
}

impl Witness {
    /// Whether the socket table is polled (and short states may be missed).
    pub fn polled(self) -> bool {
        self != Witness::Tracepoint
    }

    /// What the witness is, for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Witness::Tracepoint => "the tracepoint sock:inet_sock_set_state",
            Witness::SockDiag => "the socket table (netlink sock_diag, as `ss` reads it)",
            Witness::Proc => "the socket table (/proc/net/tcp, as `netstat` reads it)",
        }
    }
}

/// Hands the kernel's state changes of one port's sockets to a callback as they
/// happen, until stopped; see the module documentation.
pub struct PortWatch {
    witness: Witness,
    /// Why the tracepoint is not the witness.
    tracepoint_error: Option<KernelError>,
    trace: Option<TracepointSession>,
    stop_flag: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PortWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortWatch")
            .field("witness", &self.witness)
            .finish()
    }
}

impl PortWatch {
    /// Watches the TCP sockets whose local or remote port is `port`, calling
    /// `on_change` for each change (from a thread of its own, in order). Fails only
    /// when no witness at all can be read; the error is the last one tried.
    pub fn start(
        port: u16,
        on_change: impl FnMut(StateChange) + Send + 'static,
    ) -> Result<PortWatch, KernelError> {
        Self::start_ports(&[port], on_change)
    }

    /// [`PortWatch::start`] for the sockets of several ports at once (`protolab
    /// watch`'s kernel column watches every port of its filter).
    pub fn start_ports(
        ports: &[u16],
        on_change: impl FnMut(StateChange) + Send + 'static,
    ) -> Result<PortWatch, KernelError> {
        // A serve killed by SIGKILL leaves its tracing instance behind.
        if let Ok(stale) = remove_stale_instances() {
            for name in stale {
                tracing::debug!("removed stale tracing instance {name}");
            }
        }
        let options = TraceOptions {
            poll_interval: TRACE_POLL,
            ..TraceOptions::default()
        };
        let tracepoint_error = match TracepointSession::start_live(ports, options) {
            Ok((session, live)) => {
                let ports = ports.to_vec();
                let thread = spawn("kernel-watch-trace", move || {
                    relay_trace(live, &ports, on_change)
                })?;
                return Ok(PortWatch {
                    witness: Witness::Tracepoint,
                    tracepoint_error: None,
                    trace: Some(session),
                    stop_flag: Arc::default(),
                    thread: Some(thread),
                });
            }
            Err(e) => e,
        };
        let mut watch = Self::start_polled_ports(ports, on_change)?;
        watch.tracepoint_error = Some(tracepoint_error);
        Ok(watch)
    }

    /// [`PortWatch::start`] without trying the tracepoint: the socket table polled
    /// every [`POLL_EVERY`] (sock_diag, else `/proc/net/tcp`). Needs no privilege.
    pub fn start_polled(
        port: u16,
        on_change: impl FnMut(StateChange) + Send + 'static,
    ) -> Result<PortWatch, KernelError> {
        Self::start_polled_ports(&[port], on_change)
    }

    fn start_polled_ports(
        ports: &[u16],
        on_change: impl FnMut(StateChange) + Send + 'static,
    ) -> Result<PortWatch, KernelError> {
        // The probe is opened and the baseline taken here, on the caller's thread:
        // the probe answers for the caller's network namespace, and a client that
        // comes once `start` has returned is surely reported.
        let (witness, mut probe): (Witness, Box<dyn Probe>) =
            match DiagSocket::open(ports).and_then(|mut s| s.sample(realtime_ns()).map(|_| s)) {
                Ok(s) => (Witness::SockDiag, Box::new(s)),
                Err(e) => {
                    tracing::debug!("sock_diag unavailable ({e}); polling /proc/net/tcp");
                    (Witness::Proc, Box::new(ProcProbe::open(ports)?))
                }
            };
        let baseline = table_of(&probe.sample(realtime_ns())?);
        let stop_flag = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop_flag);
        let thread = spawn("kernel-watch-poll", move || {
            poll_table(probe, baseline, &flag, on_change)
        })?;
        Ok(PortWatch {
            witness,
            tracepoint_error: None,
            trace: None,
            stop_flag,
            thread: Some(thread),
        })
    }

    /// The witness in use.
    pub fn witness(&self) -> Witness {
        self.witness
    }

    /// Why [`PortWatch::start`] could not use the tracepoint (`None` when it is the
    /// witness, or after [`PortWatch::start_polled`]).
    pub fn tracepoint_error(&self) -> Option<&KernelError> {
        self.tracepoint_error.as_ref()
    }

    /// Stops watching. Returns once every change seen was handed to the callback
    /// and the tracing instance is gone; an error says what could not be cleaned up.
    pub fn stop(mut self) -> Result<(), KernelError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), KernelError> {
        self.stop_flag.store(true, Ordering::SeqCst);
        // Stopping the session ends its live transitions, and so the relay thread.
        let stopped = match self.trace.take() {
            Some(session) => session
                .stop_with_stats()
                .map(|(_, stats)| stats.cleanup_error),
            None => Ok(None),
        };
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        match stopped? {
            Some(detail) => Err(KernelError::Reader { detail }),
            None => Ok(()),
        }
    }
}

impl Drop for PortWatch {
    fn drop(&mut self) {
        if self.thread.is_some() || self.trace.is_some() {
            let _ = self.finish();
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, KernelError> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|source| KernelError::Spawn {
            what: "kernel watch",
            source,
        })
}

/// Hands each traced transition on, asking the socket table whether a close was
/// the hand-over to a TIME_WAIT socket.
fn relay_trace(live: LiveTransitions, ports: &[u16], mut on_change: impl FnMut(StateChange)) {
    for transition in live {
        let mut change = StateChange::from(transition);
        if change.may_enter_time_wait() {
            // The TIME_WAIT socket is in the table before the old socket's CLOSE is
            // traced (tcp_time_wait hashes it first), so one look suffices.
            change.time_wait_follows = sample_once(ports).is_ok_and(|table| {
                table.iter().any(|s| {
                    s.state == KernelState::TimeWait
                        && s.local == change.local
                        && s.remote == change.remote
                })
            });
        }
        on_change(change);
    }
}

/// Samples the table every [`POLL_EVERY`] and hands on what changed since the
/// sample before, starting from `before`, the table when the watch started.
fn poll_table(
    mut probe: Box<dyn Probe>,
    mut before: Table,
    stop_flag: &AtomicBool,
    mut on_change: impl FnMut(StateChange),
) {
    let mut failed = false;
    let mut next = Instant::now();
    loop {
        // The flag is read before sampling, so a last sample is taken after stop
        // was asked for: a close just before the stop is still reported.
        let stopping = stop_flag.load(Ordering::SeqCst);
        if !stopping {
            next += POLL_EVERY;
            while !stop_flag.load(Ordering::SeqCst) && Instant::now() < next {
                thread::sleep(
                    next.saturating_duration_since(Instant::now())
                        .min(POLL_EVERY),
                );
            }
            next = next.max(Instant::now());
        }
        let ts = realtime_ns();
        match probe.sample(ts) {
            Ok(samples) => {
                let after = table_of(&samples);
                for change in table_changes(&before, &after, ts) {
                    on_change(change);
                }
                before = after;
            }
            Err(e) if !failed => {
                failed = true;
                tracing::warn!("socket table sample failed: {e}");
            }
            Err(_) => {}
        }
        if stopping {
            return;
        }
    }
}
