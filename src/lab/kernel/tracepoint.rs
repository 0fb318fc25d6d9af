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
//!    `ring_buffer.rs` for why), or the text `trace_pipe` with [`TraceFormat::Text`];
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

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::ring_buffer::{decode_page, Field, Format, PageLayout, RawRecord};
use super::{normalize_ports, port_matches, realtime_ns, KernelError, KernelState};

/// Where tracefs lives on any kernel since 4.1.
const TRACEFS_DEFAULT: &str = "/sys/kernel/tracing";
/// Where older setups reach it through debugfs.
const TRACEFS_DEBUGFS: &str = "/sys/kernel/debug/tracing";
/// The event, relative to a tracefs root or instance.
const EVENT_DIR: &str = "events/sock/inet_sock_set_state";
/// The marker event (`trace_marker` writes), relative to a tracefs root or instance.
const PRINT_EVENT_DIR: &str = "events/ftrace/print";
/// How many markers calibrate the clock; the narrowest bracket wins.
const SYNC_ROUNDS: u32 = 8;
/// How long start() waits for its calibration markers to come back.
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);
/// How long stop() lets the reader look for its stop marker before giving up.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Numbers instances within this process (the pid tells processes apart).
static INSTANCE_COUNTER: AtomicU32 = AtomicU32::new(0);
/// Two sessions starting at once must not both mount tracefs.
static MOUNT_LOCK: Mutex<()> = Mutex::new(());

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
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            format: TraceFormat::Raw,
            clock: "mono".to_string(),
            buffer_size_kb: None,
            poll_interval: Duration::from_millis(1),
        }
    }
}

/// One state change of one socket, as the kernel's tracepoint reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelTransition {
    /// When it happened: CLOCK_REALTIME ns, the clock of pcap timestamps.
    pub ts_ns: u64,
    /// The socket's own address (port 0 on a client's CLOSE → SYN_SENT: the kernel picks
    /// the port right after).
    pub local: SocketAddr,
    /// The peer (`0.0.0.0:0` for a listener).
    pub remote: SocketAddr,
    pub old: KernelState,
    pub new: KernelState,
    /// Identifies the socket: its kernel address (`skaddr`) with [`TraceFormat::Raw`].
    /// The kernel reuses freed memory, so a value identifies one socket only between its
    /// creation and its transition to CLOSE ([`group_by_socket`] splits there). With
    /// [`TraceFormat::Text`], which does not print `skaddr`, small synthetic ids
    /// (1, 2, …) assigned from the addresses instead. Serialised as a hex string
    /// (`"0xffff888105185c80"`): JSON readers that use doubles would round it.
    #[serde(serialize_with = "serialize_sock")]
    pub sock: u64,
    /// The process in whose context the kernel made the change; often unrelated to the
    /// socket's owner when it happened in softirq (packet reception).
    pub pid: i32,
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

/// One socket's life as the tracepoint saw it: its transitions in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketHistory {
    #[serde(serialize_with = "serialize_sock")]
    pub sock: u64,
    /// The socket's address once known (the first transition may still have port 0).
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub transitions: Vec<KernelTransition>,
}

impl SocketHistory {
    /// The states in order: the first transition's old state, then every new state
    /// (e.g. `[CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE]`).
    pub fn states(&self) -> Vec<KernelState> {
        let mut out = Vec::with_capacity(self.transitions.len() + 1);
        if let Some(first) = self.transitions.first() {
            out.push(first.old);
        }
        out.extend(self.transitions.iter().map(|t| t.new));
        out
    }

    pub fn first_ns(&self) -> u64 {
        self.transitions.first().map_or(0, |t| t.ts_ns)
    }

    pub fn last_ns(&self) -> u64 {
        self.transitions.last().map_or(0, |t| t.ts_ns)
    }
}

