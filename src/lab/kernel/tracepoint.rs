//! Every TCP state transition of the run's sockets, from the kernel's tracepoint
//! `sock:inet_sock_set_state` (the source bcc's `tcpstates` uses).
//!
//! Why a tracepoint: the handshake takes ~100 µs on loopback, so SYN_SENT, SYN_RECV and
//! FIN_WAIT1 are far too brief for any polling; the tracepoint fires inside
//! `tcp_set_state()` itself, so nothing is missed.
//!
//! How a [`TracepointSession`] works:
//!
//! 1. tracefs is mounted if needed (`mount -t tracefs nodev /sys/kernel/tracing`, root);
//! 2. a tracing *instance* of its own is created, `instances/plab-<pid>-<n>`: tracing is
//!    global to the kernel, and an instance has its own ring buffer, clock, filters and
//!    enabled events, so concurrent runs never see or disturb each other's events;
//! 3. the instance's `trace_clock` is set to `mono` (one clock for all CPUs), the event
//!    gets a filter on the run's ports (`protocol == 6 && (sport == P || dport == P)`) and
//!    is enabled;
//! 4. a reader thread drains the ring buffer continuously (every millisecond, so it never
//!    overflows) — by default the binary `per_cpu/cpuN/trace_pipe_raw` (see
//!    `ring_buffer` for why), or the text `trace_pipe` with [`TraceFormat::Text`];
//! 5. the trace clock is mapped onto CLOCK_REALTIME by writing markers into the instance's
//!    `trace_marker` between two `SystemTime::now()` readings: the kernel stamps each
//!    marker with the trace clock, so the pair gives the offset, measured through the
//!    very path the events take, whatever the trace clock is (no raw clock_gettime call
//!    is needed, and the uncertainty — half the narrowest bracket, ~1 µs — is reported;
//!    checked against tcpdump's ns timestamps, ESTABLISHED → FIN_WAIT1 came 2.7 µs
//!    before the FIN on the wire). One calibration per session: NTP slewing moves
//!    both clocks alike, but a *step* of the wall clock during a run shifts every time;
//! 6. [`TracepointSession::stop`] disables the event, writes a stop marker, lets the
//!    reader drain up to it, joins the thread and removes the instance (also done on
//!    drop, so an error path leaves nothing behind in tracefs).
//!
//! What this kernel (6.18) prints, for reference (`trace_pipe`):
//!
//! ```text
//! python3-27495 [001] ..... 3543.553193: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=8001 dport=0 saddr=127.0.0.1 daddr=0.0.0.0 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:0.0.0.0 oldstate=TCP_CLOSE newstate=TCP_LISTEN
//! ```
//!
//! `skaddr` is a field of the event (see its `format` file) but is *not* printed in the
//! text; the binary records carry it, hence the default [`TraceFormat::Raw`]. Facts
//! worth knowing when reading the transitions:
//!
//! - the client's CLOSE → SYN_SENT has local port 0 (the port is chosen just after);
//! - the accepted socket is born LISTEN → SYN_RECV (cloned from the listener, whose state
//!   it copies); the kernel's request socket (NEW_SYN_RECV) never goes through
//!   `tcp_set_state` and does not appear;
//! - TIME_WAIT does not appear: the socket goes FIN_WAIT2 → CLOSE and a separate
//!   time-wait object takes over (see `sock_diag` for it);
//! - the tracepoint is global: sockets of other network namespaces using the same ports
//!   appear too.
//!
//! # Layout
//!
//! What the kernel says is parsed by pure modules — values in, values out, no file
//! I/O, tested on fixtures captured from a real kernel:
//!
//! - [`transition`] — a state change ([`KernelTransition`]) and a socket's life
//!   ([`SocketHistory`]), grouped from them;
//! - [`text_line`] — one line of the text `trace_pipe` ([`parse_trace_line`]);
//! - [`record`] — one binary record of `trace_pipe_raw`, with this kernel's field offsets;
//! - [`clock`] — the trace clock mapped onto CLOCK_REALTIME from calibration markers;
//! - [`filter`] — the event filter on the run's ports;
//! - [`live`] — a live session's transitions, handed out as they come
//!   ([`LiveTransitions`]).
//!
//! The session does the I/O: [`tracefs`] (mounting, the instance directory, stale
//! instances), `reader` (the thread that drains the ring buffer) and this file, which
//! starts, calibrates and stops a [`TracepointSession`].

