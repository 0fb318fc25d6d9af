//! The Community ID (version 1) of a flow: the string Zeek, Suricata, Arkime and
//! Wireshark all print for the same connection, so their records join protolab's.
//!
//! The spec (corelight/community-id-spec): SHA-1 over seed, the two addresses, the
//! protocol, a zero byte and the two ports, with the smaller endpoint first, written
//! as `1:` + base64. ICMP has no ports: the type stands for the source port and, for
//! a request or reply, the type of its counterpart for the destination port (so an
//! echo request and its reply get one ID); any other message uses its code and is
//! "one-way": its endpoints are never swapped.

use std::net::IpAddr;

use base64::Engine;
use sha1::{Digest, Sha1};

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMP6: u8 = 58;
pub const PROTO_SCTP: u8 = 132;

/// ICMP types that have a counterpart (request ↔ reply), as Zeek pairs them.
const ICMP4_PAIRS: [(u16, u16); 5] = [(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)];
const ICMP6_PAIRS: [(u16, u16); 6] = [
    (128, 129),
    (130, 131),
    (133, 134),
    (135, 136),
    (139, 140),
    (144, 145),
];

/// The port-like pair of an ICMP message and whether it is one-way.
fn icmp_ports(pairs: &[(u16, u16)], kind: u16, code: u16) -> (u16, u16, bool) {
    let counterpart = pairs.iter().find_map(|&(a, b)| {
        if a == kind {
            Some(b)
        } else if b == kind {
            Some(a)
        } else {
            None
        }
    });
    match counterpart {
        Some(other) => (kind, other, false),
        None => (kind, code, true),
    }
}

fn bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The Community ID of a flow seen from `src` to `dst`, with `seed` (0 unless the
/// sites agree on another). For TCP, UDP and SCTP, `sport`/`dport` are the ports; for
/// ICMP and ICMPv6 they are the message's type and code. Other protocols hash no
/// ports.
pub fn community_id(
    seed: u16,
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
) -> String {
    let (sport, dport, one_way) = match proto {
        PROTO_ICMP => icmp_ports(&ICMP4_PAIRS, sport, dport),
        PROTO_ICMP6 => icmp_ports(&ICMP6_PAIRS, sport, dport),
        _ => (sport, dport, false),
    };
    let (mut a, mut b) = (bytes(src), bytes(dst));
    let (mut pa, mut pb) = (sport, dport);
    // The smaller endpoint goes first, so both directions hash alike.
    let ordered = one_way || a < b || (a == b && pa < pb);
    if !ordered {
        std::mem::swap(&mut a, &mut b);
        std::mem::swap(&mut pa, &mut pb);
    }
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(&a);
    h.update(&b);
    h.update([proto, 0]);
    if matches!(
        proto,
        PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_ICMP | PROTO_ICMP6
    ) {
        h.update(pa.to_be_bytes());
        h.update(pb.to_be_bytes());
    }
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // The spec's own baseline values (community-id-spec/baseline).
    #[test]
    fn matches_the_spec_baseline() {
        assert_eq!(
            community_id(
                0,
                PROTO_TCP,
                ip("128.232.110.120"),
                ip("66.35.250.204"),
                34855,
                80
            ),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // Both directions of a flow share the ID.
        assert_eq!(
            community_id(
                0,
                PROTO_TCP,
                ip("66.35.250.204"),
                ip("128.232.110.120"),
                80,
                34855
            ),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // An echo request and its reply pair up; ICMP hashes type and counterpart.
        assert_eq!(
            community_id(0, PROTO_ICMP, ip("192.168.0.89"), ip("192.168.0.1"), 8, 0),
            community_id(0, PROTO_ICMP, ip("192.168.0.1"), ip("192.168.0.89"), 0, 0),
        );
    }
}
