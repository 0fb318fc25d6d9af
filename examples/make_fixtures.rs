//! Writes the fixture captures in `captures/` (documented in `captures/README.md`).
//!
//! ```text
//! cargo run --example make_fixtures -- captures/
//! ```
//!
//! Everything is deterministic: fixed timestamps (first frame at
//! 1700000000.000000), fixed ISNs, MACs `02:00:00:00:00:01` (client) and
//! `02:00:00:00:00:02` (server), addresses 198.18.0.1 / 198.18.0.2 and
//! 2001:db8::1 / 2001:db8::2, and a seeded generator for the one random frame.
//! Running it twice gives byte-identical files.
//!
//! Packets are built with etherparse's `PacketBuilder` (so lengths and
//! checksums are right); the file formats (classic pcap in µs/ns and either
//! byte order, pcapng with several interfaces) come from the small writer at
//! the bottom of this file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, Ethernet2Header, IpFragOffset, IpHeaders,
    IpNumber, Ipv4Header, Ipv6Extensions, Ipv6FlowLabel, Ipv6Header, Ipv6RawExtHeader,
    PacketBuilder, SingleVlanHeader, TcpHeader, TcpOptionElement, VlanId, VlanPcp,
};

// ---------------------------------------------------------------------------
// Constants shared by every fixture
// ---------------------------------------------------------------------------

/// Nanoseconds.
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
/// 1700000000.000000000 s (2023-11-14 22:13:20 UTC): first frame of every file.
const T0: u64 = 1_700_000_000 * SEC;

const MAC_C: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const MAC_S: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const MAC_BCAST: [u8; 6] = [0xff; 6];
const IP4_C: [u8; 4] = [198, 18, 0, 1];
const IP4_S: [u8; 4] = [198, 18, 0, 2];
const IP6_C: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const IP6_S: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

const CPORT: u16 = 40000;
const SPORT: u16 = 8001;
const UDP_CPORT: u16 = 40001;
const UDP_SPORT: u16 = 8002;

const ISN_C: u32 = 2_000_000_000;
const ISN_S: u32 = 3_000_000_000;

// TCP flag bits.
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

// Link-layer header types (tcpdump.org/linktypes.html).
const LT_NULL: u32 = 0;
const LT_ETHERNET: u32 = 1;
const LT_RAW: u32 = 101;
const LT_LINUX_SLL: u32 = 113;
const LT_IPV4: u32 = 228;
const LT_IPV6: u32 = 229;
const LT_LINUX_SLL2: u32 = 276;

// ---------------------------------------------------------------------------
// Packets and frames
// ---------------------------------------------------------------------------

/// A packet as it left its sender: an untagged Ethernet II frame.
#[derive(Clone)]
struct Pkt {
    ts: u64,
    from_client: bool,
    eth: Vec<u8>,
}

impl Pkt {
    /// The frame without its Ethernet header (starts at the IP header).
    fn l3(&self) -> &[u8] {
        &self.eth[14..]
    }
    fn ether_type(&self) -> u16 {
        u16::from_be_bytes([self.eth[12], self.eth[13]])
    }
}

/// One record of a capture file.
#[derive(Clone)]
struct Frame {
    ts: u64,
    data: Vec<u8>,
    /// Length on the wire (>= data.len()).
    orig_len: u32,
    /// pcapng interface id.
    ifid: u32,
}

impl Frame {
    fn new(ts: u64, data: Vec<u8>) -> Frame {
        let orig_len = data.len() as u32;
        Frame {
            ts,
            data,
            orig_len,
            ifid: 0,
        }
    }
}

fn eth_frames(pkts: &[Pkt]) -> Vec<Frame> {
    pkts.iter()
        .map(|p| Frame::new(p.ts, p.eth.clone()))
        .collect()
}

/// Pads frames shorter than the Ethernet minimum (60 bytes without FCS) with
/// zeros, as a receiving NIC delivers them.
fn pad60(mut data: Vec<u8>) -> Vec<u8> {
    if data.len() < 60 {
        data.resize(60, 0);
    }
    data
}

fn ip4_header(src: [u8; 4], dst: [u8; 4], id: u16) -> Ipv4Header {
    Ipv4Header {
        identification: id,
        dont_fragment: true,
        time_to_live: 64,
        source: src,
        destination: dst,
        ..Default::default()
    }
}

fn ip6_header(src: [u8; 16], dst: [u8; 16], flow: u32) -> Ipv6Header {
    Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::try_new(flow).expect("flow label"),
        payload_length: 0,
        next_header: IpNumber::TCP,
        hop_limit: 64,
        source: src,
        destination: dst,
    }
}

/// An IPv6 extension header carrying only a PadN option (8 bytes in all).
fn padn_ext() -> Ipv6RawExtHeader {
    Ipv6RawExtHeader::new_raw(IpNumber::TCP, &[1, 4, 0, 0, 0, 0]).expect("padn")
}

fn build_udp(from_client: bool, ip: IpHeaders, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (smac, dmac) = macs(from_client);
    let b = PacketBuilder::ethernet2(smac, dmac)
        .ip(ip)
        .udp(sport, dport);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).expect("udp");
    v
}

fn macs(from_client: bool) -> ([u8; 6], [u8; 6]) {
    if from_client {
        (MAC_C, MAC_S)
    } else {
        (MAC_S, MAC_C)
    }
}

// ---------------------------------------------------------------------------
// A TCP connection model: keeps seq/ack/timestamps consistent
// ---------------------------------------------------------------------------

struct Side {
    port: u16,
    /// SND.NXT: highest sequence number sent + 1.
    nxt: u32,
    /// RCV.NXT: what this side acknowledges.
    rcv: u32,
    /// Window field after the handshake (already scaled down).
    win: u16,
    /// Window field in this side's SYN.
    syn_win: u16,
    ts_base: u32,
    ts_recent: u32,
    /// TSval of the last segment this side sent.
    last_tsval: u32,
    ip_id: u16,
    flow: u32,
}

/// One segment to send; built with the chained setters below.
#[derive(Clone, Default)]
struct Seg {
    flags: u8,
    data: Vec<u8>,
    seq: Option<u32>,
    win: Option<u16>,
    sack: Vec<(u32, u32)>,
    /// Sent but not captured (dropped before the capture point).
    lost: bool,
    /// Captured but the receiver does not take it in (dropped after the
    /// capture point, or out of order at the receiver).
    undelivered: bool,
    /// IPv6 only: add a Hop-by-Hop options header.
    hbh: bool,
    /// IPv6 only: add a Destination options header.
    dstopts: bool,
}

impl Seg {
    fn new(flags: u8) -> Seg {
        Seg {
            flags,
            ..Default::default()
        }
    }
    fn data(mut self, d: &[u8]) -> Seg {
        self.data = d.to_vec();
        self
    }
    fn seq(mut self, s: u32) -> Seg {
        self.seq = Some(s);
        self
    }
    fn win(mut self, w: u16) -> Seg {
        self.win = Some(w);
        self
    }
    fn sack(mut self, blocks: &[(u32, u32)]) -> Seg {
        self.sack = blocks.to_vec();
        self
    }
    fn lost(mut self) -> Seg {
        self.lost = true;
        self
    }
    fn undelivered(mut self) -> Seg {
        self.undelivered = true;
        self
    }
    fn hbh(mut self) -> Seg {
        self.hbh = true;
        self
    }
    fn dstopts(mut self) -> Seg {
        self.dstopts = true;
        self
    }
}

