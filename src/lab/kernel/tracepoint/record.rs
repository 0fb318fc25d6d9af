//! The binary records of `per_cpu/cpuN/trace_pipe_raw`, decoded with the field
//! offsets this kernel's `format` files give: a state change ([`TraceRecord`], in
//! trace-clock time) or a `trace_marker` write. Pure: the page layout is
//! `ring_buffer`'s, the bytes come from the caller, and the fixtures in `testdata/`
//! were captured on a real kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::clock::ClockMap;
use super::tcp_event::{TcpDecoder, TcpEventRecord};
use super::transition::KernelTransition;
use crate::lab::kernel::ring_buffer::{Field, Format, RawRecord};
use crate::lab::kernel::KernelState;

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

impl TraceRecord {
    /// The transition this record is, timed on CLOCK_REALTIME through `clock` (what
    /// both the collecting and the live session hand out).
    pub fn into_transition(self, clock: ClockMap) -> KernelTransition {
        KernelTransition {
            ts_ns: clock.to_realtime(self.ts_trace_ns),
            local: self.local,
            remote: self.remote,
            old: self.old,
            new: self.new,
            sock: self.sock,
            pid: self.pid,
        }
    }
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
    /// The TCP congestion-control events, when the session traces them.
    tcp: TcpDecoder,
}

/// What a raw record turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    Transition(TraceRecord),
    Marker { ts_trace_ns: u64, text: String },
    Tcp(TcpEventRecord),
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
            tcp: TcpDecoder::default(),
        };
        if decoder.sock_event_id == 0 || decoder.print_event_id == 0 {
            return Err("missing ID line".to_string());
        }
        if decoder.saddr.size != 4 || decoder.saddr_v6.size != 16 {
            return Err("unexpected address field sizes".to_string());
        }
        Ok(decoder)
    }

    /// Also decodes the TCP congestion-control events `tcp` knows.
    pub fn with_tcp(mut self, tcp: TcpDecoder) -> RecordDecoder {
        self.tcp = tcp;
        self
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
            _ => match self.tcp.decode(rec) {
                Some(t) => Decoded::Tcp(t),
                None => Decoded::Other,
            },
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
