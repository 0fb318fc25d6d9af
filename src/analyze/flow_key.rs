//! The bidirectional flow key: protocol and the two endpoints, in a fixed order.

use std::net::{IpAddr, SocketAddr};

/// Identifies a conversation regardless of direction, packed into integers because
/// it is built, hashed and compared for every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo_ip: u128,
    hi_ip: u128,
    /// Low endpoint's port in the high half.
    ports: u32,
    /// IP protocol number, with bit 8 set for IPv6.
    proto: u16,
}

fn ip_bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), false),
        IpAddr::V6(v6) => (u128::from(v6), true),
    }
}

impl FlowKey {
    /// The key of a packet from `src_ip:sport` to `dst_ip:dport`, and whether the
    /// source is the key's "low" endpoint (which tells the direction without
    /// comparing addresses again).
    #[inline]
    pub fn new(proto: u8, src_ip: IpAddr, sport: u16, dst_ip: IpAddr, dport: u16) -> (Self, bool) {
        let (src, v6) = ip_bits(src_ip);
        let (dst, _) = ip_bits(dst_ip);
        let src_is_lo = (src, sport) <= (dst, dport);
        let ((lo_ip, lo_port), (hi_ip, hi_port)) = if src_is_lo {
            ((src, sport), (dst, dport))
        } else {
            ((dst, dport), (src, sport))
        };
        let key = FlowKey {
            lo_ip,
            hi_ip,
            ports: (u32::from(lo_port) << 16) | u32::from(hi_port),
            proto: u16::from(proto) | (u16::from(v6) << 8),
        };
        (key, src_is_lo)
    }
}

/// Chooses the client of a connection seen without its SYN: the side on
/// an ephemeral port talks to the side on a well-known one; otherwise the higher port
/// is the client. Returns true when `a` is the client.
pub fn midstream_client_is(a: SocketAddr, b: SocketAddr) -> bool {
    let well_known = |p: u16| p < 1024;
    match (well_known(a.port()), well_known(b.port())) {
        (false, true) => true,
        (true, false) => false,
        _ => a.port() >= b.port(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_the_same_both_ways() {
        let a: SocketAddr = "198.18.0.1:40000".parse().unwrap();
        let b: SocketAddr = "198.18.0.2:8001".parse().unwrap();
        let (ab, a_lo) = FlowKey::new(6, a.ip(), a.port(), b.ip(), b.port());
        let (ba, b_lo) = FlowKey::new(6, b.ip(), b.port(), a.ip(), a.port());
        assert_eq!(ab, ba);
        assert_ne!(a_lo, b_lo);
        assert_ne!(ab, FlowKey::new(17, a.ip(), a.port(), b.ip(), b.port()).0);
        let v6: SocketAddr = "[::c612:1]:40000".parse().unwrap();
        assert_ne!(ab, FlowKey::new(6, v6.ip(), v6.port(), b.ip(), b.port()).0);
    }

    #[test]
    fn midstream_client_rules() {
        let hi: SocketAddr = "198.18.0.1:40000".parse().unwrap();
        let lo: SocketAddr = "198.18.0.2:8001".parse().unwrap();
        let web: SocketAddr = "198.18.0.2:80".parse().unwrap();
        let odd: SocketAddr = "198.18.0.3:50000".parse().unwrap();
        assert!(midstream_client_is(hi, lo));
        assert!(!midstream_client_is(lo, hi));
        assert!(midstream_client_is(hi, web));
        assert!(midstream_client_is(odd, hi));
    }
}
