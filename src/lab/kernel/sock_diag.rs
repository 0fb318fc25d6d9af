//! The kernel's socket table through netlink `sock_diag` (the interface `ss` uses),
//! sampled while a run lasts.
//!
//! Why sample the table when the tracepoint sees every transition: TIME_WAIT is a
//! separate kernel object (the tracepoint only shows FIN_WAIT2 → CLOSE), and how long
//! a socket sat in CLOSE_WAIT or TIME_WAIT, with what in its queues, is a property of
//! the table over time. A [`DiagSampler`] asks every millisecond and keeps only the
//! changes, summarised as [`SocketTimeline`]s (first and last time each socket was seen
//! in each state), so memory stays small however long the run.
//!
//! Each sample is two dumps (AF_INET, AF_INET6) of TCP sockets in every state,
//! TIME_WAIT and request sockets included. The run's ports are filtered in the kernel
//! with inet_diag bytecode (`sport == P || dport == P`, up to 15 ports; more are
//! filtered here), and again here.
//!
//! Cost: a dump walks the whole TCP established hash of the kernel (262 144 buckets
//! on the 24 GB lab machine, shared by all namespaces), ~0.2 ms per family however few
//! sockets match, so sampling every millisecond keeps about 40 % of one CPU busy.
//! [`SamplerStats::max_gap_ns`] reports the resolution actually achieved.
//!
//! Network namespaces: the netlink socket is opened by the thread that calls
//! [`DiagSampler::start`] (or [`sample_once`]) and answers for *that thread's* network
//! namespace for its whole life, even though sampling runs on another thread. To watch
//! a namespace, enter it (`setns`) on the calling thread first, then start.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket};
use serde::Serialize;

use super::proc_net::ProcProbe;
use super::{normalize_ports, port_matches, realtime_ns, KernelError, KernelState, SocketSample};

/// One sample per millisecond: CLOSE_WAIT and TIME_WAIT durations to ±1 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// `INET_DIAG_REQ_BYTECODE`, the request attribute carrying a filter program.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// Filter opcodes (`include/uapi/linux/inet_diag.h`): source / destination port equal.
const INET_DIAG_BC_S_EQ: u8 = 11;
const INET_DIAG_BC_D_EQ: u8 = 12;
/// All eleven TCP states plus TCP_NEW_SYN_RECV (bit 12): request sockets too.
const ALL_STATES: u32 = 0x1ffe;
/// Big enough for a whole dump batch (the kernel fills up to 32 KiB per read).
const RECV_BUFFER: usize = 64 * 1024;

/// One socket in one state over consecutive samples: when it was first and last seen
/// so. The time in the state lies between `last_seen_ns - first_seen_ns` and
/// `ended_ns - first_seen_ns` (± one interval at the start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketTimeline {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: KernelState,
    /// First sample that saw it in this state (CLOCK_REALTIME ns).
    pub first_seen_ns: u64,
    /// Last sample that saw it in this state.
    pub last_seen_ns: u64,
    /// First sample where it was gone or in another state; `None` if it was still
    /// there when sampling stopped.
    pub ended_ns: Option<u64>,
    /// How many samples saw it in this state.
    pub samples: u32,
    /// Inode at the last sample (0 for TIME_WAIT and orphaned sockets).
    pub inode: u32,
    /// The kernel's socket cookie (0 from `/proc`), see [`SocketSample::cookie`].
    pub cookie: u64,
    /// The largest receive and send queues seen.
    pub max_recv_q: u32,
    pub max_send_q: u32,
    /// `"sock_diag"` or `"proc"`.
    pub source: &'static str,
}

impl SocketTimeline {
    /// How long samples saw it in this state (a lower bound of the real duration).
    pub fn seen_for_ns(&self) -> u64 {
        self.last_seen_ns.saturating_sub(self.first_seen_ns)
    }
}

/// A socket in a state; the cookie keeps a reused 4-tuple's sockets apart.
type TimelineKey = (SocketAddr, SocketAddr, KernelState, u64);

