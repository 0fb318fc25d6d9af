//! Decoder tests: packets built with etherparse's builder, then broken on purpose.

use etherparse::PacketBuilder;

use super::*;
use crate::frame::{LinkType, RawFrame};

const C_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const S_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn frame(bytes: Vec<u8>) -> RawFrame {
    RawFrame {
        number: 1,
        ts_ns: 0,
        linktype: LinkType::ETHERNET,
        orig_len: bytes.len() as u32,
        bytes,
    }
}

fn tcp_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .tcp(40000, 8001, 1000, 64240)
        .ack(5000)
        .psh()
        .write(&mut v, payload)
        .unwrap();
    v
}

#[test]
fn tcp_fields_and_payload_length() {
    let p = decode(&frame(tcp_frame(b"hello")));
    assert_eq!(p.error, None);
    let tcp = p.tcp().unwrap();
    assert_eq!(
        (tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.len),
        (40000, 8001, 1000, 5000, 5)
    );
    assert_eq!(tcp.flags.names().collect::<Vec<_>>(), ["PSH", "ACK"]);
    assert_eq!(p.payload.len(), 5);
    assert_eq!(p.ip.as_ref().unwrap().src.to_string(), "198.18.0.1");
}

#[test]
fn every_flag_bit_is_read_on_both_paths() {
    // Byte 13 holds CWR … FIN, the low bit of byte 12 holds NS.
    let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"];
    for (bit, name) in names.iter().enumerate() {
        let mut bytes = tcp_frame(b"");
        bytes[14 + 20 + 13] = 0;
        if bit == 8 {
            bytes[14 + 20 + 12] |= 1;
        } else {
            bytes[14 + 20 + 13] = 1 << bit;
        }
        let fast = decode(&frame(bytes.clone()));
        // The same IP packet as raw IP goes through the general path.
        let mut raw = frame(bytes[14..].to_vec());
        raw.linktype = LinkType::RAW;
        let general = decode(&raw);
        for p in [&fast, &general] {
            let flags = p.tcp().unwrap().flags;
            assert_eq!(flags.names().collect::<Vec<_>>(), [*name], "bit {bit}");
        }
    }
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut bytes = tcp_frame(b"");
    assert_eq!(bytes.len(), 54);
    bytes.resize(60, 0); // the NIC pads to the 60-byte minimum
    let p = decode(&frame(bytes));
    assert_eq!(p.error, None);
    assert_eq!(p.tcp().unwrap().len, 0);
    assert!(p.payload.is_empty());
}

#[test]
fn snaplen_truncation_keeps_the_length_from_the_ip_header() {
    let bytes = tcp_frame(&[7u8; 1400]);
    let mut f = frame(bytes);
    f.bytes.truncate(96);
    let p = decode(&f);
    assert_eq!(p.error, None, "snaplen is not an error");
    assert_eq!(p.tcp().unwrap().len, 1400);
    assert_eq!(p.payload.len(), 96 - 54);
}

#[test]
fn tcp_options_are_decoded() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .tcp(40000, 8001, 1000, 64240)
        .syn()
        .options(&[
            etherparse::TcpOptionElement::MaximumSegmentSize(1460),
            etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
            etherparse::TcpOptionElement::Timestamp(11, 0),
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::WindowScale(7),
        ])
        .unwrap()
        .write(&mut v, &[])
        .unwrap();
    let p = decode(&frame(v));
    let o = &p.tcp().unwrap().options;
    assert_eq!(
        (o.mss, o.wscale, o.sack_perm, o.ts),
        (Some(1460), Some(7), true, Some((11, 0)))
    );
}

#[test]
fn ihl_below_five_is_named() {
    let mut bytes = tcp_frame(b"x");
    bytes[14] = 0x43;
    let p = decode(&frame(bytes));
    assert_eq!(p.error.unwrap().to_string(), "ipv4: IHL 3 is below 5");
    assert!(p.eth.is_some(), "the Ethernet layer below is kept");
}