struct Tcp {
    v6: bool,
    /// Use the timestamps option (RFC 7323) in every segment.
    ts_opt: bool,
    /// Window scale offered in both SYNs (None: option absent).
    wscale: Option<u8>,
    t: u64,
    c: Side,
    s: Side,
    pkts: Vec<Pkt>,
}

impl Tcp {
    /// A connection 198.18.0.1:40000 -> 198.18.0.2:8001 (or the IPv6 pair)
    /// with Linux-like defaults: MSS 1460, SACK permitted, timestamps,
    /// window scale 7; windows 64240/65160 in the SYNs, 502/509 after.
    fn new(v6: bool, isn_c: u32, isn_s: u32) -> Tcp {
        Tcp {
            v6,
            ts_opt: true,
            wscale: Some(7),
            t: T0,
            c: Side {
                port: CPORT,
                nxt: isn_c,
                rcv: 0,
                win: 502,
                syn_win: 64240,
                ts_base: 1_000_000,
                ts_recent: 0,
                last_tsval: 0,
                ip_id: 0x1a2b,
                flow: 0x1_2345,
            },
            s: Side {
                port: SPORT,
                nxt: isn_s,
                rcv: 0,
                win: 509,
                syn_win: 65160,
                ts_base: 3_000_000,
                ts_recent: 0,
                last_tsval: 0,
                ip_id: 0x5c00,
                flow: 0x6_789a,
            },
            pkts: Vec::new(),
        }
    }

    /// Sends one segment `gap` ns after the previous one.
    fn tx(&mut self, from_client: bool, gap: u64, seg: Seg) {
        self.t += gap;
        let t = self.t;
        let (ts_opt, wscale, v6) = (self.ts_opt, self.wscale, self.v6);
        let (me, peer) = if from_client {
            (&mut self.c, &mut self.s)
        } else {
            (&mut self.s, &mut self.c)
        };
        let syn = seg.flags & SYN != 0;
        let fin = seg.flags & FIN != 0;
        let rst = seg.flags & RST != 0;
        let seq = seg.seq.unwrap_or(me.nxt);
        let win = seg.win.unwrap_or(if syn { me.syn_win } else { me.win });
        let mut h = TcpHeader::new(me.port, peer.port, seq, win);
        h.syn = syn;
        h.fin = fin;
        h.rst = rst;
        h.psh = seg.flags & PSH != 0;
        if seg.flags & ACK != 0 {
            h.ack = true;
            h.acknowledgment_number = me.rcv;
        }
        let tsval = me.ts_base.wrapping_add(((t - T0) / MS) as u32);
        let tsecr = if h.ack { me.ts_recent } else { 0 };
        me.last_tsval = tsval;
        let mut opts = Vec::new();
        if syn {
            opts.push(TcpOptionElement::MaximumSegmentSize(1460));
            if ts_opt {
                opts.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
                opts.push(TcpOptionElement::Timestamp(tsval, tsecr));
                if let Some(ws) = wscale {
                    opts.push(TcpOptionElement::Noop);
                    opts.push(TcpOptionElement::WindowScale(ws));
                }
            } else {
                if let Some(ws) = wscale {
                    opts.push(TcpOptionElement::Noop);
                    opts.push(TcpOptionElement::WindowScale(ws));
                }
                opts.push(TcpOptionElement::Noop);
                opts.push(TcpOptionElement::Noop);
                opts.push(TcpOptionElement::SelectiveAcknowledgementPermitted);
            }
        } else if !rst {
            if ts_opt {
                opts.push(TcpOptionElement::Noop);
                opts.push(TcpOptionElement::Noop);
                opts.push(TcpOptionElement::Timestamp(tsval, tsecr));
            }
            if !seg.sack.is_empty() {
                let mut rest = [None; 3];
                for (i, b) in seg.sack.iter().skip(1).enumerate() {
                    rest[i] = Some(*b);
                }
                opts.push(TcpOptionElement::Noop);
                opts.push(TcpOptionElement::Noop);
                opts.push(TcpOptionElement::SelectiveAcknowledgement(
                    seg.sack[0],
                    rest,
                ));
            }
        }
        h.set_options(&opts).expect("tcp options");

        // Sequence-space bookkeeping.
        let seglen = if rst {
            0
        } else {
            seg.data.len() as u32 + u32::from(syn) + u32::from(fin)
        };
        let end = seq.wrapping_add(seglen);
        if end.wrapping_sub(me.nxt) as i32 > 0 {
            me.nxt = end;
        }
        if !seg.lost && !seg.undelivered && !rst {
            if syn {
                peer.rcv = seq.wrapping_add(1);
            } else if seq == peer.rcv {
                peer.rcv = end;
            }
            if ts_opt {
                peer.ts_recent = tsval;
            }
        }
        let ip_id = me.ip_id;
        me.ip_id = me.ip_id.wrapping_add(1);
        if seg.lost {
            return;
        }

        let ip = if v6 {
            let (src, dst) = if from_client {
                (IP6_C, IP6_S)
            } else {
                (IP6_S, IP6_C)
            };
            let mut ext = Ipv6Extensions::default();
            if seg.hbh {
                ext.hop_by_hop_options = Some(padn_ext());
            }
            if seg.dstopts {
                ext.destination_options = Some(padn_ext());
            }
            IpHeaders::Ipv6(ip6_header(src, dst, me.flow), ext)
        } else {
            let (src, dst) = if from_client {
                (IP4_C, IP4_S)
            } else {
                (IP4_S, IP4_C)
            };
            IpHeaders::Ipv4(ip4_header(src, dst, ip_id), Default::default())
        };
        let (smac, dmac) = macs(from_client);
        let b = PacketBuilder::ethernet2(smac, dmac).ip(ip).tcp_header(h);
        let mut eth = Vec::with_capacity(b.size(seg.data.len()));
        b.write(&mut eth, &seg.data).expect("tcp");
        self.pkts.push(Pkt {
            ts: t,
            from_client,
            eth,
        });
    }

    fn send(&mut self, from_client: bool, gap: u64, flags: u8, data: &[u8]) {
        self.tx(from_client, gap, Seg::new(flags).data(data));
    }

    /// SYN, SYN-ACK after 1 ms, ACK 50 µs later (capture near the client).
    fn handshake(&mut self) {
        self.send(true, 0, SYN, b"");
        self.send(false, 1000 * US, SYN | ACK, b"");
        self.send(true, 50 * US, ACK, b"");
    }

    /// Client FIN, server ACK, server FIN, client ACK.
    fn client_close(&mut self, gap: u64) {
        self.send(true, gap, FIN | ACK, b"");
        self.send(false, 1000 * US, ACK, b"");
        self.send(false, 200 * US, FIN | ACK, b"");
        self.send(true, 50 * US, ACK, b"");
    }
}

/// `n` bytes of printable, position-dependent filler.
fn filler(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b'a' + ((i as u32 + u32::from(seed)) % 26) as u8)
        .collect()
}

