//! The kernel's socket table through netlink `sock_diag` (the interface `ss` uses):
//! one sample of it ([`sample_once`]), which the [`super::DiagSampler`] takes again
//! and again while a run lasts.
//!
//! Why sample the table when the tracepoint sees every transition: TIME_WAIT is a
//! separate kernel object (the tracepoint only shows FIN_WAIT2 → CLOSE), and how long
//! a socket sat in CLOSE_WAIT or TIME_WAIT, with what in its queues, is a property of
//! the table over time. A [`super::DiagSampler`] asks every millisecond and keeps only
//! the changes, summarised as [`super::SocketTimeline`]s (first and last time each socket was seen
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
//! [`super::SamplerStats::max_gap_ns`] reports the resolution actually achieved.
//!
//! Network namespaces: the netlink socket is opened by the thread that calls
//! [`super::DiagSampler::start`] (or [`sample_once`]) and answers for *that thread's* network
//! namespace for its whole life, even though sampling runs on another thread. To watch
//! a namespace, enter it (`setns`) on the calling thread first, then start.

use std::io;
use std::net::SocketAddr;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket};

use super::{
    normalize_ports, port_matches, realtime_ns, KernelError, KernelState, Probe, SocketSample,
};

/// `INET_DIAG_REQ_BYTECODE`, the request attribute carrying a filter program.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// Filter opcodes (`include/uapi/linux/inet_diag.h`): source / destination port equal.
const INET_DIAG_BC_S_EQ: u8 = 11;
const INET_DIAG_BC_D_EQ: u8 = 12;
/// All eleven TCP states plus TCP_NEW_SYN_RECV (bit 12): request sockets too.
const ALL_STATES: u32 = 0x1ffe;
/// Big enough for a whole dump batch (the kernel fills up to 32 KiB per read).
const RECV_BUFFER: usize = 64 * 1024;

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
