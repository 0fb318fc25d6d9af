//! A built TCP connection for the application dissectors' tests: the three-way
//! handshake, then segments from either side with their sequence and
//! acknowledgment numbers kept right, as Ethernet frames ready for
//! [`super::classic_pcap`].

use etherparse::PacketBuilder;

/// One TCP connection between a client (side 0) and a server (side 1).
pub struct TcpConversation {
    pub frames: Vec<Vec<u8>>,
    ip: [[u8; 4]; 2],
    ports: [u16; 2],
    /// The next sequence number each side sends.
    next: [u32; 2],
}

impl TcpConversation {
    /// The connection between `ip[0]:ports[0]` and `ip[1]:ports[1]`, handshake done.
    pub fn new(ip: [[u8; 4]; 2], ports: [u16; 2]) -> TcpConversation {
        let mut c = TcpConversation {
            frames: Vec::new(),
            ip,
            ports,
            next: [1000, 5000],
        };
        c.segment(0, "S", b"");
        c.segment(1, "SA", b"");
        c.segment(0, "A", b"");
        c
    }

    /// A segment from the client (0) or the server (1): "S", "SA", or anything
    /// else for ACK+PSH.
    pub fn segment(&mut self, from: usize, flags: &str, payload: &[u8]) {
        let to = 1 - from;
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(self.ip[from], self.ip[to], 64)
            .tcp(self.ports[from], self.ports[to], self.next[from], 65535);
        let b = match flags {
            "S" => b.syn(),
            "SA" => b.syn().ack(self.next[to]),
            _ => b.ack(self.next[to]).psh(),
        };
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        self.frames.push(v);
        self.next[from] = self.next[from].wrapping_add(payload.len() as u32);
        if flags.starts_with('S') {
            self.next[from] = self.next[from].wrapping_add(1);
        }
    }
}