#[test]
fn data_offset_below_five_is_named() {
    let mut bytes = tcp_frame(b"x");
    bytes[14 + 20 + 12] = 0x40;
    let p = decode(&frame(bytes));
    assert_eq!(
        p.error.unwrap().to_string(),
        "tcp: data offset 4 is below 5"
    );
}

#[test]
fn ip_total_length_past_an_untruncated_frame_is_an_error() {
    let mut bytes = tcp_frame(b"abcdef");
    bytes[16..18].copy_from_slice(&1500u16.to_be_bytes());
    let p = decode(&frame(bytes));
    assert_eq!(
        p.error.unwrap().to_string(),
        "ipv4: total length 1500 runs past the 46 bytes in the frame"
    );
}

#[test]
fn udp_length_past_the_ip_payload_is_an_error() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .udp(40001, 8002)
        .write(&mut v, b"time?")
        .unwrap();
    v[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&200u16.to_be_bytes());
    let p = decode(&frame(v));
    assert_eq!(
        p.error.unwrap().to_string(),
        "udp: length 200 runs past the 13 bytes of IP payload"
    );
}

#[test]
fn short_frames_and_empty_frames_are_errors_not_panics() {
    assert_eq!(decode(&frame(vec![])).error, Some(DecodeError::Empty));
    let e = decode(&frame(vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
        .error
        .unwrap();
    assert_eq!(
        e.to_string(),
        "ethernet: header needs 14 bytes, only 10 in the frame"
    );
    let mut cut = tcp_frame(b"");
    cut.truncate(14 + 20 + 12);
    let e = decode(&frame(cut)).error.unwrap();
    assert!(
        e.to_string()
            .starts_with("tcp: header needs 20 bytes, only 12"),
        "{e}"
    );
}

#[test]
fn vlan_and_qinq_tags_are_listed_outermost_first() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .double_vlan(
            etherparse::VlanId::try_new(200).unwrap(),
            etherparse::VlanId::try_new(100).unwrap(),
        )
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .udp(40001, 8002)
        .write(&mut v, b"x")
        .unwrap();
    let p = decode(&frame(v));
    assert_eq!(p.error, None);
    assert_eq!(p.eth.as_ref().unwrap().vlan.as_slice(), &[200, 100]);
    assert_eq!(p.udp().unwrap().dport, 8002);
}

#[test]
fn ipv6_extension_headers_are_listed() {
    let mut v = Vec::new();
    let ext = etherparse::Ipv6RawExtHeader::new_raw(etherparse::IpNumber::TCP, &[0; 6]).unwrap();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .ip(etherparse::IpHeaders::Ipv6(
            etherparse::Ipv6Header {
                next_header: etherparse::IpNumber::IPV6_DESTINATION_OPTIONS,
                hop_limit: 64,
                source: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                destination: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                ..Default::default()
            },
            etherparse::Ipv6Extensions {
                destination_options: Some(ext),
                ..Default::default()
            },
        ))
        .tcp(40000, 8001, 1, 1000)
        .write(&mut v, b"abc")
        .unwrap();
    let p = decode(&frame(v));
    assert_eq!(p.error, None);
    let ip = p.ip.as_ref().unwrap();
    assert_eq!(
        (ip.version, ip.ext.as_slice(), ip.proto),
        (6, &[60u8][..], 6)
    );
    assert_eq!(p.tcp().unwrap().len, 3);
}

#[test]
fn arp_request() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, [0xff; 6])
        .arp(
            etherparse::ArpPacket::new(
                etherparse::ArpHardwareId::ETHERNET,
                etherparse::EtherType::IPV4,
                etherparse::ArpOperation::REQUEST,
                &C_MAC,
                &[198, 18, 0, 1],
                &[0; 6],
                &[198, 18, 0, 2],
            )
            .unwrap(),
        )
        .write(&mut v)
        .unwrap();
    let p = decode(&frame(v));
    let arp = p.arp.unwrap();
    assert_eq!(
        (arp.op, arp.target_ip.to_string()),
        (ArpOp::Request, "198.18.0.2".to_string())
    );
}

