//! `RawFrame` → `Packet`: the only module that knows etherparse.
//!
//! Decoding is lax, like Wireshark: a frame cut by snaplen still yields every
//! header that is whole, and TCP/UDP payload lengths come from the IP header, not
//! from how many bytes happen to be in the frame (Ethernet pads short frames,
//! snaplen truncates long ones). Anything malformed becomes the frame's `error`,
//! naming the layer and the numbers; nothing panics and the next frame is
//! decoded afresh.

mod error;
mod layers;
mod link;
mod packet;

pub use error::{DecodeError, Layer};
pub use packet::{
    ArpInfo, ArpOp, EthInfo, Fragment, IcmpInfo, IpInfo, MacAddr, Packet, TcpFlags, TcpInfo,
    TcpOptions, Transport, UdpInfo,
};

use etherparse::{EtherType, LaxSlicedPacket};

use crate::capture::RawFrame;
use link::{link_payload, LinkPayload};

/// Decodes one frame. Never fails: problems are reported in `Packet::error`.
pub fn decode(frame: &RawFrame) -> Packet {
    let mut packet = Packet {
        frame: frame.number,
        ts_ns: frame.ts_ns,
        caplen: frame.caplen(),
        len: frame.orig_len,
        ..Packet::default()
    };
    let bytes = frame.bytes.as_slice();
    if bytes.is_empty() {
        packet.error = Some(DecodeError::Empty);
        return packet;
    }
    let truncated = frame.is_truncated();
    let sliced = match link_payload(frame.linktype, bytes, truncated) {
        Err(e) => {
            packet.error = Some(e);
            return packet;
        }
        Ok(LinkPayload::Ethernet) => match LaxSlicedPacket::from_ethernet(bytes) {
            Ok(sliced) => sliced,
            Err(_) => {
                packet.error = Some(DecodeError::Truncated {
                    layer: Layer::Ethernet,
                    needed: 14,
                    available: bytes.len(),
                    why: link::why(truncated),
                });
                return packet;
            }
        },
        Ok(LinkPayload::EtherType { ether_type, offset }) => {
            LaxSlicedPacket::from_ether_type(EtherType(ether_type), &bytes[offset..])
        }
    };
    layers::fill(&mut packet, &sliced, bytes, truncated);
    packet
}

#[cfg(test)]
mod tests;