// Pure: values in, values out, no file I/O (tested on fixtures from a real kernel).
pub(super) mod clock;
pub(super) mod filter;
pub(super) mod live;
pub(super) mod record;
pub(super) mod tcp_event;
pub(super) mod text_line;
pub(super) mod transition;
// I/O: tracefs files and the reader thread.
mod reader;
pub(super) mod tracefs;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::tcp_trace::group_tcp_events;
use super::{normalize_ports, port_matches, realtime_ns, KernelError};
use crate::model::tcp_dynamics::TcpTrace;
use clock::ClockMap;
use filter::build_filter;
use reader::{open_raw, reader_loop, stop_marker_text, ReaderOutput, Source};
use record::RecordDecoder;
use tcp_event::{TcpDecoder, TCP_CONG_STATE_SET, TCP_PROBE, TCP_RETRANSMIT_SKB};
use tracefs::{open_nonblocking, tracefs_root, Instance, EVENT_DIR};
use transition::stitch_text_sockets;

pub use live::LiveTransitions;
pub use text_line::{parse_trace_line, TraceLine};
pub use tracefs::remove_stale_instances;
pub use transition::{group_by_socket, KernelTransition, SocketHistory};

/// The marker event (`trace_marker` writes), relative to a tracefs root or instance.
const PRINT_EVENT_DIR: &str = "events/ftrace/print";
/// How many markers calibrate the clock; the narrowest bracket wins.
const SYNC_ROUNDS: u32 = 8;
/// How long start() waits for its calibration markers to come back.
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);

/// Which file of the instance the reader drains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    /// Binary `per_cpu/cpuN/trace_pipe_raw`: every field including `skaddr`, ns times.
    #[default]
    Raw,
    /// Text `trace_pipe`: what `cat trace_pipe` shows; no `skaddr` (sockets are
    /// identified by their addresses instead, see [`KernelTransition::sock`]), µs times.
    Text,
}

/// Settings of a [`TracepointSession`]; `Default` is what `start` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOptions {
    pub format: TraceFormat,
    /// The instance's `trace_clock`. `mono` (CLOCK_MONOTONIC, consistent across CPUs) by
    /// default; `boot` also works. The mapping to wall-clock time does not depend on it.
    pub clock: String,
    /// Per-CPU ring buffer size; `None` keeps the kernel's default (~1.4 MB, ~18 000
    /// transitions per CPU between two reads, plenty at one read per millisecond).
    pub buffer_size_kb: Option<u32>,
    /// How long the reader sleeps when the buffer is empty.
    pub poll_interval: Duration,
    /// Also trace the TCP congestion-control events (`tcp_probe`,
    /// `tcp_cong_state_set`, `tcp_retransmit_skb`) of the same ports, into the same
    /// ring buffer ([`TraceFormat::Raw`] only). Off by default: `tcp_probe` fires
    /// per ACK, which `serve`'s long sessions do not need.
    pub tcp_dynamics: bool,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            format: TraceFormat::Raw,
            clock: "mono".to_string(),
            buffer_size_kb: None,
            poll_interval: Duration::from_millis(1),
            tcp_dynamics: false,
        }
    }
}

/// What happened during a session besides the transitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TraceStats {
    /// The tracefs instance used (`plab-<pid>-<n>`).
    pub instance: String,
    pub format: TraceFormat,
    pub clock: String,
    /// Transitions kept (after the port filter).
    pub transitions: u64,
    /// Events the ring buffer dropped (the reader fell behind); should be 0.
    pub lost_events: u64,
    /// The kernel flagged lost events without saying how many.
    pub lost_unknown: bool,
    /// Records with a state number this code does not know (a newer kernel).
    pub unknown_states: u64,
    /// CLOCK_REALTIME − trace clock, in ns.
    pub clock_offset_ns: i64,
    /// How far a mapped timestamp may be off because of the calibration.
    pub clock_uncertainty_ns: u64,
    /// Whether the reader saw the stop marker (else the tail may be incomplete).
    pub stop_marker_seen: bool,
    /// Set when the instance directory could not be removed.
    pub cleanup_error: Option<String>,
}