fn serialize_sock<S: serde::Serializer>(sock: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{sock:#x}"))
}

/// Groups transitions by socket, in order of each socket's first transition. A socket's
/// history ends at its transition to CLOSE: a later transition with the same `sock` is
/// a new socket in reused memory (or a closed socket connecting again).
pub fn group_by_socket(transitions: &[KernelTransition]) -> Vec<SocketHistory> {
    let mut sorted: Vec<&KernelTransition> = transitions.iter().collect();
    sorted.sort_by_key(|t| t.ts_ns);
    let mut out: Vec<SocketHistory> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for t in sorted {
        let idx = match open.get(&t.sock) {
            Some(&i) => i,
            None => {
                out.push(SocketHistory {
                    sock: t.sock,
                    local: t.local,
                    remote: t.remote,
                    transitions: Vec::new(),
                });
                open.insert(t.sock, out.len() - 1);
                out.len() - 1
            }
        };
        let history = &mut out[idx];
        if t.local.port() != 0 {
            history.local = t.local;
            history.remote = t.remote;
        }
        history.transitions.push(t.clone());
        if t.new == KernelState::Closed {
            open.remove(&t.sock);
        }
    }
    out
}

/// A line of the text `trace_pipe` that matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceLine {
    /// An `inet_sock_set_state` line for TCP.
    Transition {
        /// The trace clock, in ns (the text has µs).
        ts_trace_ns: u64,
        pid: i32,
        cpu: u32,
        local: SocketAddr,
        remote: SocketAddr,
        old: KernelState,
        new: KernelState,
    },
    /// A `trace_marker` write (`tracing_mark_write: TEXT`).
    Marker {
        ts_trace_ns: u64,
        pid: i32,
        cpu: u32,
        text: String,
    },
}

/// Parses one line of `trace_pipe`; `None` for other events, non-TCP protocols and
/// anything malformed. Pure, so it is tested on lines captured from a real kernel.
///
/// The line is `COMM-PID [CPU] FLAGS SECS.MICROS: EVENT: FIELDS`; COMM may contain
/// spaces and dashes, so the header is read from the right.
pub fn parse_trace_line(line: &str) -> Option<TraceLine> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (head, event, body) = split_event(line)?;
    let mut words = head.split_whitespace().rev();
    let ts_trace_ns = parse_trace_ts(words.next()?.strip_suffix(':')?)?;
    // Flags ("....." or "d.s2.") are printed with the default `irq-info` option; the
    // CPU is always there.
    let mut word = words.next()?;
    if !word.starts_with('[') {
        word = words.next()?;
    }
    let cpu = word
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))?
        .parse()
        .ok()?;
    // The word before the CPU ends COMM-PID (COMM may have spaces and dashes of its
    // own; the pid follows the last dash).
    let pid = words.next()?.rsplit('-').next()?.parse().ok()?;

    match event {
        "tracing_mark_write" => Some(TraceLine::Marker {
            ts_trace_ns,
            pid,
            cpu,
            text: body.to_string(),
        }),
        "inet_sock_set_state" => {
            let fields: HashMap<&str, &str> = body
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .collect();
            if fields.get("protocol").is_some_and(|p| *p != "IPPROTO_TCP") {
                return None;
            }
            let sport: u16 = fields.get("sport")?.parse().ok()?;
            let dport: u16 = fields.get("dport")?.parse().ok()?;
            let (saddr, daddr): (IpAddr, IpAddr) = match *fields.get("family")? {
                "AF_INET" => (
                    fields.get("saddr")?.parse::<Ipv4Addr>().ok()?.into(),
                    fields.get("daddr")?.parse::<Ipv4Addr>().ok()?.into(),
                ),
                "AF_INET6" => (
                    fields.get("saddrv6")?.parse::<Ipv6Addr>().ok()?.into(),
                    fields.get("daddrv6")?.parse::<Ipv6Addr>().ok()?.into(),
                ),
                _ => return None,
            };
            Some(TraceLine::Transition {
                ts_trace_ns,
                pid,
                cpu,
                local: SocketAddr::new(saddr, sport),
                remote: SocketAddr::new(daddr, dport),
                old: fields.get("oldstate")?.parse().ok()?,
                new: fields.get("newstate")?.parse().ok()?,
            })
        }
        _ => None,
    }
}