/// Folds consecutive samples into timelines: only changes cost memory.
#[derive(Debug, Default)]
pub(crate) struct TimelineBuilder {
    open: HashMap<TimelineKey, SocketTimeline>,
    done: Vec<SocketTimeline>,
}

impl TimelineBuilder {
    /// Records one complete sample taken at `ts_ns`: sockets not in it have ended.
    pub fn observe(&mut self, ts_ns: u64, samples: &[SocketSample]) {
        let mut present: HashSet<TimelineKey> = HashSet::with_capacity(samples.len());
        for s in samples {
            let key = (s.local, s.remote, s.state, s.cookie);
            present.insert(key);
            self.open
                .entry(key)
                .and_modify(|t| {
                    t.last_seen_ns = ts_ns;
                    t.samples += 1;
                    t.inode = s.inode;
                    t.max_recv_q = t.max_recv_q.max(s.recv_q);
                    t.max_send_q = t.max_send_q.max(s.send_q);
                })
                .or_insert_with(|| SocketTimeline {
                    local: s.local,
                    remote: s.remote,
                    state: s.state,
                    first_seen_ns: ts_ns,
                    last_seen_ns: ts_ns,
                    ended_ns: None,
                    samples: 1,
                    inode: s.inode,
                    cookie: s.cookie,
                    max_recv_q: s.recv_q,
                    max_send_q: s.send_q,
                    source: s.source,
                });
        }
        if present.len() != self.open.len() {
            let gone: Vec<TimelineKey> = self
                .open
                .keys()
                .filter(|k| !present.contains(k))
                .copied()
                .collect();
            for key in gone {
                if let Some(mut t) = self.open.remove(&key) {
                    t.ended_ns = Some(ts_ns);
                    self.done.push(t);
                }
            }
        }
    }

    /// All timelines, ended or not, in order of first sighting.
    pub fn finish(mut self) -> Vec<SocketTimeline> {
        self.done.extend(self.open.into_values());
        self.done.sort_by(|a, b| {
            (a.first_seen_ns, a.local, a.remote, a.state, a.cookie).cmp(&(
                b.first_seen_ns,
                b.local,
                b.remote,
                b.state,
                b.cookie,
            ))
        });
        self.done
    }
}

/// The inet_diag filter program for "local or remote port is one of `ports`"; `None`
/// when it would not fit (jump offsets are one byte: 15 ports at most).
///
/// Each test is two 4-byte ops, `{code, yes, no}` then `{0, 0, port}`. A match jumps to
/// the end of the program (accept); a miss goes to the next test, and the last miss
/// jumps 4 bytes past the end (reject), as `ss` builds its filters.
pub(crate) fn port_bytecode(ports: &[u16]) -> Option<Vec<u8>> {
    let tests = ports.len() * 2;
    let total = tests * 8;
    if ports.is_empty() || total > u8::MAX as usize {
        return None;
    }
    let mut bc = Vec::with_capacity(total);
    let ops = ports
        .iter()
        .flat_map(|&p| [(INET_DIAG_BC_S_EQ, p), (INET_DIAG_BC_D_EQ, p)]);
    for (i, (code, port)) in ops.enumerate() {
        let rest = total - i * 8;
        let no = if i + 1 == tests { rest + 4 } else { 8 };
        bc.extend_from_slice(&[code, rest as u8]);
        bc.extend_from_slice(&(no as u16).to_ne_bytes());
        bc.extend_from_slice(&[0, 0]);
        bc.extend_from_slice(&port.to_ne_bytes());
    }
    Some(bc)
}