/// The reader thread; it returns what it read.
type ReaderHandle = JoinHandle<Result<ReaderOutput, KernelError>>;

/// A running trace of the run's ports; see the module documentation.
pub struct TracepointSession {
    ports: Vec<u16>,
    options: TraceOptions,
    clock_in_use: String,
    stop_flag: Arc<AtomicBool>,
    reader: Option<ReaderHandle>,
    marker: Option<File>,
    clock: ClockMap,
    /// The TCP events enabled (directories under `events/`) and the ones missing.
    tcp_events: Vec<&'static str>,
    tcp_missing: Vec<String>,
    started_ns: u64,
    // Declared last: dropped after the reader is joined and the marker file closed.
    instance: Instance,
}

impl std::fmt::Debug for TracepointSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracepointSession")
            .field("instance", &self.instance.name)
            .field("ports", &self.ports)
            .field("options", &self.options)
            .field("clock", &self.clock)
            .finish()
    }
}

impl TracepointSession {
    /// Starts tracing the TCP sockets whose local or remote port is one of `ports`,
    /// with the default [`TraceOptions`]. Needs root (tracefs).
    pub fn start(ports: &[u16]) -> Result<TracepointSession, KernelError> {
        Self::start_with(ports, TraceOptions::default())
    }

    /// [`TracepointSession::start`] with explicit options.
    pub fn start_with(
        ports: &[u16],
        options: TraceOptions,
    ) -> Result<TracepointSession, KernelError> {
        Self::start_inner(ports, options, None)
    }

    /// A live session: each transition is handed out through the returned
    /// [`LiveTransitions`] as soon as the reader has read it (within the options'
    /// poll interval), instead of at [`TracepointSession::stop`], which then returns
    /// none. What `protolab serve` prints as it happens. Needs root (tracefs).
    pub fn start_live(
        ports: &[u16],
        options: TraceOptions,
    ) -> Result<(TracepointSession, LiveTransitions), KernelError> {
        let (tx, rx) = mpsc::channel();
        let session = Self::start_inner(ports, options, Some(tx))?;
        let live = LiveTransitions::new(rx, session.clock, session.ports.clone());
        Ok((session, live))
    }

    fn start_inner(
        ports: &[u16],
        options: TraceOptions,
        live: Option<mpsc::Sender<record::TraceRecord>>,
    ) -> Result<TracepointSession, KernelError> {
        let ports = normalize_ports(ports)?;
        let root = tracefs_root()?;
        check_event(&root)?;
        let instance = Instance::create(&root)?;
        // The clock first: changing it clears the buffer.
        let clock_in_use = set_clock(&instance, &options.clock)?;
        if let Some(kb) = options.buffer_size_kb {
            instance.write("buffer_size_kb", &kb.to_string())?;
        }
        let mut decoder = load_decoder(&instance)?;
        set_filter(
            &instance,
            EVENT_DIR,
            &build_filter(&ports, decoder.has_protocol()),
        )?;
        let (tcp_events, tcp_missing) =
            if options.tcp_dynamics && options.format == TraceFormat::Raw {
                let (tcp, enabled, missing) = load_tcp_decoder(&instance)?;
                for event in &enabled {
                    // Per ACK: without the port filter every connection of the machine
                    // would fill the buffer.
                    set_filter(
                        &instance,
                        &format!("events/{event}"),
                        &build_filter(&ports, false),
                    )?;
                }
                decoder = decoder.with_tcp(tcp);
                (enabled, missing)
            } else {
                (Vec::new(), Vec::new())
            };

        // Open the readers before enabling, so that the first event is already theirs.
        let source = match options.format {
            TraceFormat::Raw => open_raw(&root, &instance, decoder)?,
            TraceFormat::Text => Source::Text {
                pipe: open_nonblocking(&instance.file("trace_pipe"))?,
            },
        };
        instance.write("tracing_on", "1")?;
        instance.write(&format!("{EVENT_DIR}/enable"), "1")?;
        for event in &tcp_events {
            instance.write(&format!("events/{event}/enable"), "1")?;
        }

        let stop_flag = Arc::new(AtomicBool::new(false));
        let (reader, marker_rx) =
            spawn_reader(&instance, source, &stop_flag, options.poll_interval, live)?;
        let mut session = TracepointSession {
            ports,
            options,
            clock_in_use,
            stop_flag,
            reader: Some(reader),
            marker: None,
            clock: ClockMap {
                offset_ns: 0,
                uncertainty_ns: 0,
            },
            tcp_events,
            tcp_missing,
            started_ns: realtime_ns(),
            instance,
        };
        let marker_path = session.instance.file("trace_marker");
        session.marker = Some(
            OpenOptions::new()
                .write(true)
                .open(&marker_path)
                .map_err(|e| KernelError::trace_io(&marker_path, e))?,
        );
        session.clock = session.calibrate(&marker_rx)?;
        Ok(session)
    }