/// Splits `HEAD: EVENT: BODY` at the first `: NAME: ` whose NAME is an event name.
fn split_event(line: &str) -> Option<(&str, &str, &str)> {
    for event in ["inet_sock_set_state", "tracing_mark_write"] {
        let needle = format!(": {event}: ");
        if let Some(at) = line.find(&needle) {
            // Keep the timestamp's colon in the head, as `parse_trace_line` expects.
            return Some((&line[..at + 1], event, &line[at + needle.len()..]));
        }
    }
    None
}

/// `12345.678901` → ns (the fraction may have any number of digits up to 9).
fn parse_trace_ts(s: &str) -> Option<u64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let frac_ns: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32)
    };
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// The tracefs filter for the run's ports. `protocol` exists since Linux 4.16's
/// MPTCP/SCTP support; without it every socket reported is TCP anyway.
pub(crate) fn build_filter(ports: &[u16], has_protocol: bool) -> String {
    let ports = ports
        .iter()
        .map(|p| format!("sport == {p} || dport == {p}"))
        .collect::<Vec<_>>()
        .join(" || ");
    if has_protocol {
        format!("protocol == 6 && ({ports})")
    } else {
        ports
    }
}

/// A transition in trace-clock time, before the session maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceRecord {
    pub ts_trace_ns: u64,
    pub pid: i32,
    pub sock: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub old: KernelState,
    pub new: KernelState,
}

/// Decodes `inet_sock_set_state` and marker records with the field offsets of this
/// kernel's `format` files.
#[derive(Debug, Clone)]
pub(crate) struct RecordDecoder {
    sock_event_id: u16,
    print_event_id: u16,
    pid: Field,
    skaddr: Field,
    oldstate: Field,
    newstate: Field,
    sport: Field,
    dport: Field,
    family: Field,
    protocol: Option<Field>,
    saddr: Field,
    daddr: Field,
    saddr_v6: Field,
    daddr_v6: Field,
    print_buf_offset: usize,
}

/// What a raw record turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    Transition(TraceRecord),
    Marker { ts_trace_ns: u64, text: String },
    UnknownState,
    Other,
}

impl RecordDecoder {
    /// From the texts of `events/sock/inet_sock_set_state/format` and
    /// `events/ftrace/print/format`.
    pub fn new(sock_format: &str, print_format: &str) -> Result<RecordDecoder, String> {
        let sock = Format::parse(sock_format)?;
        let print = Format::parse(print_format)?;
        let decoder = RecordDecoder {
            sock_event_id: sock.id,
            print_event_id: print.id,
            pid: sock.field("common_pid")?,
            skaddr: sock.field("skaddr")?,
            oldstate: sock.field("oldstate")?,
            newstate: sock.field("newstate")?,
            sport: sock.field("sport")?,
            dport: sock.field("dport")?,
            family: sock.field("family")?,
            protocol: sock.field("protocol").ok(),
            saddr: sock.field("saddr")?,
            daddr: sock.field("daddr")?,
            saddr_v6: sock.field("saddr_v6")?,
            daddr_v6: sock.field("daddr_v6")?,
            print_buf_offset: print.field("buf")?.offset,
        };
        if decoder.sock_event_id == 0 || decoder.print_event_id == 0 {
            return Err("missing ID line".to_string());
        }
        if decoder.saddr.size != 4 || decoder.saddr_v6.size != 16 {
            return Err("unexpected address field sizes".to_string());
        }
        Ok(decoder)
    }

    pub fn has_protocol(&self) -> bool {
        self.protocol.is_some()
    }

    pub fn decode(&self, rec: &RawRecord<'_>) -> Decoded {
        match rec.event_id() {
            Some(id) if id == self.sock_event_id => self.decode_transition(rec),
            Some(id) if id == self.print_event_id => match rec.c_string_from(self.print_buf_offset)
            {
                Some(text) => Decoded::Marker {
                    ts_trace_ns: rec.ts,
                    text: text.trim_end_matches('\n').to_string(),
                },
                None => Decoded::Other,
            },
            _ => Decoded::Other,
        }
    }