/// A source of complete socket-table samples.
pub(crate) trait Probe: Send {
    fn sample(&mut self, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError>;
    fn source(&self) -> &'static str;
}

/// A NETLINK_SOCK_DIAG socket bound to the opening thread's network namespace.
pub(crate) struct DiagSocket {
    socket: Socket,
    ports: Vec<u16>,
    seq: u32,
    buf: Vec<u8>,
    bytecode: Option<Vec<u8>>,
}

fn netlink_err(what: &'static str) -> impl FnOnce(io::Error) -> KernelError {
    move |source| KernelError::Netlink { what, source }
}

impl DiagSocket {
    pub fn open(ports: &[u16]) -> Result<DiagSocket, KernelError> {
        let ports = normalize_ports(ports)?;
        let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(netlink_err("socket"))?;
        socket.bind_auto().map_err(netlink_err("bind"))?;
        socket
            .connect(&netlink_sys::SocketAddr::new(0, 0))
            .map_err(netlink_err("connect"))?;
        // A dump answers at once; a timeout turns a wedged socket into an error
        // instead of a hung sampler.
        nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::ReceiveTimeout,
            &nix::sys::time::TimeVal::new(1, 0),
        )
        .map_err(|e| KernelError::Netlink {
            what: "setsockopt",
            source: e.into(),
        })?;
        Ok(DiagSocket {
            socket,
            bytecode: port_bytecode(&ports),
            ports,
            seq: 0,
            buf: vec![0; RECV_BUFFER],
        })
    }