    /// The tracefs instance in use (`plab-<pid>-<n>`), for logs.
    pub fn instance_name(&self) -> &str {
        &self.instance.name
    }

    /// The ports traced.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Writes the calibration markers and waits for the reader to see them.
    fn calibrate(&mut self, markers: &Receiver<(String, u64)>) -> Result<ClockMap, KernelError> {
        let name = self.instance.name.clone();
        let marker_path = self.instance.file("trace_marker");
        let file = self.marker.as_mut().expect("marker file opened in start");
        let mut brackets = Vec::with_capacity(SYNC_ROUNDS as usize);
        for i in 0..SYNC_ROUNDS {
            let text = format!("plab-sync {name} {i}");
            let before = realtime_ns();
            file.write_all(text.as_bytes())
                .map_err(|e| KernelError::trace_io(&marker_path, e))?;
            let after = realtime_ns();
            brackets.push((before, after));
        }
        let prefix = format!("plab-sync {name} ");
        let deadline = Instant::now() + SYNC_TIMEOUT;
        let mut seen: HashMap<u32, u64> = HashMap::new();
        while seen.len() < SYNC_ROUNDS as usize {
            let left = deadline.saturating_duration_since(Instant::now());
            match markers.recv_timeout(left) {
                Ok((text, ts)) => {
                    if let Some(i) = text.strip_prefix(&prefix).and_then(|i| i.parse().ok()) {
                        seen.insert(i, ts);
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    // The reader ended early: its error says why.
                    return Err(match self.reader.take().map(JoinHandle::join) {
                        Some(Ok(Err(e))) => e,
                        _ => KernelError::Reader {
                            detail: "the reader stopped during calibration".to_string(),
                        },
                    });
                }
            }
        }
        let mut clock =
            ClockMap::calibrate(&brackets, &seen).ok_or_else(|| KernelError::ClockSync {
                detail: format!(
                    "none of the {SYNC_ROUNDS} markers written to {} came back within {:?}",
                    marker_path.display(),
                    SYNC_TIMEOUT
                ),
            })?;
        if self.options.format == TraceFormat::Text {
            clock.uncertainty_ns += 1_000; // the text cuts the kernel's time to µs
        }
        tracing::debug!(
            instance = %name,
            offset_ns = %clock.offset_ns,
            uncertainty_ns = clock.uncertainty_ns,
            "trace clock calibrated"
        );
        Ok(clock)
    }

    /// Stops tracing and returns the transitions in time order (none for a live
    /// session: its [`LiveTransitions`] handed them out already, and end now).
    pub fn stop(self) -> Result<Vec<KernelTransition>, KernelError> {
        self.stop_with_stats().map(|(t, _)| t)
    }

    /// [`TracepointSession::stop`], with what else happened (lost events, the clock
    /// calibration, cleanup).
    pub fn stop_with_stats(self) -> Result<(Vec<KernelTransition>, TraceStats), KernelError> {
        self.stop_all().map(|(t, s, _)| (t, s))
    }

    /// [`TracepointSession::stop_with_stats`], with the TCP congestion-control
    /// events when the options asked for them ([`TraceOptions::tcp_dynamics`]).
    pub fn stop_all(
        mut self,
    ) -> Result<(Vec<KernelTransition>, TraceStats, Option<TcpTrace>), KernelError> {
        let stopped_ns = realtime_ns();
        let output = self.finish_reader();
        let cleanup_error = self.instance.remove().err().map(|e| {
            let msg = format!(
                "could not remove {}: {e}; remove it with `sudo rmdir {}`",
                self.instance.name,
                self.instance.path.display()
            );
            tracing::warn!("{msg}");
            msg
        });
        let output = output?;

        let mut transitions: Vec<KernelTransition> = output
            .records
            .into_iter()
            .filter(|r| port_matches(&self.ports, &r.local, &r.remote))
            .map(|r| r.into_transition(self.clock))
            .collect();
        // Records come per CPU; one socket may change CPU between transitions. The trace
        // clock is global, so time order is the order of events (the sort is stable for
        // equal times, which keeps each CPU's own order).
        transitions.sort_by_key(|t| t.ts_ns);
        if self.options.format == TraceFormat::Text {
            stitch_text_sockets(&mut transitions);
        }
        if output.lost_events > 0 || output.lost_unknown {
            tracing::warn!(
                "the kernel dropped {} trace events (ring buffer overrun): increase \
                 TraceOptions::buffer_size_kb",
                output.lost_events
            );
        }
        let stats = TraceStats {
            instance: self.instance.name.clone(),
            format: self.options.format,
            clock: self.clock_in_use.clone(),
            transitions: transitions.len() as u64,
            lost_events: output.lost_events,
            lost_unknown: output.lost_unknown,
            unknown_states: output.unknown_states,
            clock_offset_ns: self
                .clock
                .offset_ns
                .clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            clock_uncertainty_ns: self.clock.uncertainty_ns,
            stop_marker_seen: output.stop_marker_seen,
            cleanup_error,
        };
        let traced = self.options.tcp_dynamics && self.options.format == TraceFormat::Raw;
        let tcp = traced.then(|| {
            let clock = self.clock;
            let records = output
                .tcp
                .into_iter()
                .filter(|r| port_matches(&self.ports, &r.local, &r.remote))
                .map(|mut r| {
                    // From here on the "trace" time is CLOCK_REALTIME.
                    r.ts_trace_ns = clock.to_realtime(r.ts_trace_ns);
                    r
                })
                .collect();
            let (sockets, events) = group_tcp_events(records);
            TcpTrace {
                sockets,
                events,
                lost_events: output.lost_events,
                lost_unknown: output.lost_unknown,
                duration_s: stopped_ns.saturating_sub(self.started_ns) as f64 / 1e9,
                missing: self.tcp_missing.clone(),
            }
        });
        Ok((transitions, stats, tcp))
    }

    /// Disables the event, writes the stop marker, joins the reader and closes the
    /// marker file (after which the instance can be removed).
    fn finish_reader(&mut self) -> Result<ReaderOutput, KernelError> {
        let _ = self.instance.write(&format!("{EVENT_DIR}/enable"), "0");
        for event in &self.tcp_events {
            let _ = self.instance.write(&format!("events/{event}/enable"), "0");
        }
        if let Some(mut marker) = self.marker.take() {
            let _ = marker.write_all(stop_marker_text(&self.instance.name).as_bytes());
        }
        self.stop_flag.store(true, Ordering::SeqCst);
        match self.reader.take() {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                Err(KernelError::Reader {
                    detail: "the reader thread panicked".to_string(),
                })
            }),
            None => Err(KernelError::Reader {
                detail: "the reader is already gone".to_string(),
            }),
        }
    }
}

