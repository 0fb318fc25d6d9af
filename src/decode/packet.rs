//! `Packet`: protolab's own owned view of one frame, the only thing analysis sees.
//!
//! Small and allocation-free for the common case (no heap unless a frame carries
//! more than the inline capacity of VLAN tags or SACK blocks, which it cannot),
//! so decoding a million frames costs no allocator traffic.

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use arrayvec::ArrayVec;
use serde::{Serialize, Serializer};

use super::DecodeError;

/// One decoded frame. Layers that were absent or could not be decoded are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    /// 1-based frame number in the capture.
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Bytes captured.
    pub caplen: u32,
    /// Bytes on the wire.
    pub len: u32,
    pub eth: Option<EthInfo>,
    pub arp: Option<ArpInfo>,
    pub ip: Option<IpInfo>,
    pub transport: Option<Transport>,
    /// Where the transport payload sits in the frame's bytes (captured part only).
    pub payload: Range<usize>,
    /// The first problem that stopped decoding; the layers above it are still filled.
    pub error: Option<DecodeError>,
}

impl Packet {
    /// The TCP layer, when this is a TCP segment.
    pub fn tcp(&self) -> Option<&TcpInfo> {
        match &self.transport {
            Some(Transport::Tcp(t)) => Some(t),
            _ => None,
        }
    }

    /// The UDP layer, when this is a UDP datagram.
    pub fn udp(&self) -> Option<&UdpInfo> {
        match &self.transport {
            Some(Transport::Udp(u)) => Some(u),
            _ => None,
        }
    }
}

/// A 48-bit MAC address, printed `02:00:00:00:00:01`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Ethernet II header, with the 802.1Q / QinQ tags between it and the payload.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EthInfo {
    pub src: MacAddr,
    pub dst: MacAddr,
    /// VLAN ids, outermost first.
    #[serde(skip_serializing_if = "ArrayVec::is_empty")]
    pub vlan: ArrayVec<u16, 4>,
    /// EtherType of the payload after any tags.
    #[serde(skip)]
    pub ether_type: u16,
}

/// An ARP packet for IPv4 over Ethernet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArpInfo {
    /// `request`, `reply`, or the number for other operations.
    pub op: ArpOp,
    pub sender_mac: MacAddr,
    pub sender_ip: IpAddr,
    pub target_mac: MacAddr,
    pub target_ip: IpAddr,
}

/// ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
    Other(u16),
}

impl fmt::Display for ArpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpOp::Request => f.write_str("request"),
            ArpOp::Reply => f.write_str("reply"),
            ArpOp::Other(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for ArpOp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// IPv4 or IPv6 header fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpInfo {
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// Identification (IPv4) or the fragment header's identification (IPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// Protocol of the payload after any extension headers (6 TCP, 17 UDP, …).
    pub proto: u8,
    /// Header length including IPv4 options or IPv6 extension headers.
    #[serde(skip)]
    pub header_len: u16,
    /// Length of the IP payload per the header (not per the frame).
    #[serde(skip)]
    pub payload_len: u32,
    /// Length of IPv4 options in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub options_len: u8,
    /// IPv6 extension header numbers in order (0 hop-by-hop, 43 routing, 44 fragment, 60 dest opts).
    #[serde(skip_serializing_if = "ArrayVec::is_empty")]
    pub ext: ArrayVec<u8, 8>,
    /// Present when this packet is a fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frag: Option<Fragment>,
}

impl IpInfo {
    /// All zeros, version 0: a slot for the decoder to fill in place.
    pub(crate) fn blank() -> Self {
        IpInfo {
            version: 0,
            src: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            ttl: 0,
            id: None,
            proto: 0,
            header_len: 0,
            payload_len: 0,
            options_len: 0,
            ext: ArrayVec::new(),
            frag: None,
        }
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// Where a fragment sits in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fragment {
    /// Offset of this fragment's data in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// The transport layer that was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Tcp(TcpInfo),
    Udp(UdpInfo),
    Icmp(IcmpInfo),
}

/// TCP control bits, in header bit order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const NS: u16 = 0x100;
    /// SYN, FIN and RST: the flags that open, close or abort, the only ones that
    /// can move a connection's state.
    pub const CONTROL: u16 = Self::SYN | Self::FIN | Self::RST;

    const NAMES: [(u16, &'static str, char); 9] = [
        (Self::FIN, "FIN", 'F'),
        (Self::SYN, "SYN", 'S'),
        (Self::RST, "RST", 'R'),
        (Self::PSH, "PSH", 'P'),
        (Self::ACK, "ACK", '.'),
        (Self::URG, "URG", 'U'),
        (Self::ECE, "ECE", 'E'),
        (Self::CWR, "CWR", 'W'),
        (Self::NS, "NS", 'N'),
    ];

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    /// Carries SYN, FIN or RST.
    pub fn is_control(self) -> bool {
        self.has(Self::CONTROL)
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }

    /// Names of the set bits, as in the JSON contract: `["SYN","ACK"]`.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(bit, _, _)| self.has(*bit))
            .map(|(_, name, _)| name)
    }

    /// tcpdump's compact form: `[S.]`, `[P.]`, `[F.]`, `[R]`, `[.]`.
    pub fn tcpdump(self) -> String {
        // tcpdump prints S, F, P, R, U, W, E then '.' for ACK.
        let order = ['S', 'F', 'P', 'R', 'U', 'W', 'E', 'N', '.'];
        let mut out = String::new();
        for c in order {
            if let Some((bit, _, _)) = Self::NAMES.iter().find(|(_, _, ch)| *ch == c) {
                if self.has(*bit) {
                    out.push(c);
                }
            }
        }
        if out.is_empty() {
            out.push_str("none");
        }
        out
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// The TCP options protolab understands; others are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TcpOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mss: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wscale: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sack_perm: bool,
    /// (TSval, TSecr).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<(u32, u32)>,
    /// SACK blocks as (left edge, right edge), raw sequence numbers.
    #[serde(skip_serializing_if = "ArrayVec::is_empty")]
    pub sack: ArrayVec<(u32, u32), 4>,
}

impl TcpOptions {
    pub fn is_empty(&self) -> bool {
        *self == TcpOptions::default()
    }
}

/// TCP header fields and the payload length the IP header implies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TcpInfo {
    pub sport: u16,
    pub dport: u16,
    /// Raw 32-bit sequence number.
    pub seq: u32,
    /// Raw 32-bit acknowledgment number (meaningful only with ACK set).
    pub ack: u32,
    pub flags: TcpFlags,
    /// Window field as sent (not scaled).
    pub window: u16,
    /// Payload length from the IP header, so padding and snaplen do not change it.
    pub len: u32,
    #[serde(skip)]
    pub header_len: u8,
    #[serde(skip_serializing_if = "TcpOptions::is_empty")]
    pub options: TcpOptions,
}

/// UDP header fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UdpInfo {
    pub sport: u16,
    pub dport: u16,
    /// The UDP length field (header + payload).
    pub len: u16,
}

impl UdpInfo {
    /// Payload bytes per the length field.
    pub fn payload_len(&self) -> u32 {
        u32::from(self.len.saturating_sub(8))
    }
}

/// ICMP (v4 or v6) type and code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IcmpInfo {
    #[serde(skip)]
    pub version: u8,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    /// Echo identifier and sequence, for echo request/reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo: Option<(u16, u16)>,
}