#[test]
fn raw_ip_and_cooked_link_types() {
    let eth = tcp_frame(b"hi");
    let ip = eth[14..].to_vec();
    for (linktype, prefix) in [
        (LinkType::RAW, vec![]),
        (LinkType::IPV4, vec![]),
        (LinkType::NULL, vec![2, 0, 0, 0]),
        (
            LinkType::LINUX_SLL,
            vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00],
        ),
        (
            LinkType::LINUX_SLL2,
            vec![
                0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
            ],
        ),
    ] {
        let mut bytes = prefix.clone();
        bytes.extend_from_slice(&ip);
        let f = RawFrame {
            linktype,
            ..frame(bytes)
        };
        let p = decode(&f);
        assert_eq!(p.error, None, "{linktype}");
        assert_eq!(p.tcp().map(|t| t.len), Some(2), "{linktype}");
    }
}

// ---------------------------------------------------------------------------
// The fast path (`layers::fill_fast`) must give exactly what the general path
// (etherparse's `LaxSlicedPacket`) gives, and a reused `Packet` must not keep
// anything from the frame before.
// ---------------------------------------------------------------------------

/// What the general path alone makes of `f`, into a fresh packet.
fn decode_slow(f: &RawFrame) -> Packet {
    let mut packet = Packet {
        frame: f.number,
        ts_ns: f.ts_ns,
        caplen: f.caplen(),
        len: f.orig_len,
        ..Packet::default()
    };
    if f.bytes.is_empty() {
        packet.error = Some(DecodeError::Empty);
    } else {
        decode_general(f.linktype, &f.bytes, f.is_truncated(), &mut packet);
    }
    packet
}

/// A packet full of leftovers: every layer set, and an error with heap data.
fn leftovers() -> Packet {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .single_vlan(etherparse::VlanId::try_new(7).unwrap())
        .ipv6([1; 16], [2; 16], 9)
        .tcp(1, 2, 3, 4)
        .syn()
        .options(&[
            etherparse::TcpOptionElement::MaximumSegmentSize(1000),
            etherparse::TcpOptionElement::SelectiveAcknowledgement(
                (1, 2),
                [Some((3, 4)), None, None],
            ),
        ])
        .unwrap()
        .write(&mut v, b"old")
        .unwrap();
    let mut p = decode(&frame(v));
    p.arp = Some(ArpInfo {
        op: ArpOp::Other(9),
        sender_mac: MacAddr([1; 6]),
        sender_ip: "1.2.3.4".parse().unwrap(),
        target_mac: MacAddr([2; 6]),
        target_ip: "5.6.7.8".parse().unwrap(),
    });
    p.error = Some(DecodeError::Other {
        layer: Layer::Frame,
        detail: "left over".to_string(),
    });
    p
}

fn assert_fast_matches_slow(f: &RawFrame) {
    let slow = decode_slow(f);
    let mut reused = leftovers();
    decode_into(f, &mut reused);
    assert_eq!(
        reused, slow,
        "decode_into on a used packet, {:02x?}",
        f.bytes
    );
    assert_eq!(decode(f), slow, "decode, {:02x?}", f.bytes);
}