    /// One snapshot: TCP over IPv4 and IPv6.
    pub fn sample(&mut self, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError> {
        let mut out = self.dump(AF_INET, ts_ns)?;
        out.extend(self.dump(AF_INET6, ts_ns)?);
        Ok(out)
    }

    fn dump(&mut self, family: u8, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError> {
        match self.dump_once(family, ts_ns) {
            // Kernels before 4.17 lack the port-equality opcodes: filter here instead.
            Err(KernelError::Netlink { source, .. })
                if self.bytecode.is_some() && source.raw_os_error() == Some(nix::libc::EINVAL) =>
            {
                tracing::debug!("sock_diag refused the port filter; filtering in userspace");
                self.bytecode = None;
                self.dump_once(family, ts_ns)
            }
            other => other,
        }
    }

    fn request(&mut self, family: u8) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(
            header,
            SockDiagMessage::InetRequest(InetRequest {
                family,
                protocol: IPPROTO_TCP,
                extensions: ExtensionFlags::empty(),
                states: StateFlags::from_bits_retain(ALL_STATES),
                socket_id: if family == AF_INET {
                    SocketId::new_v4()
                } else {
                    SocketId::new_v6()
                },
            })
            .into(),
        );
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        if let Some(bc) = &self.bytecode {
            // The crate has no bytecode attribute: append it and fix nlmsg_len.
            let nla_len = 4 + bc.len();
            buf.extend_from_slice(&(nla_len as u16).to_ne_bytes());
            buf.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
            buf.extend_from_slice(bc);
            buf.resize(buf.len().next_multiple_of(4), 0);
            let total = buf.len() as u32;
            buf[..4].copy_from_slice(&total.to_ne_bytes());
        }
        buf
    }

    fn dump_once(&mut self, family: u8, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError> {
        let request = self.request(family);
        self.socket.send(&request, 0).map_err(netlink_err("send"))?;
        let mut out = Vec::new();
        loop {
            let n = self
                .socket
                .recv(&mut &mut self.buf[..], 0)
                .map_err(netlink_err("receive"))?;
            let n = n.min(self.buf.len());
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<SockDiagMessage>::deserialize(&self.buf[off..n])
                    .map_err(|e| KernelError::Netlink {
                        what: "reply decoding",
                        source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
                    })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += len.next_multiple_of(4);
                if msg.header.sequence_number != self.seq {
                    continue; // the tail of an earlier, interrupted dump
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        if let Some(code) = e.code {
                            return Err(KernelError::Netlink {
                                what: "dump",
                                source: io::Error::from_raw_os_error(-code.get()),
                            });
                        }
                    }
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                        let id = &r.header.socket_id;
                        let local = SocketAddr::new(id.source_address, id.source_port);
                        let remote = SocketAddr::new(id.destination_address, id.destination_port);
                        let Some(state) = KernelState::from_code(r.header.state as u32) else {
                            continue;
                        };
                        if port_matches(&self.ports, &local, &remote) {
                            out.push(SocketSample {
                                ts_ns,
                                local,
                                remote,
                                state,
                                inode: r.header.inode,
                                cookie: cookie(&id.cookie),
                                recv_q: r.header.recv_queue,
                                send_q: r.header.send_queue,
                                source: "sock_diag",
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The kernel stores the 64-bit cookie as two host-order 32-bit halves, low first.
fn cookie(b: &[u8; 8]) -> u64 {
    let low = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64;
    let high = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]) as u64;
    (high << 32) | low
}

impl Probe for DiagSocket {
    fn sample(&mut self, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError> {
        DiagSocket::sample(self, ts_ns)
    }

    fn source(&self) -> &'static str {
        "sock_diag"
    }
}

/// One snapshot of the TCP sockets whose local or remote port is one of `ports`, in the
/// calling thread's network namespace.
pub fn sample_once(ports: &[u16]) -> Result<Vec<SocketSample>, KernelError> {
    DiagSocket::open(ports)?.sample(realtime_ns())
}

/// Which socket table a [`DiagSampler`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleSource {
    /// Netlink sock_diag (fast, filtered in the kernel).
    #[default]
    SockDiag,
    /// `/proc/net/tcp{,6}` (the unprivileged fallback; slower: the kernel formats
    /// every socket of the namespace as text).
    Proc,
    /// sock_diag, or `/proc` if netlink cannot be used here.
    Auto,
}

/// How a sampling run went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SamplerStats {
    /// `"sock_diag"` or `"proc"`.
    pub source: &'static str,
    pub interval_ns: u64,
    pub samples: u64,
    /// Samples that failed (counted, logged, and skipped).
    pub errors: u64,
    pub last_error: Option<String>,
    /// The longest time between two successful samples: the resolution actually
    /// achieved (a loaded machine can stretch the interval).
    pub max_gap_ns: u64,
    pub started_ns: u64,
    pub stopped_ns: u64,
}

/// Samples the socket table on a thread of its own until stopped.
pub struct DiagSampler {
    stop_flag: Arc<AtomicBool>,
    /// Successful samples so far, readable while sampling goes on.
    taken: Arc<AtomicU64>,
    handle: Option<JoinHandle<(Vec<SocketTimeline>, SamplerStats)>>,
    source: &'static str,
}

impl std::fmt::Debug for DiagSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagSampler")
            .field("source", &self.source)
            .field("running", &self.handle.is_some())
            .finish()
    }
}

impl DiagSampler {
    /// Samples through netlink sock_diag every `interval` ([`DEFAULT_INTERVAL`] is
    /// 1 ms). Opens the socket now, on the calling thread (so in its network namespace),
    /// and takes a first sample, so a failure is reported here rather than lost.
    pub fn start(ports: &[u16], interval: Duration) -> Result<DiagSampler, KernelError> {
        Self::start_with(ports, interval, SampleSource::SockDiag)
    }

    /// [`DiagSampler::start`] with a choice of socket table.
    pub fn start_with(
        ports: &[u16],
        interval: Duration,
        source: SampleSource,
    ) -> Result<DiagSampler, KernelError> {
        let probe: Box<dyn Probe> = match source {
            SampleSource::SockDiag => Box::new(DiagSocket::open(ports)?),
            SampleSource::Proc => Box::new(ProcProbe::open(ports)?),
            SampleSource::Auto => match DiagSocket::open(ports).and_then(|mut s| {
                s.sample(realtime_ns())?;
                Ok(s)
            }) {
                Ok(s) => Box::new(s),
                Err(e) => {
                    tracing::warn!("sock_diag unavailable ({e}); polling /proc/net/tcp instead");
                    Box::new(ProcProbe::open(ports)?)
                }
            },
        };
        Self::spawn(probe, interval)
    }

    pub(crate) fn spawn(
        mut probe: Box<dyn Probe>,
        interval: Duration,
    ) -> Result<DiagSampler, KernelError> {
        let source = probe.source();
        // Fail now, on the caller's thread, if the table cannot be read at all.
        let mut builder = TimelineBuilder::default();
        let first_ts = realtime_ns();
        builder.observe(first_ts, &probe.sample(first_ts)?);

        let stop_flag = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(AtomicU64::new(1));
        let flag = Arc::clone(&stop_flag);
        let counter = Arc::clone(&taken);
        let handle = thread::Builder::new()
            .name(format!("sampler-{source}"))
            .spawn(move || sample_loop(probe, builder, first_ts, interval, &flag, &counter))
            .map_err(|source| KernelError::Spawn {
                what: "socket sampler",
                source,
            })?;
        Ok(DiagSampler {
            stop_flag,
            taken,
            handle: Some(handle),
            source,
        })
    }

    /// `"sock_diag"` or `"proc"`: what `SampleSource::Auto` settled on.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// How many samples have been taken so far (the first, taken by `start`, included).
    /// A sample that *began* after a moment `t` has surely been completed once this
    /// count has grown by two since `t`: that is how a caller waits until the sampler
    /// has seen a state, instead of guessing how long sampling takes.
    pub fn samples_taken(&self) -> u64 {
        self.taken.load(Ordering::SeqCst)
    }

    /// Takes a last sample, stops, and returns the timelines in order of first sighting.
    pub fn stop(self) -> Vec<SocketTimeline> {
        self.stop_with_stats().0
    }

    /// [`DiagSampler::stop`], with how the sampling went.
    pub fn stop_with_stats(mut self) -> (Vec<SocketTimeline>, SamplerStats) {
        self.finish()
    }

    fn finish(&mut self) -> (Vec<SocketTimeline>, SamplerStats) {
        self.stop_flag.store(true, Ordering::SeqCst);
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => (
                Vec::new(),
                SamplerStats {
                    source: self.source,
                    last_error: Some("the sampler thread panicked".to_string()),
                    ..SamplerStats::default()
                },
            ),
            None => (Vec::new(), SamplerStats::default()),
        }
    }
}

impl Drop for DiagSampler {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.finish();
        }
    }
}