// ---------------------------------------------------------------------------
// TCP fixtures
// ---------------------------------------------------------------------------

fn handshake_data_client_close() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C, ISN_S);
    // No timestamps here, so pure ACKs are 54 bytes and get padded to 60.
    c.ts_opt = false;
    c.handshake(); // 1-3
    c.send(true, 100 * US, PSH | ACK, b"hello, server\n"); // 4
    c.send(true, 120 * US, PSH | ACK, b"second line\n"); // 5
    c.send(false, 1000 * US, ACK, b""); // 6 (padded)
    c.send(false, 150 * US, PSH | ACK, b"HELLO, SERVER\nSECOND LINE\n"); // 7
    c.send(true, 50 * US, ACK, b""); // 8
    c.client_close(300 * US); // 9-12 (10 and 11 padded)
    c.pkts
        .iter()
        .map(|p| {
            // Captured on the client: frames from the server arrive padded.
            let data = if p.from_client {
                p.eth.clone()
            } else {
                pad60(p.eth.clone())
            };
            Frame::new(p.ts, data)
        })
        .collect()
}

fn server_close() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 1000, ISN_S + 1000);
    c.handshake(); // 1-3
    c.send(true, 100 * US, PSH | ACK, b"GET /index.txt\n"); // 4
    c.send(false, 1100 * US, PSH | ACK, b"here is index.txt\n"); // 5
    c.send(false, 20 * US, FIN | ACK, b""); // 6 server closes first
    c.send(true, 40 * US, ACK, b""); // 7 acks data + FIN
    c.send(true, 300 * US, FIN | ACK, b""); // 8
    c.send(false, 1000 * US, ACK, b""); // 9
    eth_frames(&c.pkts)
}

fn simultaneous_open() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 2000, ISN_S + 2000);
    // Both ends do an active open at the same moment (capture in between).
    c.send(true, 0, SYN, b""); // 1
    c.send(false, 30 * US, SYN, b""); // 2 crosses 1
    let isn_c = ISN_C + 2000;
    let isn_s = ISN_S + 2000;
    c.tx(true, 500 * US, Seg::new(SYN | ACK).seq(isn_c)); // 3
    c.tx(false, 30 * US, Seg::new(SYN | ACK).seq(isn_s)); // 4
    c.send(true, 500 * US, ACK, b""); // 5
    c.send(false, 30 * US, ACK, b""); // 6
    c.send(true, 100 * US, PSH | ACK, b"hi\n"); // 7
    c.send(false, 1000 * US, PSH | ACK, b"HI\n"); // 8
    c.send(true, 50 * US, ACK, b""); // 9
    c.client_close(200 * US); // 10-13
    eth_frames(&c.pkts)
}

fn simultaneous_close() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 3000, ISN_S + 3000);
    c.handshake(); // 1-3
    c.send(true, 100 * US, PSH | ACK, b"bye?\n"); // 4
    c.send(false, 1000 * US, PSH | ACK, b"BYE?\n"); // 5
    c.send(true, 50 * US, ACK, b""); // 6
    let fin_c = c.c.nxt;
    // FIN crosses FIN: the server's FIN does not acknowledge the client's.
    c.tx(true, 200 * US, Seg::new(FIN | ACK).undelivered()); // 7
    c.send(false, 30 * US, FIN | ACK, b""); // 8 ack = fin_c
    c.s.rcv = fin_c + 1; // the client's FIN arrives at the server now
    c.send(true, 500 * US, ACK, b""); // 9 client acks the server's FIN
    c.send(false, 30 * US, ACK, b""); // 10 server acks the client's FIN
    eth_frames(&c.pkts)
}

fn rst_abort() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 4000, ISN_S + 4000);
    c.handshake(); // 1-3
    c.send(true, 100 * US, PSH | ACK, b"start\n"); // 4
    c.send(false, 1000 * US, PSH | ACK, b"START\n"); // 5
    c.send(true, 50 * US, ACK, b""); // 6
                                     // close() with SO_LINGER {on, 0}: RST instead of FIN.
    c.tx(true, 300 * US, Seg::new(RST | ACK).win(0)); // 7
    eth_frames(&c.pkts)
}

fn refused() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 5000, ISN_S + 5000);
    c.send(true, 0, SYN, b""); // 1
                               // Nothing listens: RST+ACK with seq 0, ack = ISN + 1.
    c.tx(false, 60 * US, Seg::new(RST | ACK).seq(0).win(0)); // 2
    eth_frames(&c.pkts)
}

fn lost_syn() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 6000, ISN_S + 6000);
    c.tx(true, 0, Seg::new(SYN).undelivered()); // 1 lost after the capture point
    c.tx(true, SEC, Seg::new(SYN).seq(ISN_C + 6000)); // 2 same seq, 1 s later
    c.send(false, 1000 * US, SYN | ACK, b""); // 3
    c.send(true, 50 * US, ACK, b""); // 4
    c.send(true, 100 * US, PSH | ACK, b"are you there?\n"); // 5
    c.send(false, 1000 * US, PSH | ACK, b"ARE YOU THERE?\n"); // 6
    c.send(true, 50 * US, ACK, b""); // 7
    c.client_close(300 * US); // 8-11
    eth_frames(&c.pkts)
}

/// A connect nobody answers (three SYNs, 1 s then 2 s apart; it gives up at 7 s),
/// then the application connects again from the same port (bound again) with a new
/// ISN, and that one is answered and closed normally.
fn syn_restart() -> Vec<Frame> {
    let isn = ISN_C + 15_000;
    let mut c = Tcp::new(false, isn, ISN_S + 15_000);
    c.tx(true, 0, Seg::new(SYN).undelivered()); // 1
    c.tx(true, SEC, Seg::new(SYN).seq(isn).undelivered()); // 2 RTO 1 s
    c.tx(true, 2 * SEC, Seg::new(SYN).seq(isn).undelivered()); // 3 RTO 2 s
    let mut pkts = c.pkts;
    let mut d = Tcp::new(false, ISN_C + 16_000, ISN_S + 16_000);
    d.t = T0 + 8 * SEC;
    d.c.ip_id += 100;
    d.c.ts_base += 8000;
    d.handshake(); // 4-6
    d.client_close(300 * US); // 7-10
    pkts.extend(d.pkts);
    eth_frames(&pkts)
}