/// Frames the fast path is for, and the ones next to it that it must hand on.
fn sample_frames() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let opts = [
        vec![],
        vec![
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::Timestamp(0x0102_0304, 0xa0b0_c0d0),
        ],
        vec![
            etherparse::TcpOptionElement::MaximumSegmentSize(1460),
            etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
            etherparse::TcpOptionElement::Timestamp(11, 0),
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::WindowScale(7),
        ],
        vec![
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::Noop,
            etherparse::TcpOptionElement::SelectiveAcknowledgement(
                (100, 200),
                [Some((300, 400)), Some((500, 600)), None],
            ),
        ],
    ];
    for (vlans, options) in [0usize, 1, 2, 3, 4].iter().zip(opts.iter().cycle()) {
        let ip = etherparse::Ipv4Header::new(
            0,
            64,
            etherparse::IpNumber::TCP,
            [198, 18, 0, 1],
            [198, 18, 0, 2],
        )
        .unwrap();
        let mut bytes = Vec::new();
        etherparse::Ethernet2Header {
            source: C_MAC,
            destination: S_MAC,
            ether_type: if *vlans > 0 {
                etherparse::EtherType::VLAN_TAGGED_FRAME
            } else {
                etherparse::EtherType::IPV4
            },
        }
        .write(&mut bytes)
        .unwrap();
        for i in 0..*vlans {
            etherparse::SingleVlanHeader {
                vlan_id: etherparse::VlanId::try_new(100 + i as u16).unwrap(),
                ether_type: if i + 1 < *vlans {
                    etherparse::EtherType::VLAN_TAGGED_FRAME
                } else {
                    etherparse::EtherType::IPV4
                },
                ..Default::default()
            }
            .write(&mut bytes)
            .unwrap();
        }
        let mut tcp = etherparse::TcpHeader::new(40000, 8001, 7, 1000);
        tcp.ack = true;
        tcp.set_options(options).unwrap();
        let payload = b"abcdefgh";
        let mut ip = ip;
        ip.set_payload_len(tcp.header_len() + payload.len())
            .unwrap();
        ip.write(&mut bytes).unwrap();
        tcp.write(&mut bytes).unwrap();
        bytes.extend_from_slice(payload);
        out.push(bytes);
    }
    out.push(tcp_frame(b"hello"));
    out.push(tcp_frame(&[7u8; 300]));
    for payload in [&b""[..], b"time?", &[1u8; 200]] {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(C_MAC, S_MAC)
            .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            .udp(40001, 8002)
            .write(&mut v, payload)
            .unwrap();
        out.push(v);
    }
    // IPv4 options, so the header is longer than 20 bytes.
    let mut v = tcp_frame(b"opts");
    let mut with_options = v[..14].to_vec();
    let mut ip = etherparse::Ipv4Header::from_slice(&v[14..]).unwrap().0;
    ip.options = [1u8, 1, 1, 0][..].try_into().unwrap();
    ip.set_payload_len(v.len() - 34).unwrap();
    ip.write(&mut with_options).unwrap();
    with_options.extend_from_slice(&v[34..]);
    out.push(with_options);
    // A fragment, ICMP, ARP, IPv6: not the fast path's, but it must say so.
    v = tcp_frame(b"frag");
    v[20] = 0x20; // more fragments
    out.push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
        .icmpv4_echo_request(1, 2)
        .write(&mut v, b"ping")
        .unwrap();
    out.push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(C_MAC, S_MAC)
        .ipv6([1; 16], [2; 16], 64)
        .tcp(1, 2, 3, 4)
        .write(&mut v, b"six")
        .unwrap();
    out.push(v);
    out
}

#[test]
fn fast_path_matches_general_path_on_samples() {
    for bytes in sample_frames() {
        let full = frame(bytes.clone());
        assert_fast_matches_slow(&full);
        // Cut by snaplen at every length, and padded as a NIC would.
        for cut in 0..bytes.len() {
            let mut f = frame(bytes[..cut].to_vec());
            f.orig_len = bytes.len() as u32;
            assert_fast_matches_slow(&f);
            // The same bytes as if the frame itself were that short.
            assert_fast_matches_slow(&frame(bytes[..cut].to_vec()));
        }
        let mut padded = bytes.clone();
        padded.resize(bytes.len() + 6, 0);
        assert_fast_matches_slow(&frame(padded));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

    /// Any byte of a sample frame changed to anything, possibly cut short.
    #[test]
    fn fast_path_matches_general_path_on_damaged_frames(
        which in proptest::prelude::any::<proptest::sample::Index>(),
        flips in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
            1..4,
        ),
        cut in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
    ) {
        let samples = sample_frames();
        let mut bytes = which.get(&samples).clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let orig_len = bytes.len() as u32;
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let mut f = frame(bytes);
        f.orig_len = orig_len;
        assert_fast_matches_slow(&f);
    }
}
