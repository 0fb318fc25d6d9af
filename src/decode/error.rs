//! Per-frame decode errors that name the layer and the numbers, like etherparse's.
//!
//! A frame with an error still carries every layer below the one that failed; the
//! error goes into the frame's `error` field and decoding moves on to the next frame.

use std::fmt;

/// The protocol layer an error belongs to; printed as the message prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Frame,
    Ethernet,
    Vlan,
    Null,
    Sll,
    Sll2,
    Arp,
    Ip,
    Ipv4,
    Ipv6,
    Ipv6Ext,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Frame => "frame",
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Null => "null",
            Layer::Sll => "sll",
            Layer::Sll2 => "sll2",
            Layer::Arp => "arp",
            Layer::Ip => "ip",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6 extension",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Icmpv6 => "icmpv6",
        })
    }
}

/// Why a frame could not be decoded completely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame: no bytes captured")]
    Empty,
    #[error("frame: link type {linktype} is not supported")]
    UnsupportedLinkType { linktype: u32 },
    /// The frame ends before a header does.
    #[error("{layer}: header needs {needed} bytes, only {available} {why}")]
    Truncated {
        layer: Layer,
        needed: usize,
        available: usize,
        /// "captured (snaplen)" when the capture cut it, "in the frame" when the frame is short.
        why: &'static str,
    },
    #[error("{layer}: address family {family} is neither IPv4 nor IPv6")]
    AddressFamily { layer: Layer, family: u32 },
    #[error("{layer}: version {version} is neither 4 nor 6")]
    IpVersion { layer: Layer, version: u8 },
    #[error("ipv4: IHL {ihl} is below 5")]
    Ipv4Ihl { ihl: u8 },
    #[error("ipv4: total length {total_len} is below the header length {header_len}")]
    Ipv4TotalLengthTooSmall { total_len: u16, header_len: u16 },
    /// A length field claims more bytes than the (untruncated) frame holds.
    #[error("{layer}: {field} {claimed} runs past the {available} bytes {within}")]
    LengthPastFrame {
        layer: Layer,
        field: &'static str,
        claimed: usize,
        available: usize,
        /// "in the frame" or "of IP payload".
        within: &'static str,
    },
    #[error("tcp: data offset {offset} is below 5")]
    TcpDataOffset { offset: u8 },
    #[error("tcp: header length {header_len} exceeds the IP payload length {ip_payload}")]
    TcpHeaderPastPayload {
        header_len: usize,
        ip_payload: usize,
    },
    #[error("udp: length {len} is below 8")]
    UdpLengthTooSmall { len: u16 },
    #[error("ipv6 extension: hop-by-hop header is not the first extension header")]
    HopByHopNotFirst,
    #[error("ipv6 extension: authentication header has payload length 0")]
    AuthZeroLength,
    #[error("{layer}: {detail}")]
    Other { layer: Layer, detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_layer_and_numbers() {
        assert_eq!(
            DecodeError::TcpDataOffset { offset: 4 }.to_string(),
            "tcp: data offset 4 is below 5"
        );
        assert_eq!(
            DecodeError::Ipv4Ihl { ihl: 3 }.to_string(),
            "ipv4: IHL 3 is below 5"
        );
        assert_eq!(
            DecodeError::Truncated {
                layer: Layer::Tcp,
                needed: 20,
                available: 12,
                why: "in the frame"
            }
            .to_string(),
            "tcp: header needs 20 bytes, only 12 in the frame"
        );
        assert_eq!(
            DecodeError::LengthPastFrame {
                layer: Layer::Ipv4,
                field: "total length",
                claimed: 1500,
                available: 46,
                within: "in the frame",
            }
            .to_string(),
            "ipv4: total length 1500 runs past the 46 bytes in the frame"
        );
    }
}