    fn decode_transition(&self, rec: &RawRecord<'_>) -> Decoded {
        let get = |f: Field| rec.uint(f);
        let (Some(family), Some(sport), Some(dport), Some(old), Some(new), Some(sock), Some(pid)) = (
            get(self.family),
            get(self.sport),
            get(self.dport),
            get(self.oldstate),
            get(self.newstate),
            get(self.skaddr),
            get(self.pid),
        ) else {
            return Decoded::Other;
        };
        if let Some(p) = self.protocol.and_then(get) {
            if p != 6 {
                return Decoded::Other; // IPPROTO_TCP only (not SCTP, MPTCP)
            }
        }
        let addr = |v4: Field, v6: Field| -> Option<IpAddr> {
            match family {
                2 => {
                    let b: [u8; 4] = rec.bytes(v4)?.try_into().ok()?;
                    Some(IpAddr::V4(Ipv4Addr::from(b)))
                }
                10 => {
                    let b: [u8; 16] = rec.bytes(v6)?.try_into().ok()?;
                    Some(IpAddr::V6(Ipv6Addr::from(b)))
                }
                _ => None,
            }
        };
        let (Some(saddr), Some(daddr)) = (
            addr(self.saddr, self.saddr_v6),
            addr(self.daddr, self.daddr_v6),
        ) else {
            return Decoded::Other;
        };
        let (Some(old), Some(new)) = (
            KernelState::from_code(old as u32),
            KernelState::from_code(new as u32),
        ) else {
            return Decoded::UnknownState;
        };
        Decoded::Transition(TraceRecord {
            ts_trace_ns: rec.ts,
            pid: pid as u32 as i32,
            sock,
            local: SocketAddr::new(saddr, sport as u16),
            remote: SocketAddr::new(daddr, dport as u16),
            old,
            new,
        })
    }
}

/// Assigns synthetic socket ids to text-mode transitions (which lack `skaddr`): by
/// address pair, with the client's CLOSE → SYN_SENT (local port 0) joined to the
/// SYN_SENT → … that follows for the same peer. Ids start at 1; kernel addresses are
/// never that small, so the two kinds cannot be confused.
pub(crate) fn stitch_text_sockets(transitions: &mut [KernelTransition]) {
    let mut next_id = 1u64;
    let mut by_pair: HashMap<(SocketAddr, SocketAddr), u64> = HashMap::new();
    let mut connecting: HashMap<SocketAddr, Vec<u64>> = HashMap::new();
    for t in transitions.iter_mut() {
        let pair = (t.local, t.remote);
        let id = if t.local.port() == 0 && t.new == KernelState::SynSent {
            let id = next_id;
            next_id += 1;
            connecting.entry(t.remote).or_default().push(id);
            id
        } else if let Some(&id) = by_pair.get(&pair) {
            id
        } else if let Some(id) = (t.old == KernelState::SynSent)
            .then(|| connecting.get_mut(&t.remote).filter(|v| !v.is_empty()))
            .flatten()
            .map(|v| v.remove(0))
        {
            by_pair.insert(pair, id);
            id
        } else {
            let id = next_id;
            next_id += 1;
            by_pair.insert(pair, id);
            id
        };
        t.sock = id;
        if t.new == KernelState::Closed {
            by_pair.remove(&pair);
        }
    }
}

/// Maps the trace clock onto CLOCK_REALTIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockMap {
    /// CLOCK_REALTIME − trace clock.
    pub offset_ns: i128,
    pub uncertainty_ns: u64,
}

impl ClockMap {
    /// From calibration markers: `brackets[i]` = (realtime before, realtime after)
    /// writing marker `i`, `seen[i]` = the trace time the kernel gave it. The narrowest
    /// bracket gives the best estimate: its midpoint, ± half its width.
    pub fn calibrate(brackets: &[(u64, u64)], seen: &HashMap<u32, u64>) -> Option<ClockMap> {
        let (i, &(before, after)) = brackets
            .iter()
            .enumerate()
            .filter(|(i, _)| seen.contains_key(&(*i as u32)))
            .min_by_key(|(_, (b, a))| a.saturating_sub(*b))?;
        let trace = seen[&(i as u32)];
        let mid = (before as i128 + after as i128) / 2;
        Some(ClockMap {
            offset_ns: mid - trace as i128,
            uncertainty_ns: after.saturating_sub(before).div_ceil(2),
        })
    }

