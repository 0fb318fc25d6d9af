//! Test frames for the dissectors: one TCP segment on 127.0.0.1, built with
//! etherparse and decoded the way a capture's frame is.

use etherparse::PacketBuilder;

use crate::decode::{decode, Packet, TcpFlags};
use crate::frame::{LinkType, RawFrame};

/// A TCP segment from port `sport` to `dport` with `payload` at `seq`: a SYN
/// when `flags` has SYN, a FIN+ACK when it has FIN, a PSH+ACK otherwise.
/// Returns the decoded packet and the frame's bytes.
pub(crate) fn segment(
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u16,
    payload: &[u8],
) -> (Packet, Vec<u8>) {
    let mut tcp = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(sport, dport, seq, 65535);
    if flags & TcpFlags::SYN != 0 {
        tcp = tcp.syn();
    } else if flags & TcpFlags::FIN != 0 {
        tcp = tcp.ack(1).fin();
    } else {
        tcp = tcp.ack(1).psh();
    }
    let mut bytes = Vec::new();
    tcp.write(&mut bytes, payload).unwrap();
    let frame = RawFrame {
        number: 1,
        ts_ns: 0,
        linktype: LinkType::ETHERNET,
        orig_len: bytes.len() as u32,
        bytes,
    };
    (decode(&frame), frame.bytes)
}