fn fast_retransmit() -> Vec<Frame> {
    let isn = ISN_C + 7000;
    let mut c = Tcp::new(false, isn, ISN_S + 7000);
    c.handshake(); // 1-3
    let seg = |k: u32| -> (u32, u32) {
        let start = isn + 1 + (k - 1) * 1000;
        (start, start + 1000)
    };
    let d = |k: u32| filler(1000, k as u8);
    c.send(true, 100 * US, ACK, &d(1)); // 4 seg 1
    c.tx(true, 100 * US, Seg::new(ACK).data(&d(2)).lost()); // seg 2: never captured
    c.tx(true, 100 * US, Seg::new(ACK).data(&d(3)).undelivered()); // 5 seg 3
    c.tx(true, 100 * US, Seg::new(ACK).data(&d(4)).undelivered()); // 6 seg 4
    c.tx(true, 100 * US, Seg::new(ACK).data(&d(5)).undelivered()); // 7 seg 5
    c.tx(
        true,
        100 * US,
        Seg::new(PSH | ACK).data(&d(6)).undelivered(),
    ); // 8 seg 6
    let hole = seg(2).0;
    c.send(false, 600 * US, ACK, b""); // 9 acks seg 1
    c.tx(false, 200 * US, Seg::new(ACK).sack(&[(seg(3).0, seg(3).1)])); // 10 dup 1
    c.tx(false, 100 * US, Seg::new(ACK).sack(&[(seg(3).0, seg(4).1)])); // 11 dup 2
    c.tx(false, 100 * US, Seg::new(ACK).sack(&[(seg(3).0, seg(5).1)])); // 12 dup 3
                                                                        // 13: fast retransmit; it reaches the server after seg 6 caused dup 4.
    c.tx(
        true,
        20 * US,
        Seg::new(ACK).seq(hole).data(&d(2)).undelivered(),
    );
    c.tx(false, 80 * US, Seg::new(ACK).sack(&[(seg(3).0, seg(6).1)])); // 14 dup 4
    c.s.rcv = seg(6).1; // the retransmission filled the hole
    c.s.ts_recent = c.c.last_tsval;
    c.send(false, 920 * US, ACK, b""); // 15 acks everything
    c.client_close(200 * US); // 16-19
    eth_frames(&c.pkts)
}

fn out_of_order() -> Vec<Frame> {
    let isn = ISN_C + 8000;
    let mut c = Tcp::new(false, isn, ISN_S + 8000);
    // Captured near the server: SYN-ACK right after SYN, client ACK 1 RTT later.
    c.send(true, 0, SYN, b""); // 1
    c.send(false, 40 * US, SYN | ACK, b""); // 2
    c.send(true, 1000 * US, ACK, b""); // 3
    let d = |k: u8| filler(1000, k);
    c.send(true, 100 * US, ACK, &d(1)); // 4 seg 1
    c.send(false, 40 * US, ACK, b""); // 5
                                      // seg 2 is delayed in the network and arrives after seg 3.
    c.tx(true, 0, Seg::new(ACK).data(&d(2)).lost());
    let s2 = isn + 1001;
    let s3 = isn + 2001;
    c.tx(true, 60 * US, Seg::new(PSH | ACK).data(&d(3)).undelivered()); // 6 seg 3
    c.tx(false, 40 * US, Seg::new(ACK).sack(&[(s3, s3 + 1000)])); // 7 dup ack
    c.tx(true, 60 * US, Seg::new(ACK).seq(s2).data(&d(2))); // 8 seg 2, late
    c.s.rcv = s3 + 1000;
    c.send(false, 40 * US, ACK, b""); // 9
    c.send(true, 300 * US, FIN | ACK, b""); // 10
    c.send(false, 40 * US, ACK, b""); // 11
    c.send(false, 100 * US, FIN | ACK, b""); // 12
    c.send(true, 1000 * US, ACK, b""); // 13
    eth_frames(&c.pkts)
}

fn zero_window() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 9000, ISN_S + 9000);
    // No window scaling: window fields are bytes. The server's application
    // does not read, so its 4000-byte receive buffer fills up.
    c.wscale = None;
    c.c.win = 64240;
    c.s.syn_win = 4000;
    c.s.win = 4000;
    c.handshake(); // 1-3
    let d = |k: u8| filler(1000, k);
    c.send(true, 100 * US, ACK, &d(1)); // 4
    c.send(true, 100 * US, PSH | ACK, &d(2)); // 5
    c.tx(false, 1000 * US, Seg::new(ACK).win(2000)); // 6
    c.send(true, 50 * US, ACK, &d(3)); // 7
    c.send(true, 100 * US, PSH | ACK, &d(4)); // 8 fills the window
    c.tx(false, 1000 * US, Seg::new(ACK).win(0)); // 9 zero window
    let probe_seq = c.c.nxt;
    let probe = [d(5)[0]];
    // Zero-window probes: one byte at the next sequence number; the server
    // has no room, drops it and answers with ack = probe_seq, window 0.
    c.tx(true, 200 * MS, Seg::new(ACK).data(&probe).undelivered()); // 10
    c.tx(false, 1000 * US, Seg::new(ACK).win(0)); // 11
    c.tx(
        true,
        400 * MS,
        Seg::new(ACK).seq(probe_seq).data(&probe).undelivered(),
    ); // 12
    c.tx(false, 1000 * US, Seg::new(ACK).win(0)); // 13
                                                  // The application reads everything: window update.
    c.tx(false, 100 * MS, Seg::new(ACK).win(4000)); // 14
    c.tx(true, 1000 * US, Seg::new(ACK).seq(probe_seq).data(&d(5))); // 15
    c.send(true, 100 * US, PSH | ACK, &d(6)); // 16
    c.send(false, 1000 * US, ACK, b""); // 17
    c.client_close(200 * US); // 18-21
    eth_frames(&c.pkts)
}

fn half_close() -> Vec<Frame> {
    let mut c = Tcp::new(false, ISN_C + 10_000, ISN_S + 10_000);
    c.handshake(); // 1-3
    c.send(true, 100 * US, PSH | ACK, b"send file\n"); // 4
    c.send(true, 20 * US, FIN | ACK, b""); // 5 shutdown(SHUT_WR)
    c.send(false, 1000 * US, ACK, b""); // 6 acks request + FIN
    c.send(false, 100 * US, ACK, &filler(1000, 1)); // 7
    c.send(false, 20 * US, ACK, &filler(1000, 2)); // 8
    c.send(true, 50 * US, ACK, b""); // 9
    c.send(false, 30 * US, ACK, &filler(1000, 3)); // 10
    c.send(false, 20 * US, PSH | ACK, &filler(500, 4)); // 11
    c.send(true, 50 * US, ACK, b""); // 12
    c.send(false, 100 * US, FIN | ACK, b""); // 13
    c.send(true, 50 * US, ACK, b""); // 14
    eth_frames(&c.pkts)
}

fn ipv6() -> Vec<Frame> {
    // ping6: echo request / reply.
    let mut pkts = icmp6_pair(T0, 400 * US, 0x1234, &filler(56, 0));
    let mut c = Tcp::new(true, ISN_C + 11_000, ISN_S + 11_000);
    c.t = T0 + 100 * MS;
    c.tx(true, 0, Seg::new(SYN).hbh()); // 3 with Hop-by-Hop options
    c.send(false, 1000 * US, SYN | ACK, b""); // 4
    c.send(true, 50 * US, ACK, b""); // 5
    c.tx(
        true,
        100 * US,
        Seg::new(PSH | ACK).data(b"hello over IPv6\n").dstopts(),
    ); // 6 with Destination options
    c.send(false, 1000 * US, ACK, b""); // 7
    c.send(false, 100 * US, PSH | ACK, b"HELLO OVER IPV6\n"); // 8
    c.send(true, 50 * US, ACK, b""); // 9
    c.client_close(300 * US); // 10-13
    pkts.extend(c.pkts);
    eth_frames(&pkts)
}