    pub fn to_realtime(self, trace_ns: u64) -> u64 {
        (trace_ns as i128 + self.offset_ns).clamp(0, u64::MAX as i128) as u64
    }
}

/// A tracefs instance directory; removed on drop.
#[derive(Debug)]
struct Instance {
    name: String,
    path: PathBuf,
    removed: bool,
}

impl Instance {
    fn create(root: &Path) -> Result<Instance, KernelError> {
        let instances = root.join("instances");
        loop {
            let n = INSTANCE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("plab-{}-{n}", std::process::id());
            let path = instances.join(&name);
            match fs::create_dir(&path) {
                Ok(()) => {
                    return Ok(Instance {
                        name,
                        path,
                        removed: false,
                    })
                }
                // A previous process with our pid left one behind: take the next number.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(KernelError::trace_io(path, e)),
            }
        }
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn write(&self, rel: &str, value: &str) -> Result<(), KernelError> {
        let path = self.file(rel);
        fs::write(&path, value).map_err(|e| KernelError::trace_io(path, e))
    }

    fn read(&self, rel: &str) -> Result<String, KernelError> {
        let path = self.file(rel);
        read_tracefs(&path).map_err(|e| KernelError::trace_io(path, e))
    }

    /// Disables the event and removes the directory. The kernel refuses (EBUSY) while a
    /// file of the instance is open, so readers must be closed first; a short retry
    /// covers a reader that is just closing.
    fn remove(&mut self) -> io::Result<()> {
        if self.removed {
            return Ok(());
        }
        let _ = fs::write(self.file(&format!("{EVENT_DIR}/enable")), "0");
        let mut tries = 0;
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => {
                    self.removed = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.removed = true;
                    return Ok(());
                }
                Err(e) if tries < 20 && e.raw_os_error() == Some(nix::libc::EBUSY) => {
                    tries += 1;
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            tracing::warn!(
                "could not remove tracing instance {}: {e}; remove it with `sudo rmdir {}`",
                self.name,
                self.path.display()
            );
        }
    }
}

/// The files the reader thread drains.
enum Source {
    Raw {
        cpus: Vec<File>,
        layout: PageLayout,
        page_size: usize,
        decoder: Box<RecordDecoder>,
    },
    Text {
        pipe: File,
    },
}

/// What the reader thread hands back.
#[derive(Debug, Default)]
struct ReaderOutput {
    records: Vec<TraceRecord>,
    lost_events: u64,
    lost_unknown: bool,
    unknown_states: u64,
    stop_marker_seen: bool,
}

/// A running trace of the run's ports; see the module documentation.
pub struct TracepointSession {
    ports: Vec<u16>,
    options: TraceOptions,
    clock_in_use: String,
    stop_flag: Arc<AtomicBool>,
    reader: Option<JoinHandle<Result<ReaderOutput, KernelError>>>,
    marker: Option<File>,
    clock: ClockMap,
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
        let ports = normalize_ports(ports)?;
        let root = tracefs_root()?;
        let event_dir = root.join(EVENT_DIR);
        match fs::metadata(&event_dir) {
            Ok(m) if m.is_dir() => {}
            // tracefs is mode 0700: without root the event is invisible, not missing.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(KernelError::TracePermission {
                    path: event_dir,
                    source: e,
                })
            }
            _ => return Err(KernelError::NoTracepoint { path: event_dir }),
        }
        let instance = Instance::create(&root)?;

        // The clock first: changing it clears the buffer.
        let available = instance.read("trace_clock")?;
        let clock_in_use = if available
            .split_whitespace()
            .any(|c| c.trim_matches(['[', ']']) == options.clock)
        {
            options.clock.clone()
        } else {
            tracing::warn!(
                "trace clock {:?} not offered by this kernel ({}); using \"global\"",
                options.clock,
                available.trim()
            );
            "global".to_string()
        };
        instance.write("trace_clock", &clock_in_use)?;
        if let Some(kb) = options.buffer_size_kb {
            instance.write("buffer_size_kb", &kb.to_string())?;
        }

        let format_path = instance.file(&format!("{EVENT_DIR}/format"));
        let print_path = instance.file(&format!("{PRINT_EVENT_DIR}/format"));
        let sock_format = instance.read(&format!("{EVENT_DIR}/format"))?;
        let print_format = instance.read(&format!("{PRINT_EVENT_DIR}/format"))?;
        let decoder = RecordDecoder::new(&sock_format, &print_format).map_err(|detail| {
            KernelError::Format {
                path: format!("{} / {}", format_path.display(), print_path.display()).into(),
                detail,
            }
        })?;

        let filter = build_filter(&ports, decoder.has_protocol());
        if let Err(e) = instance.write(&format!("{EVENT_DIR}/filter"), &filter) {
            let log = instance.read("error_log").unwrap_or_default();
            return Err(match e {
                KernelError::Io { path, source } => KernelError::Format {
                    path,
                    detail: format!("filter {filter:?} refused ({source}); {}", log.trim()),
                },
                other => other,
            });
        }

        // Open the readers before enabling, so that the first event is already theirs.
        let source = match options.format {
            TraceFormat::Raw => open_raw(&root, &instance, decoder)?,
            TraceFormat::Text => Source::Text {
                pipe: open_nonblocking(&instance.file("trace_pipe"))?,
            },
        };
        instance.write("tracing_on", "1")?;
        instance.write(&format!("{EVENT_DIR}/enable"), "1")?;

        let stop_flag = Arc::new(AtomicBool::new(false));
        let (marker_tx, marker_rx) = mpsc::channel();
        let reader = {
            let stop_flag = Arc::clone(&stop_flag);
            let prefix = format!("plab-sync {} ", instance.name);
            let stop_text = stop_marker_text(&instance.name);
            let poll = options.poll_interval;
            thread::Builder::new()
                .name(format!("trace-{}", instance.name))
                .spawn(move || {
                    reader_loop(source, &stop_flag, &marker_tx, &prefix, &stop_text, poll)
                })
                .map_err(|source| KernelError::Spawn {
                    what: "trace reader",
                    source,
                })?
        };
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

    /// Stops tracing and returns the transitions in time order.
    pub fn stop(self) -> Result<Vec<KernelTransition>, KernelError> {
        self.stop_with_stats().map(|(t, _)| t)
    }

    /// [`TracepointSession::stop`], with what else happened (lost events, the clock
    /// calibration, cleanup).
    pub fn stop_with_stats(mut self) -> Result<(Vec<KernelTransition>, TraceStats), KernelError> {
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
            .map(|r| KernelTransition {
                ts_ns: self.clock.to_realtime(r.ts_trace_ns),
                local: r.local,
                remote: r.remote,
                old: r.old,
                new: r.new,
                sock: r.sock,
                pid: r.pid,
            })
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
        Ok((transitions, stats))
    }

    /// Disables the event, writes the stop marker, joins the reader and closes the
    /// marker file (after which the instance can be removed).
    fn finish_reader(&mut self) -> Result<ReaderOutput, KernelError> {
        let _ = self.instance.write(&format!("{EVENT_DIR}/enable"), "0");
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

impl Drop for TracepointSession {
    fn drop(&mut self) {
        if self.reader.is_some() || self.marker.is_some() {
            let _ = self.finish_reader();
        }
        // `instance` is dropped after this, removing the directory.
    }
}

/// Reads a whole tracefs file. Some (`events/header_page`) answer only the *first*
/// read and return 0 once the offset moved, so a small first read, like the 32-byte
/// probe of `fs::read_to_string`, would cut them: read with a large buffer.
fn read_tracefs(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(out).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn stop_marker_text(instance: &str) -> String {
    format!("plab-stop {instance}")
}

/// Opens a tracefs file for non-blocking reads: the reader polls, so stop never hangs
/// on a read that waits for an event that will not come.
fn open_nonblocking(path: &Path) -> Result<File, KernelError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| KernelError::trace_io(path, e))
}

