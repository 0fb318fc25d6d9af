//! The link layer: which bytes of a frame are the network packet, per link type.
//!
//! Ethernet is handed whole to etherparse (it knows VLAN tags); the others carry a
//! small header protolab reads itself, then an EtherType or a bare IP packet.

use etherparse::EtherType;

use super::{DecodeError, Layer};
use crate::frame::LinkType;

/// What follows the link header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPayload {
    /// Ethernet II: let etherparse slice the whole frame from the MAC header.
    Ethernet,
    /// Payload of the given EtherType starting at `offset`.
    EtherType { ether_type: u16, offset: usize },
}

/// BSD `AF_INET`, and the three values BSDs use for `AF_INET6` (plus Linux's 10).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// Works out where the network layer starts for `linktype`.
pub fn link_payload(
    linktype: LinkType,
    bytes: &[u8],
    truncated: bool,
) -> Result<LinkPayload, DecodeError> {
    let need = |layer: Layer, needed: usize| -> Result<(), DecodeError> {
        if bytes.len() < needed {
            Err(DecodeError::Truncated {
                layer,
                needed,
                available: bytes.len(),
                why: why(truncated),
            })
        } else {
            Ok(())
        }
    };
    match linktype {
        LinkType::ETHERNET => Ok(LinkPayload::Ethernet),
        LinkType::NULL | LinkType::LOOP => {
            need(Layer::Null, 4)?;
            let raw = [bytes[0], bytes[1], bytes[2], bytes[3]];
            // NULL is in the writer's byte order, LOOP in network order; try both,
            // since a capture read on another machine has the other order.
            let family = if linktype == LinkType::LOOP {
                u32::from_be_bytes(raw)
            } else {
                let le = u32::from_le_bytes(raw);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(raw)
                }
            };
            let ether_type = if family == AF_INET {
                EtherType::IPV4.0
            } else if AF_INET6.contains(&family) {
                EtherType::IPV6.0
            } else {
                return Err(DecodeError::AddressFamily {
                    layer: Layer::Null,
                    family,
                });
            };
            Ok(LinkPayload::EtherType {
                ether_type,
                offset: 4,
            })
        }
        LinkType::RAW => {
            need(Layer::Ip, 1)?;
            match bytes[0] >> 4 {
                4 => Ok(LinkPayload::EtherType {
                    ether_type: EtherType::IPV4.0,
                    offset: 0,
                }),
                6 => Ok(LinkPayload::EtherType {
                    ether_type: EtherType::IPV6.0,
                    offset: 0,
                }),
                version => Err(DecodeError::IpVersion {
                    layer: Layer::Ip,
                    version,
                }),
            }
        }
        LinkType::IPV4 => Ok(LinkPayload::EtherType {
            ether_type: EtherType::IPV4.0,
            offset: 0,
        }),
        LinkType::IPV6 => Ok(LinkPayload::EtherType {
            ether_type: EtherType::IPV6.0,
            offset: 0,
        }),
        LinkType::LINUX_SLL => {
            // packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
            need(Layer::Sll, 16)?;
            let ether_type = u16::from_be_bytes([bytes[14], bytes[15]]);
            Ok(LinkPayload::EtherType {
                ether_type,
                offset: 16,
            })
        }
        LinkType::LINUX_SLL2 => {
            // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
            need(Layer::Sll2, 20)?;
            let ether_type = u16::from_be_bytes([bytes[0], bytes[1]]);
            Ok(LinkPayload::EtherType {
                ether_type,
                offset: 20,
            })
        }
        other => Err(DecodeError::UnsupportedLinkType { linktype: other.0 }),
    }
}

/// The tail of a truncation message: whether snaplen or the frame itself is short.
pub fn why(truncated: bool) -> &'static str {
    if truncated {
        "captured (snaplen)"
    } else {
        "in the frame"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_family_in_either_byte_order() {
        let v4 = link_payload(LinkType::NULL, &[2, 0, 0, 0, 0x45], false).unwrap();
        let v4_be = link_payload(LinkType::NULL, &[0, 0, 0, 2, 0x45], false).unwrap();
        assert_eq!(v4, v4_be);
        let v6 = link_payload(LinkType::NULL, &[30, 0, 0, 0, 0x60], false).unwrap();
        assert_eq!(
            v6,
            LinkPayload::EtherType {
                ether_type: 0x86dd,
                offset: 4
            }
        );
    }

    #[test]
    fn short_sll_header_names_the_numbers() {
        let err = link_payload(LinkType::LINUX_SLL, &[0; 10], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sll: header needs 16 bytes, only 10 in the frame"
        );
    }

    #[test]
    fn unknown_family_is_an_error() {
        let err = link_payload(LinkType::NULL, &[99, 0, 0, 0], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "null: address family 99 is neither IPv4 nor IPv6"
        );
    }
}