/// The small exchange used by the link-type and file-format fixtures:
/// 1 SYN, 2 SYN-ACK, 3 ACK, 4 C data, 5 S data, 6 C ACK, 7 C FIN, 8 S ACK,
/// 9 S FIN, 10 C ACK.
fn exchange(v6: bool, c_bytes: &[u8], s_bytes: &[u8]) -> Vec<Pkt> {
    let mut c = Tcp::new(v6, ISN_C + 12_000, ISN_S + 12_000);
    c.handshake();
    c.send(true, 100 * US, PSH | ACK, c_bytes);
    c.send(false, 1000 * US, PSH | ACK, s_bytes);
    c.send(true, 50 * US, ACK, b"");
    c.client_close(300 * US);
    c.pkts
}

fn small_exchange(v6: bool) -> Vec<Pkt> {
    exchange(v6, b"ping\n", b"PONG\n")
}

fn vlan() -> Vec<Frame> {
    exchange(false, b"tagged\n", b"TAGGED\n")
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // Frames 4-6 cross a provider link: QinQ 200/100.
            let data = if (3..=5).contains(&i) {
                qinq(&p.eth, 200, 100)
            } else {
                vlan_tag(&p.eth, 100)
            };
            Frame::new(p.ts, data)
        })
        .collect()
}

fn vlan_bytes(vid: u16, ether_type: EtherType) -> Vec<u8> {
    SingleVlanHeader {
        pcp: VlanPcp::ZERO,
        drop_eligible_indicator: false,
        vlan_id: VlanId::try_new(vid).expect("vlan id"),
        ether_type,
    }
    .to_bytes()
    .to_vec()
}

/// Inserts an 802.1Q tag (TPID 0x8100).
fn vlan_tag(eth: &[u8], vid: u16) -> Vec<u8> {
    let inner = EtherType(u16::from_be_bytes([eth[12], eth[13]]));
    let mut v = eth[..12].to_vec();
    v.extend_from_slice(&0x8100u16.to_be_bytes());
    v.extend(vlan_bytes(vid, inner));
    v.extend_from_slice(&eth[14..]);
    v
}

/// Inserts an 802.1ad S-tag (TPID 0x88a8) and an 802.1Q C-tag.
fn qinq(eth: &[u8], outer: u16, inner: u16) -> Vec<u8> {
    let inner_type = EtherType(u16::from_be_bytes([eth[12], eth[13]]));
    let mut v = eth[..12].to_vec();
    v.extend_from_slice(&0x88a8u16.to_be_bytes());
    v.extend(vlan_bytes(outer, EtherType::VLAN_TAGGED_FRAME));
    v.extend(vlan_bytes(inner, inner_type));
    v.extend_from_slice(&eth[14..]);
    v
}

fn midstream() -> Vec<Frame> {
    let mut c = Tcp::new(false, 0, 0);
    // Connection established long before the capture started.
    let (x, y) = (1_234_567_890u32, 987_654_321u32);
    c.c.nxt = x;
    c.c.rcv = y;
    c.s.nxt = y;
    c.s.rcv = x;
    c.c.ts_recent = 2_999_000;
    c.s.ts_recent = 999_000;
    c.send(true, 0, PSH | ACK, &filler(100, 7)); // 1
    c.send(false, 1000 * US, ACK, b""); // 2
    c.send(false, 200 * US, PSH | ACK, &filler(200, 8)); // 3
    c.send(true, 50 * US, ACK, b""); // 4
    c.send(true, 300 * US, PSH | ACK, &filler(50, 9)); // 5
    c.send(false, 1000 * US, PSH | ACK, &filler(80, 10)); // 6
    c.send(true, 50 * US, ACK, b""); // 7
    c.client_close(300 * US); // 8-11
    eth_frames(&c.pkts)
}

fn port_reuse() -> Vec<Frame> {
    let mut pkts = Vec::new();
    for (k, (isn_c, isn_s)) in [
        (ISN_C + 13_000, ISN_S + 13_000),
        (ISN_C + 900_000, 123_456_789),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = Tcp::new(false, isn_c, isn_s);
        c.t = T0 + k as u64 * 2 * SEC;
        c.c.ts_base += k as u32 * 10;
        c.c.ip_id += k as u16 * 100;
        c.s.ip_id += k as u16 * 100;
        c.handshake(); // 1-3 / 10-12
        c.send(true, 100 * US, PSH | ACK, b"GET /a\n"); // 4 / 13
        c.send(false, 1100 * US, PSH | ACK, b"contents of a\n"); // 5 / 14
        c.send(false, 20 * US, FIN | ACK, b""); // 6 / 15 server closes
        c.send(true, 40 * US, ACK, b""); // 7 / 16
        c.send(true, 300 * US, FIN | ACK, b""); // 8 / 17
        c.send(false, 1000 * US, ACK, b""); // 9 / 18
        pkts.extend(c.pkts);
    }
    eth_frames(&pkts)
}

// ---------------------------------------------------------------------------
// UDP, ARP, ICMP, fragments
// ---------------------------------------------------------------------------

fn udp4(from_client: bool, id: u16, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if from_client {
        (IP4_C, IP4_S)
    } else {
        (IP4_S, IP4_C)
    };
    build_udp(
        from_client,
        IpHeaders::Ipv4(ip4_header(src, dst, id), Default::default()),
        sport,
        dport,
        payload,
    )
}

fn udp_exchange() -> Vec<Frame> {
    let answers = [
        "Tue Nov 14 22:13:20 2023\r\n",
        "Tue Nov 14 22:13:21 2023\r\n",
        "Tue Nov 14 22:13:22 2023\r\n",
    ];
    let mut frames = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        let t = T0 + i as u64 * SEC;
        let id = i as u16;
        frames.push(Frame::new(
            t,
            udp4(true, 0x2000 + id, UDP_CPORT, UDP_SPORT, b"time?\n"),
        ));
        frames.push(Frame::new(
            t + 300 * US,
            udp4(false, 0x7000 + id, UDP_SPORT, UDP_CPORT, answer.as_bytes()),
        ));
    }
    frames
}

/// The lab's UDP probe header (`protolab::analyze::udp_probe`), written out by hand
/// so the fixture does not depend on the code it tests: "PLAB", version 1, flags 0,
/// u64 sequence number, u64 send time in ns, all big-endian; then zero padding to
/// `len` bytes.
fn probe_payload(seq: u64, send_ns: u64, len: usize) -> Vec<u8> {
    let mut v = b"PLAB".to_vec();
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&send_ns.to_be_bytes());
    v.resize(len, 0);
    v
}

/// One-way latency of probe `seq` in `udp_probe_loss.pcap`: 200–300 µs in 10 µs
/// steps, except seq 60, held back 1.5 ms so that it arrives after 61.
fn probe_latency(seq: u64) -> u64 {
    if seq == 60 {
        1_500 * US
    } else {
        200 * US + (seq * 37 % 11) * 10 * US
    }
}