fn open_raw(
    root: &Path,
    instance: &Instance,
    decoder: RecordDecoder,
) -> Result<Source, KernelError> {
    let header_path = root.join("events/header_page");
    let layout = match read_tracefs(&header_path) {
        Ok(text) => PageLayout::from_header_page(&text).map_err(|detail| KernelError::Format {
            path: header_path.clone(),
            detail,
        })?,
        Err(_) => PageLayout::DEFAULT,
    };
    // Sub-buffers are one page unless `buffer_subbuf_size_kb` (Linux 6.8+) says more.
    let page_size = instance
        .read("buffer_subbuf_size_kb")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .map_or(4096, |kb| (kb * 1024).max(4096));
    let per_cpu = instance.file("per_cpu");
    let mut dirs: Vec<(usize, PathBuf)> = fs::read_dir(&per_cpu)
        .map_err(|e| KernelError::trace_io(&per_cpu, e))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let cpu = entry
                .file_name()
                .to_str()?
                .strip_prefix("cpu")?
                .parse()
                .ok()?;
            Some((cpu, entry.path()))
        })
        .collect();
    dirs.sort();
    let mut cpus = Vec::with_capacity(dirs.len());
    for (_, dir) in dirs {
        match open_nonblocking(&dir.join("trace_pipe_raw")) {
            Ok(f) => cpus.push(f),
            // An offline CPU has no buffer to read.
            Err(KernelError::Io { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if cpus.is_empty() {
        return Err(KernelError::Format {
            path: per_cpu,
            detail: "no readable per_cpu/cpuN/trace_pipe_raw".to_string(),
        });
    }
    Ok(Source::Raw {
        cpus,
        layout,
        page_size,
        decoder: Box::new(decoder),
    })
}

/// Reads all there is now from a non-blocking file into `sink`, chunk by chunk.
/// Returns whether anything was read.
fn drain_file(
    file: &mut File,
    buf: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> Result<(), KernelError>,
) -> Result<bool, KernelError> {
    let mut progressed = false;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(progressed),
            Ok(n) => {
                progressed = true;
                sink(&buf[..n])?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(progressed),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(KernelError::Reader {
                    detail: format!("read failed: {e}"),
                })
            }
        }
    }
}

/// The reader thread: drains the instance until stop is requested and the stop marker
/// (written after the event was disabled) has been read, so nothing is left behind.
fn reader_loop(
    mut source: Source,
    stop_flag: &AtomicBool,
    markers: &Sender<(String, u64)>,
    sync_prefix: &str,
    stop_text: &str,
    poll: Duration,
) -> Result<ReaderOutput, KernelError> {
    let mut out = ReaderOutput::default();
    let mut text_tail: Vec<u8> = Vec::new();
    let mut stop_deadline: Option<Instant> = None;
    let mut buf = vec![
        0u8;
        match &source {
            Source::Raw { page_size, .. } => *page_size,
            Source::Text { .. } => 64 * 1024,
        }
    ];
    loop {
        let on_marker = |text: String, ts: u64, out: &mut ReaderOutput| {
            if text == stop_text {
                out.stop_marker_seen = true;
            } else if text.starts_with(sync_prefix) {
                let _ = markers.send((text, ts));
            }
        };
        let mut progressed = false;
        match &mut source {
            Source::Raw {
                cpus,
                layout,
                decoder,
                ..
            } => {
                for file in cpus.iter_mut() {
                    progressed |= drain_file(file, &mut buf, |page| {
                        let page =
                            decode_page(layout, page).map_err(|detail| KernelError::Reader {
                                detail: format!("undecodable trace_pipe_raw page: {detail}"),
                            })?;
                        out.lost_events += page.missed.unwrap_or(0);
                        out.lost_unknown |= page.missed_unknown;
                        for rec in &page.records {
                            match decoder.decode(rec) {
                                Decoded::Transition(r) => out.records.push(r),
                                Decoded::Marker { ts_trace_ns, text } => {
                                    on_marker(text, ts_trace_ns, &mut out)
                                }
                                Decoded::UnknownState => out.unknown_states += 1,
                                Decoded::Other => {}
                            }
                        }
                        Ok(())
                    })?;
                }
            }
            Source::Text { pipe } => {
                progressed = drain_file(pipe, &mut buf, |chunk| {
                    text_tail.extend_from_slice(chunk);
                    Ok(())
                })?;
                while let Some(nl) = text_tail.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = text_tail.drain(..=nl).collect();
                    match parse_trace_line(&String::from_utf8_lossy(&line)) {
                        Some(TraceLine::Transition {
                            ts_trace_ns,
                            pid,
                            local,
                            remote,
                            old,
                            new,
                            ..
                        }) => out.records.push(TraceRecord {
                            ts_trace_ns,
                            pid,
                            sock: 0,
                            local,
                            remote,
                            old,
                            new,
                        }),
                        Some(TraceLine::Marker {
                            ts_trace_ns, text, ..
                        }) => on_marker(text, ts_trace_ns, &mut out),
                        None => {}
                    }
                }
            }
        }
        if stop_flag.load(Ordering::SeqCst) {
            // One more pass after the stop marker catches events other CPUs committed
            // while the event was being disabled.
            if out.stop_marker_seen && !progressed {
                return Ok(out);
            }
            let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + STOP_TIMEOUT);
            if Instant::now() >= deadline {
                tracing::warn!("trace stop marker not seen; the tail of the trace may be missing");
                return Ok(out);
            }
        }
        if !progressed {
            thread::sleep(poll);
        }
    }
}