/// Whether this kernel has the event, and whether we may see it.
fn check_event(root: &Path) -> Result<(), KernelError> {
    let event_dir = root.join(EVENT_DIR);
    match fs::metadata(&event_dir) {
        Ok(m) if m.is_dir() => Ok(()),
        // tracefs is mode 0700: without root the event is invisible, not missing.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            Err(KernelError::TracePermission {
                path: event_dir,
                source: e,
            })
        }
        _ => Err(KernelError::NoTracepoint { path: event_dir }),
    }
}

/// Sets the instance's trace clock to `wanted`, or to `global` when this kernel does
/// not offer it; returns the clock in use.
fn set_clock(instance: &Instance, wanted: &str) -> Result<String, KernelError> {
    let available = instance.read("trace_clock")?;
    let in_use = if available
        .split_whitespace()
        .any(|c| c.trim_matches(['[', ']']) == wanted)
    {
        wanted.to_string()
    } else {
        tracing::warn!(
            "trace clock {wanted:?} not offered by this kernel ({}); using \"global\"",
            available.trim()
        );
        "global".to_string()
    };
    instance.write("trace_clock", &in_use)?;
    Ok(in_use)
}

/// The record decoder for this kernel's `format` files of the event and of markers.
fn load_decoder(instance: &Instance) -> Result<RecordDecoder, KernelError> {
    let format_path = instance.file(&format!("{EVENT_DIR}/format"));
    let print_path = instance.file(&format!("{PRINT_EVENT_DIR}/format"));
    let sock_format = instance.read(&format!("{EVENT_DIR}/format"))?;
    let print_format = instance.read(&format!("{PRINT_EVENT_DIR}/format"))?;
    RecordDecoder::new(&sock_format, &print_format).map_err(|detail| KernelError::Format {
        path: format!("{} / {}", format_path.display(), print_path.display()).into(),
        detail,
    })
}

