//! Link-layer header types (tcpdump.org's LINKTYPE_ registry) that protolab decodes.

use std::fmt;

/// A LINKTYPE_ value from a capture file's header or interface description.
///
/// Kept as the raw number so unknown types survive the trip to the decoder, which
/// reports them per frame instead of refusing the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (also Linux `lo`, with zero MAC addresses).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP as tcpdump.org defines 101 (IPv4 or IPv6, from the version nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like NULL but the family is in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture, version 1 (16-byte header), from `tcpdump -i any`.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4 only.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6 only.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux "cooked" capture, version 2 (20-byte header).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The conventional short name (as libpcap's `pcap_datalink_val_to_name`).
    pub fn name(self) -> &'static str {
        match self {
            Self::NULL => "NULL",
            Self::ETHERNET => "EN10MB",
            Self::RAW => "RAW",
            Self::LOOP => "LOOP",
            Self::LINUX_SLL => "LINUX_SLL",
            Self::IPV4 => "IPV4",
            Self::IPV6 => "IPV6",
            Self::LINUX_SLL2 => "LINUX_SLL2",
            _ => "unknown",
        }
    }

    /// True when protolab knows how to decode frames of this type.
    pub fn is_supported(self) -> bool {
        self.name() != "unknown"
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}