/// 100 probe datagrams C→S, sent 1 ms apart (seq k at T0 + k ms), captured at the
/// receiver: 10, 11 and 50 never arrive, 60 arrives after 61, 70 arrives twice
/// (the copy 50 µs after the original).
fn udp_probe_loss() -> Vec<Frame> {
    let mut arrivals: Vec<(u64, u64)> = Vec::new();
    for seq in 0..100u64 {
        if [10, 11, 50].contains(&seq) {
            continue;
        }
        let arrival = T0 + seq * MS + probe_latency(seq);
        arrivals.push((arrival, seq));
        if seq == 70 {
            arrivals.push((arrival + 50 * US, seq));
        }
    }
    arrivals.sort();
    arrivals
        .iter()
        .enumerate()
        .map(|(i, &(arrival, seq))| {
            let payload = probe_payload(seq, T0 + seq * MS, 64);
            Frame::new(
                arrival,
                udp4(true, 0x3000 + i as u16, UDP_CPORT, UDP_SPORT, &payload),
            )
        })
        .collect()
}

fn icmp4_echo(from_client: bool, ip: Ipv4Header, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let (smac, dmac) = macs(from_client);
    let b = PacketBuilder::ethernet2(smac, dmac).ip(IpHeaders::Ipv4(ip, Default::default()));
    let b = if from_client {
        b.icmpv4_echo_request(id, seq)
    } else {
        b.icmpv4_echo_reply(id, seq)
    };
    let mut v = Vec::new();
    b.write(&mut v, payload).expect("icmp");
    v
}

fn arp() -> Vec<Frame> {
    let req = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &MAC_C,
        &IP4_C,
        &[0; 6],
        &IP4_S,
    )
    .expect("arp");
    let rep = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REPLY,
        &MAC_S,
        &IP4_S,
        &MAC_C,
        &IP4_C,
    )
    .expect("arp");
    let mut frames = Vec::new();
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_C, MAC_BCAST)
        .arp(req)
        .write(&mut v)
        .expect("arp");
    frames.push(Frame::new(T0, v));
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_S, MAC_C)
        .arp(rep)
        .write(&mut v)
        .expect("arp");
    // Captured on the client: the reply arrives padded to 60 bytes.
    frames.push(Frame::new(T0 + 150 * US, pad60(v)));
    let payload = filler(56, 3);
    for seq in 1..=2u16 {
        let t = T0 + 200 * US + u64::from(seq - 1) * SEC;
        let req = icmp4_echo(
            true,
            ip4_header(IP4_C, IP4_S, 0x0100 + seq),
            0x0c0d,
            seq,
            &payload,
        );
        frames.push(Frame::new(t, req));
        let rep = icmp4_echo(
            false,
            ip4_header(IP4_S, IP4_C, 0x4400 + seq),
            0x0c0d,
            seq,
            &payload,
        );
        frames.push(Frame::new(t + 400 * US, rep));
    }
    frames
}

fn fragments() -> Vec<Frame> {
    let mut frames = Vec::new();
    // One UDP datagram with 3000 bytes of payload (UDP length 3008), sent as
    // three IPv4 fragments of 1480 + 1480 + 48 bytes.
    let payload = filler(3000, 11);
    let mut ip = ip4_header(IP4_C, IP4_S, 0x3333);
    ip.dont_fragment = false;
    let whole = build_udp(
        true,
        IpHeaders::Ipv4(ip.clone(), Default::default()),
        UDP_CPORT,
        UDP_SPORT,
        &payload,
    );
    let ip_payload = &whole[14 + 20..];
    assert_eq!(ip_payload.len(), 3008);
    let eth = Ethernet2Header {
        source: MAC_C,
        destination: MAC_S,
        ether_type: EtherType::IPV4,
    }
    .to_bytes();
    let mut off = 0usize;
    for (i, chunk) in ip_payload.chunks(1480).enumerate() {
        let mut h = ip.clone();
        h.protocol = IpNumber::UDP;
        h.set_payload_len(chunk.len()).expect("len");
        h.more_fragments = off + chunk.len() < ip_payload.len();
        h.fragment_offset = IpFragOffset::try_new((off / 8) as u16).expect("offset");
        h.header_checksum = h.calc_header_checksum();
        let mut v = eth.to_vec();
        v.extend_from_slice(&h.to_bytes());
        v.extend_from_slice(chunk);
        frames.push(Frame::new(T0 + i as u64 * 10 * US, v));
        off += chunk.len();
    }
    // ping -R: Record Route option (type 7, length 39, 9 slots) + EOL,
    // 40 bytes of options, IHL 15.
    let mut rr = [0u8; 40];
    rr[0] = 7;
    rr[1] = 39;
    rr[2] = 4;
    let mut req_ip = ip4_header(IP4_C, IP4_S, 0x0200);
    req_ip.options = rr[..].try_into().expect("options");
    let payload = filler(56, 5);
    frames.push(Frame::new(
        T0 + 100 * MS,
        icmp4_echo(true, req_ip, 0x0e0f, 1, &payload),
    ));
    // The reply carries the route recorded so far: the server's address.
    let mut rr_reply = rr;
    rr_reply[2] = 8;
    rr_reply[3..7].copy_from_slice(&IP4_S);
    let mut rep_ip = ip4_header(IP4_S, IP4_C, 0x4500);
    rep_ip.options = rr_reply[..].try_into().expect("options");
    frames.push(Frame::new(
        T0 + 100 * MS + 400 * US,
        icmp4_echo(false, rep_ip, 0x0e0f, 1, &payload),
    ));
    frames
}

// ---------------------------------------------------------------------------
// Malformed frames
// ---------------------------------------------------------------------------

/// xorshift64*: a tiny seeded generator, so the "random" frame never changes.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}

/// A TCP segment 198.18.0.1:`sport` -> 198.18.0.2:8001 without options.
fn plain_tcp(sport: u16, seq: u32, ack: u32, data: &[u8]) -> Vec<u8> {
    let mut h = TcpHeader::new(sport, SPORT, seq, 502);
    h.ack = true;
    h.psh = !data.is_empty();
    h.acknowledgment_number = ack;
    let b = PacketBuilder::ethernet2(MAC_C, MAC_S)
        .ip(IpHeaders::Ipv4(
            ip4_header(IP4_C, IP4_S, 0x0777),
            Default::default(),
        ))
        .tcp_header(h);
    let mut v = Vec::new();
    b.write(&mut v, data).expect("tcp");
    v
}