/// The decoder of the TCP events this kernel has, the ones it has (directories
/// under `events/`), and the ones it lacks (said in kernel.json, not an error).
fn load_tcp_decoder(
    instance: &Instance,
) -> Result<(TcpDecoder, Vec<&'static str>, Vec<String>), KernelError> {
    let mut enabled = Vec::new();
    let mut missing = Vec::new();
    let mut texts: [Option<String>; 3] = [None, None, None];
    for (i, event) in [TCP_PROBE, TCP_CONG_STATE_SET, TCP_RETRANSMIT_SKB]
        .into_iter()
        .enumerate()
    {
        match instance.read(&format!("events/{event}/format")) {
            Ok(text) => {
                texts[i] = Some(text);
                enabled.push(event);
            }
            Err(_) => missing.push(format!(
                "tracepoint {} is not offered by this kernel",
                event.replace('/', ":")
            )),
        }
    }
    let [probe, cong, retransmit] = texts;
    let decoder = TcpDecoder::new(probe.as_deref(), cong.as_deref(), retransmit.as_deref())
        .map_err(|detail| KernelError::Format {
            path: instance.file("events/tcp"),
            detail,
        })?;
    Ok((decoder, enabled, missing))
}

/// Writes an event's filter; a refusal quotes the kernel's `error_log`.
fn set_filter(instance: &Instance, event_dir: &str, filter: &str) -> Result<(), KernelError> {
    match instance.write(&format!("{event_dir}/filter"), filter) {
        Ok(()) => Ok(()),
        Err(KernelError::Io { path, source }) => {
            let log = instance.read("error_log").unwrap_or_default();
            Err(KernelError::Format {
                path,
                detail: format!("filter {filter:?} refused ({source}); {}", log.trim()),
            })
        }
        Err(other) => Err(other),
    }
}

/// The reader thread, and the channel on which it hands back calibration markers.
fn spawn_reader(
    instance: &Instance,
    source: Source,
    stop_flag: &Arc<AtomicBool>,
    poll: Duration,
    live: Option<mpsc::Sender<record::TraceRecord>>,
) -> Result<(ReaderHandle, Receiver<(String, u64)>), KernelError> {
    let (marker_tx, marker_rx) = mpsc::channel();
    let stop_flag = Arc::clone(stop_flag);
    let prefix = format!("plab-sync {} ", instance.name);
    let stop_text = stop_marker_text(&instance.name);
    let reader = thread::Builder::new()
        .name(format!("trace-{}", instance.name))
        .spawn(move || {
            reader_loop(
                source, &stop_flag, &marker_tx, &prefix, &stop_text, poll, live,
            )
        })
        .map_err(|source| KernelError::Spawn {
            what: "trace reader",
            source,
        })?;
    Ok((reader, marker_rx))
}

impl Drop for TracepointSession {
    fn drop(&mut self) {
        if self.reader.is_some() || self.marker.is_some() {
            let _ = self.finish_reader();
        }
        // `instance` is dropped after this, removing the directory.
    }
}
