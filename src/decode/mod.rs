//! `RawFrame` → `Packet`: the only module that knows etherparse.
//!
//! Decoding is lax, like Wireshark: a frame cut by snaplen still yields every
//! header that is whole, and TCP/UDP payload lengths come from the IP header, not
//! from how many bytes happen to be in the frame (Ethernet pads short frames,
//! snaplen truncates long ones). Anything malformed becomes the frame's `error`,
//! naming the layer and the numbers; nothing panics and the next frame is
//! decoded afresh.
//!
//! Speed: the common frame (Ethernet, VLAN tags, unfragmented IPv4, a whole TCP
//! or UDP header) takes a fast path built on etherparse's header slices that
//! writes the layers in place; everything else goes through etherparse's
//! `LaxSlicedPacket`. Both give the same `Packet` (tests compare them on damaged
//! and truncated frames). Loops over a capture should reuse one `Packet` with
//! [`decode_into`].

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

use crate::frame::{LinkType, RawFrame};
use link::{link_payload, LinkPayload};

/// Decodes one frame. Never fails: problems are reported in `Packet::error`.
pub fn decode(frame: &RawFrame) -> Packet {
    let mut packet = Packet::default();
    decode_into(frame, &mut packet);
    packet
}

/// Decodes one frame into `packet`, overwriting every field, so one `Packet` can
/// be reused for a whole capture. The result is exactly `decode(frame)`.
#[inline]
pub fn decode_into(frame: &RawFrame, packet: &mut Packet) {
    decode_bytes(
        frame.number,
        frame.ts_ns,
        frame.linktype,
        frame.orig_len,
        &frame.bytes,
        packet,
    );
}

/// [`decode_into`] for a frame whose bytes are borrowed rather than owned by a
/// `RawFrame` (`orig_len` as in [`RawFrame::orig_len`]).
///
/// Always inlined: it runs once per frame in every replay loop, where the call
/// itself (saving registers, the wide argument list) cost ~5% of `flows`.
#[inline(always)]
pub fn decode_bytes(
    number: u64,
    ts_ns: u64,
    linktype: LinkType,
    orig_len: u32,
    bytes: &[u8],
    packet: &mut Packet,
) {
    packet.frame = number;
    packet.ts_ns = ts_ns;
    packet.caplen = bytes.len() as u32;
    packet.len = orig_len;
    let truncated = (bytes.len() as u64) < u64::from(orig_len);
    // The fast path writes every layer itself (in place, reusing `packet`).
    if linktype == LinkType::ETHERNET && layers::fill_fast(packet, bytes, truncated) {
        return;
    }
    packet.eth = None;
    packet.arp = None;
    packet.ip = None;
    packet.transport = None;
    packet.payload = 0..0;
    packet.error = None;
    if bytes.is_empty() {
        packet.error = Some(DecodeError::Empty);
        return;
    }
    decode_general(linktype, bytes, truncated, packet);
}

/// Every link type and every layer, through etherparse's lax slicing.
#[inline(never)]
fn decode_general(linktype: LinkType, bytes: &[u8], truncated: bool, packet: &mut Packet) {
    let sliced = match link_payload(linktype, bytes, truncated) {
        Err(e) => {
            packet.error = Some(e);
            return;
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
                return;
            }
        },
        Ok(LinkPayload::EtherType { ether_type, offset }) => {
            LaxSlicedPacket::from_ether_type(EtherType(ether_type), &bytes[offset..])
        }
    };
    layers::fill(packet, &sliced, bytes, truncated);
}

#[cfg(test)]
mod tests;