fn malformed() -> Vec<Frame> {
    // The valid frames: a TCP connection 40000 -> 8001 that gets as far as
    // data + ACK, and a UDP request/response stream 40001 -> 8002.
    let mut tcp = Tcp::new(false, ISN_C + 14_000, ISN_S + 14_000);
    tcp.handshake();
    tcp.send(true, 100 * US, PSH | ACK, b"still decoding\n");
    tcp.send(false, 1000 * US, ACK, b"");
    let tcp: Vec<Vec<u8>> = tcp.pkts.into_iter().map(|p| p.eth).collect();
    let udp = |i: u16| {
        if i % 2 == 0 {
            udp4(true, 0x2100 + i, UDP_CPORT, UDP_SPORT, b"time?\n")
        } else {
            udp4(
                false,
                0x7100 + i,
                UDP_SPORT,
                UDP_CPORT,
                b"Tue Nov 14 22:13:20 2023\r\n",
            )
        }
    };

    // 2: truncated Ethernet header (10 bytes).
    let trunc_eth = tcp[0][..10].to_vec();
    // 4: IPv4 header with IHL 3 (12 bytes: below the minimum of 5).
    let mut ihl3 = plain_tcp(40100, 5000, 6000, b"x");
    ihl3[14] = 0x43;
    // 6: TCP header with data offset 4 (16 bytes: below the minimum of 5).
    let mut doff4 = plain_tcp(40102, 5000, 6000, b"y");
    doff4[14 + 20 + 12] = 0x40;
    // 8: IPv4 total length 240 but the frame ends after 100 bytes (the
    // frame itself is short: caplen == len == 100).
    let mut short_ip = plain_tcp(40104, 5000, 6000, &filler(200, 1));
    short_ip.truncate(100);
    // 10: UDP length field 200, but only 8 + 6 bytes are there (the IPv4
    // total length is right).
    let mut udp_len = udp4(true, 0x2222, 40101, UDP_SPORT, b"time?\n");
    udp_len[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&200u16.to_be_bytes());
    // 12: 60 seeded random bytes.
    let random = Rng(0x005e_ed0f_f1c7_u64).bytes(60);

    let list: Vec<Vec<u8>> = vec![
        udp(0),         // 1
        trunc_eth,      // 2
        tcp[0].clone(), // 3 SYN
        ihl3,           // 4
        udp(1),         // 5
        doff4,          // 6
        tcp[1].clone(), // 7 SYN-ACK
        short_ip,       // 8
        udp(2),         // 9
        udp_len,        // 10
        tcp[2].clone(), // 11 ACK
        random,         // 12
        udp(3),         // 13
        Vec::new(),     // 14 zero-length frame
        tcp[3].clone(), // 15 data
        tcp[4].clone(), // 16 ACK
        udp(4),         // 17
        udp(5),         // 18
    ];
    list.into_iter()
        .enumerate()
        .map(|(i, d)| Frame::new(T0 + i as u64 * 200 * US, d))
        .collect()
}

// ---------------------------------------------------------------------------
// Link types and file formats
// ---------------------------------------------------------------------------

/// Linux cooked capture v1 (16 bytes), as captured on the client host.
fn sll_header(p: &Pkt) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    let packet_type: u16 = if p.from_client { 4 } else { 0 }; // OUTGOING / HOST
    v.extend_from_slice(&packet_type.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    v.extend_from_slice(&6u16.to_be_bytes());
    v.extend_from_slice(&p.eth[6..12]); // sender MAC
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&p.ether_type().to_be_bytes());
    v
}

/// Linux cooked capture v2 (20 bytes).
fn sll2_header(p: &Pkt) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    v.extend_from_slice(&p.ether_type().to_be_bytes());
    v.extend_from_slice(&[0, 0]); // reserved
    v.extend_from_slice(&2u32.to_be_bytes()); // interface index
    v.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    v.push(if p.from_client { 4 } else { 0 });
    v.push(6);
    v.extend_from_slice(&p.eth[6..12]);
    v.extend_from_slice(&[0, 0]);
    v
}

/// BSD loopback (DLT_NULL): address family in host (here little-endian,
/// matching the file's byte order) order.
fn null_header(p: &Pkt) -> Vec<u8> {
    let af: u32 = if p.ether_type() == 0x86dd { 24 } else { 2 };
    af.to_le_bytes().to_vec()
}

fn relink(pkts: &[Pkt], header: impl Fn(&Pkt) -> Vec<u8>) -> Vec<Frame> {
    pkts.iter()
        .map(|p| {
            let mut v = header(p);
            v.extend_from_slice(p.l3());
            Frame::new(p.ts, v)
        })
        .collect()
}

/// An ICMPv6 echo request at `t` and its reply `gap` later.
fn icmp6_pair(t: u64, gap: u64, id: u16, payload: &[u8]) -> Vec<Pkt> {
    [true, false]
        .into_iter()
        .enumerate()
        .map(|(i, from_client)| {
            let (src, dst) = if from_client {
                (IP6_C, IP6_S)
            } else {
                (IP6_S, IP6_C)
            };
            let mut h = ip6_header(src, dst, 0);
            h.next_header = IpNumber::IPV6_ICMP;
            let (smac, dmac) = macs(from_client);
            let b = PacketBuilder::ethernet2(smac, dmac).ip(IpHeaders::Ipv6(h, Default::default()));
            let b = if from_client {
                b.icmpv6_echo_request(id, 1)
            } else {
                b.icmpv6_echo_reply(id, 1)
            };
            let mut v = Vec::new();
            b.write(&mut v, payload).expect("icmpv6");
            Pkt {
                ts: t + i as u64 * gap,
                from_client,
                eth: v,
            }
        })
        .collect()
}

/// Gives every timestamp non-zero nanosecond digits (123 ns, 234 ns, ...).
fn with_ns_digits(frames: Vec<Frame>) -> Vec<Frame> {
    frames
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            f.ts += 123 + (i as u64 * 111) % 877;
            f
        })
        .collect()
}

// ---------------------------------------------------------------------------
// File writers
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct PcapFmt {
    nanos: bool,
    big_endian: bool,
    linktype: u32,
    snaplen: u32,
}

impl PcapFmt {
    fn eth() -> PcapFmt {
        PcapFmt::link(LT_ETHERNET)
    }
    fn link(linktype: u32) -> PcapFmt {
        PcapFmt {
            nanos: false,
            big_endian: false,
            linktype,
            snaplen: 262_144,
        }
    }
}

fn put16(out: &mut Vec<u8>, be: bool, v: u16) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, be: bool, v: u32) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn pcap_header(fmt: PcapFmt) -> Vec<u8> {
    let be = fmt.big_endian;
    let mut out = Vec::with_capacity(24);
    put32(
        &mut out,
        be,
        if fmt.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 },
    );
    put16(&mut out, be, 2);
    put16(&mut out, be, 4);
    put32(&mut out, be, 0); // thiszone
    put32(&mut out, be, 0); // sigfigs
    put32(&mut out, be, fmt.snaplen);
    put32(&mut out, be, fmt.linktype);
    out
}

fn pcap_record(fmt: PcapFmt, f: &Frame) -> Vec<u8> {
    let be = fmt.big_endian;
    let caplen = f.data.len().min(fmt.snaplen as usize);
    let frac = if fmt.nanos {
        f.ts % SEC
    } else {
        (f.ts % SEC) / US
    };
    let mut out = Vec::with_capacity(16 + caplen);
    put32(&mut out, be, (f.ts / SEC) as u32);
    put32(&mut out, be, frac as u32);
    put32(&mut out, be, caplen as u32);
    put32(&mut out, be, f.orig_len);
    out.extend_from_slice(&f.data[..caplen]);
    out
}

fn pcap_bytes(fmt: PcapFmt, frames: &[Frame]) -> Vec<u8> {
    let mut out = pcap_header(fmt);
    for f in frames {
        out.extend(pcap_record(fmt, f));
    }
    out
}

/// One pcapng interface: link type and timestamp resolution (10^-tsresol s).
struct Iface {
    linktype: u16,
    tsresol: u8,
    name: &'static str,
}

fn ng_option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn ng_block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    out.extend_from_slice(&block_type.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}