fn sample_loop(
    mut probe: Box<dyn Probe>,
    mut builder: TimelineBuilder,
    first_ts: u64,
    interval: Duration,
    stop_flag: &AtomicBool,
    taken: &AtomicU64,
) -> (Vec<SocketTimeline>, SamplerStats) {
    let mut stats = SamplerStats {
        source: probe.source(),
        interval_ns: interval.as_nanos() as u64,
        samples: 1,
        started_ns: first_ts,
        ..SamplerStats::default()
    };
    let mut last_ok = first_ts;
    let mut next = Instant::now() + interval;
    loop {
        // Read the flag before sampling, so the last sample is taken after stop was
        // requested: the table at stop time is recorded.
        let stopping = stop_flag.load(Ordering::SeqCst);
        if !stopping {
            sleep_until(next, stop_flag);
        }
        let began = Instant::now();
        let ts = realtime_ns();
        match probe.sample(ts) {
            Ok(samples) => {
                builder.observe(ts, &samples);
                stats.samples += 1;
                taken.store(stats.samples, Ordering::SeqCst);
                stats.max_gap_ns = stats.max_gap_ns.max(ts.saturating_sub(last_ok));
                last_ok = ts;
            }
            Err(e) => {
                if stats.errors == 0 {
                    tracing::warn!("socket table sample failed: {e}");
                }
                stats.errors += 1;
                stats.last_error = Some(e.to_string());
            }
        }
        if stopping {
            stats.stopped_ns = ts;
            return (builder.finish(), stats);
        }
        // Keep to the schedule without catching up after a stall, and never spend more
        // than half the time sampling: a sample slower than half the interval (a huge
        // socket table, /proc's text) is followed by an equal pause, so the sampler
        // cannot take a whole CPU from the experiment it watches.
        let took = began.elapsed();
        next = (next + interval).max(Instant::now() + took);
    }
}

/// Sleeps until `deadline`, waking early when stop is requested (long intervals must
/// not delay stop).
fn sleep_until(deadline: Instant, stop_flag: &AtomicBool) {
    const SLICE: Duration = Duration::from_millis(10);
    loop {
        let now = Instant::now();
        if now >= deadline || stop_flag.load(Ordering::SeqCst) {
            return;
        }
        thread::sleep((deadline - now).min(SLICE));
    }
}