/// The pid in an instance name this module creates (`plab-<pid>-<n>`).
pub(crate) fn instance_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("plab-")?.split_once('-')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// Removes tracing instances left behind by protolab processes that no longer exist
/// (killed before their sessions could clean up, e.g. by SIGKILL or an exit without
/// unwinding): each one keeps a ring buffer per CPU and its tracepoint enabled. Returns
/// the names removed. Call it before starting a run; it never touches an instance whose
/// process is alive. (A process of another PID namespace sharing this tracefs would
/// look dead: do not call it where containers share the host's tracefs.)
pub fn remove_stale_instances() -> Result<Vec<String>, KernelError> {
    let root = tracefs_root()?;
    let instances = root.join("instances");
    let entries = fs::read_dir(&instances).map_err(|e| KernelError::trace_io(&instances, e))?;
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = instance_pid(&name) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let mut stale = Instance {
            name: name.clone(),
            path: entry.path(),
            removed: false,
        };
        match stale.remove() {
            Ok(()) => removed.push(name),
            Err(e) => tracing::warn!("could not remove stale tracing instance {name}: {e}"),
        }
    }
    Ok(removed)
}

/// Finds tracefs, mounting it at /sys/kernel/tracing if needed (root only).
fn tracefs_root() -> Result<PathBuf, KernelError> {
    let _guard = MOUNT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = find_tracefs_mount() {
        return Ok(path);
    }
    let debugfs = Path::new(TRACEFS_DEBUGFS);
    if debugfs.join("instances").is_dir() {
        return Ok(debugfs.to_path_buf());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(KernelError::TracefsMount {
            detail: "not running as root".to_string(),
        });
    }
    let output = Command::new("mount")
        .args(["-t", "tracefs", "nodev", TRACEFS_DEFAULT])
        .output()
        .map_err(|e| KernelError::TracefsMount {
            detail: format!("could not run mount: {e}"),
        })?;
    if !output.status.success() {
        return Err(KernelError::TracefsMount {
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(PathBuf::from(TRACEFS_DEFAULT))
}

/// The tracefs mount point from /proc/self/mounts, preferring the standard one.
fn find_tracefs_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    let points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, point, fstype) = (f.next()?, f.next()?, f.next()?);
            (fstype == "tracefs").then_some(point)
        })
        .collect();
    let best = points
        .iter()
        .find(|p| **p == TRACEFS_DEFAULT)
        .or_else(|| points.first())?;
    Some(PathBuf::from(best))
}