/// Little-endian pcapng: SHB, one IDB per interface, one EPB per frame.
fn pcapng_bytes(ifaces: &[Iface], frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
    ng_option(&mut shb, 4, b"protolab make_fixtures"); // shb_userappl
    ng_option(&mut shb, 0, &[]);
    ng_block(&mut out, 0x0a0d_0d0a, &shb);
    for iface in ifaces {
        let mut idb = Vec::new();
        idb.extend_from_slice(&iface.linktype.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        ng_option(&mut idb, 2, iface.name.as_bytes()); // if_name
        ng_option(&mut idb, 9, &[iface.tsresol]); // if_tsresol
        ng_option(&mut idb, 0, &[]);
        ng_block(&mut out, 1, &idb);
    }
    for f in frames {
        let iface = &ifaces[f.ifid as usize];
        let units = f.ts / 10u64.pow(9 - u32::from(iface.tsresol));
        let mut epb = Vec::new();
        epb.extend_from_slice(&f.ifid.to_le_bytes());
        epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(units as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.orig_len.to_le_bytes());
        epb.extend_from_slice(&f.data);
        while epb.len() % 4 != 0 {
            epb.push(0);
        }
        ng_block(&mut out, 6, &epb);
    }
    out
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

struct Out {
    dir: PathBuf,
    written: Vec<(String, usize, usize)>,
}

impl Out {
    fn write(&mut self, name: &str, frames: usize, bytes: Vec<u8>) -> io::Result<()> {
        let path = self.dir.join(name);
        fs::write(&path, &bytes)?;
        self.written.push((name.to_string(), frames, bytes.len()));
        Ok(())
    }

    fn pcap(&mut self, name: &str, fmt: PcapFmt, frames: &[Frame]) -> io::Result<()> {
        self.write(name, frames.len(), pcap_bytes(fmt, frames))
    }
}

fn main() -> io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("captures"));
    fs::create_dir_all(&dir)?;
    let mut out = Out {
        dir: dir.clone(),
        written: Vec::new(),
    };
    let eth = PcapFmt::eth();

    out.pcap(
        "handshake_data_client_close.pcap",
        eth,
        &handshake_data_client_close(),
    )?;
    out.pcap("server_close.pcap", eth, &server_close())?;
    out.pcap("simultaneous_open.pcap", eth, &simultaneous_open())?;
    out.pcap("simultaneous_close.pcap", eth, &simultaneous_close())?;
    out.pcap("rst_abort.pcap", eth, &rst_abort())?;
    out.pcap("refused.pcap", eth, &refused())?;
    out.pcap("lost_syn.pcap", eth, &lost_syn())?;
    out.pcap("syn_restart.pcap", eth, &syn_restart())?;
    out.pcap("fast_retransmit.pcap", eth, &fast_retransmit())?;
    out.pcap("out_of_order.pcap", eth, &out_of_order())?;
    out.pcap("zero_window.pcap", eth, &zero_window())?;
    out.pcap("half_close.pcap", eth, &half_close())?;
    out.pcap("ipv6.pcap", eth, &ipv6())?;
    out.pcap("vlan.pcap", eth, &vlan())?;
    out.pcap("arp.pcap", eth, &arp())?;
    out.pcap("fragments.pcap", eth, &fragments())?;
    out.pcap("malformed.pcap", eth, &malformed())?;
    out.pcap("midstream.pcap", eth, &midstream())?;
    out.pcap("port_reuse.pcap", eth, &port_reuse())?;
    out.pcap("udp_exchange.pcap", eth, &udp_exchange())?;
    out.pcap("udp_probe_loss.pcap", eth, &udp_probe_loss())?;

    // The same small exchange in every link type and file format.
    let x4 = small_exchange(false);
    let x6 = small_exchange(true);
    let mut null_pkts = x4.clone();
    null_pkts.extend(icmp6_pair(
        x4[x4.len() - 1].ts + 100 * MS,
        300 * US,
        0x77,
        &filler(16, 2),
    ));
    out.pcap(
        "linktype_null.pcap",
        PcapFmt::link(LT_NULL),
        &relink(&null_pkts, null_header),
    )?;
    out.pcap(
        "linktype_raw101.pcap",
        PcapFmt::link(LT_RAW),
        &relink(&x4, |_| Vec::new()),
    )?;
    out.pcap(
        "linktype_ipv4_228.pcap",
        PcapFmt::link(LT_IPV4),
        &relink(&x4, |_| Vec::new()),
    )?;
    out.pcap(
        "linktype_ipv6_229.pcap",
        PcapFmt::link(LT_IPV6),
        &relink(&x6, |_| Vec::new()),
    )?;
    out.pcap(
        "linktype_sll.pcap",
        PcapFmt::link(LT_LINUX_SLL),
        &relink(&x4, sll_header),
    )?;
    out.pcap(
        "linktype_sll2.pcap",
        PcapFmt::link(LT_LINUX_SLL2),
        &relink(&x4, sll2_header),
    )?;
    let ns_frames = with_ns_digits(eth_frames(&x4));
    out.pcap(
        "format_pcap_ns.pcap",
        PcapFmt { nanos: true, ..eth },
        &ns_frames,
    )?;
    out.pcap(
        "format_pcap_be.pcap",
        PcapFmt {
            big_endian: true,
            ..eth
        },
        &eth_frames(&x4),
    )?;
    out.pcap(
        "format_pcap_be_ns.pcap",
        PcapFmt {
            nanos: true,
            big_endian: true,
            ..eth
        },
        &ns_frames,
    )?;
    let ifaces = [
        Iface {
            linktype: LT_ETHERNET as u16,
            tsresol: 6,
            name: "eth0",
        },
        Iface {
            linktype: LT_RAW as u16,
            tsresol: 9,
            name: "tun0",
        },
    ];
    let multi: Vec<Frame> = x4
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 0 {
                Frame::new(p.ts, p.eth.clone())
            } else {
                Frame {
                    ifid: 1,
                    ..Frame::new(p.ts, p.l3().to_vec())
                }
            }
        })
        .collect();
    out.write(
        "format_pcapng_multi_if.pcapng",
        multi.len(),
        pcapng_bytes(&ifaces, &multi),
    )?;
    // 5 whole records, then the 6th cut in the middle of its data.
    let frames = eth_frames(&x4);
    let mut bytes = pcap_header(eth);
    for f in &frames[..5] {
        bytes.extend(pcap_record(eth, f));
    }
    let sixth = pcap_record(eth, &frames[5]);
    bytes.extend_from_slice(&sixth[..16 + (sixth.len() - 16) / 2]);
    out.write("truncated_file.pcap", 6, bytes)?;
    // Headers-only capture: snaplen 96 cuts the data segments.
    let big = exchange(false, &filler(500, 12), &filler(1200, 13));
    out.pcap(
        "snaplen_truncated.pcap",
        PcapFmt { snaplen: 96, ..eth },
        &eth_frames(&big),
    )?;

    for (name, frames, bytes) in &out.written {
        println!(
            "{:<40} {:>3} frames {:>6} bytes",
            Path::new(&dir).join(name).display(),
            frames,
            bytes
        );
    }
    Ok(())
}
