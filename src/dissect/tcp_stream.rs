//! One direction of a TCP connection as a byte stream, for the HTTP
//! dissectors: the same small receiver the chat dissector keeps (follow the
//! sequence numbers, keep a few out-of-order segments until the gap fills,
//! drop bytes already had), with the protocol's parser cutting messages off
//! the front of [`ByteStream::buf`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use crate::decode::{Packet, TcpFlags, Transport};

/// Out-of-order bytes kept per direction while waiting for a gap to fill.
const MAX_PENDING: usize = 1 << 20;

/// One direction: (sender, receiver).
pub type Key = (SocketAddr, SocketAddr);

/// A connection's two ends in one order, whichever direction a frame goes.
pub fn sorted((a, b): Key) -> Key {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// What a dissector needs of one TCP segment.
pub struct Segment<'a> {
    pub key: Key,
    pub seq: u32,
    pub flags: TcpFlags,
    /// The payload's length on the wire.
    pub len: u32,
    /// The captured payload (shorter than `len` under a small snaplen).
    pub payload: &'a [u8],
}

impl<'a> Segment<'a> {
    /// The segment of a TCP frame; `bytes` are the frame's captured bytes.
    pub fn of(packet: &Packet, bytes: &'a [u8]) -> Option<Self> {
        let Some(Transport::Tcp(tcp)) = &packet.transport else {
            return None;
        };
        let ip = packet.ip.as_ref()?;
        Some(Segment {
            key: (sock(ip.src, tcp.sport), sock(ip.dst, tcp.dport)),
            seq: tcp.seq,
            flags: tcp.flags,
            len: tcp.len,
            payload: bytes.get(packet.payload.clone()).unwrap_or(&[]),
        })
    }

    /// The payload was not captured whole: what follows cannot be reassembled.
    pub fn truncated(&self) -> Option<String> {
        ((self.payload.len() as u32) < self.len).then(|| {
            format!(
                "the capture kept {} of {} (snaplen): messages cannot be \
                 reassembled; capture with a larger snaplen",
                self.payload.len(),
                crate::output::words::plural(self.len, "payload byte", "payload bytes")
            )
        })
    }
}

fn sock(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// `a - b` in sequence space (positive when a is after b).
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// The bytes of one direction, in order.
#[derive(Default)]
pub struct ByteStream {
    next_seq: Option<u32>,
    buf: Vec<u8>,
    /// Out-of-order segments by sequence number.
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    /// Why the direction cannot be followed any more.
    pub stopped: Option<String>,
}

impl ByteStream {
    /// A stream whose first byte has sequence number `seq` (the SYN's + 1).
    pub fn starting_at(seq: u32) -> Self {
        ByteStream {
            next_seq: Some(seq),
            ..ByteStream::default()
        }
    }

    /// The bytes received in order and not yet consumed.
    pub fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// Drops the first `n` bytes (a message was cut off).
    pub fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }

    /// Stops following the direction, and frees its bytes.
    pub fn stop(&mut self, why: String) {
        self.stopped = Some(why);
        self.buf = Vec::new();
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// Puts a segment's bytes in place.
    pub fn add(&mut self, seq: u32, payload: &[u8]) {
        let next = *self.next_seq.get_or_insert(seq); // mid-stream: start here
        let d = seq_diff(seq, next);
        if d > 0 {
            // A gap before it: keep it for later (bounded).
            if self.pending_bytes + payload.len() <= MAX_PENDING {
                self.pending_bytes += payload.len();
                self.pending.insert(seq, payload.to_vec());
            } else {
                self.stop(
                    "too many bytes missing (a segment was not captured): dissection stops".into(),
                );
            }
            return;
        }
        self.append(d, payload);
        // The gap may be filled now.
        while let Some((&s, _)) = self.pending.iter().next() {
            let d = seq_diff(s, self.next_seq.unwrap_or(s));
            if d > 0 {
                break;
            }
            let bytes = self.pending.remove(&s).unwrap_or_default();
            self.pending_bytes -= bytes.len();
            self.append(d, &bytes);
        }
    }

    /// Appends `payload` that starts `-d` bytes before the next expected byte.
    fn append(&mut self, d: i64, payload: &[u8]) {
        let skip = (-d) as usize;
        if skip >= payload.len() {
            return; // all seen before: a retransmission
        }
        let new = &payload[skip..];
        self.buf.extend_from_slice(new);
        self.next_seq = self.next_seq.map(|n| n.wrapping_add(new.len() as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorders_and_drops_retransmissions() {
        let mut s = ByteStream::starting_at(1);
        s.add(4, b"def");
        assert_eq!(s.buf(), b"");
        s.add(1, b"abc");
        assert_eq!(s.buf(), b"abcdef");
        s.add(2, b"bcdefg");
        assert_eq!(s.buf(), b"abcdefg");
        s.consume(3);
        assert_eq!(s.buf(), b"defg");
    }
}
