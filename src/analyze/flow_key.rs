//! The bidirectional flow key: protocol and the two endpoints, in a fixed order.

use std::net::SocketAddr;

/// Identifies a conversation regardless of direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub proto: u8,
    /// The smaller endpoint (by address, then port).
    pub lo: SocketAddr,
    pub hi: SocketAddr,
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`.
    pub fn new(proto: u8, src: SocketAddr, dst: SocketAddr) -> Self {
        if src <= dst {
            FlowKey {
                proto,
                lo: src,
                hi: dst,
            }
        } else {
            FlowKey {
                proto,
                lo: dst,
                hi: src,
            }
        }
    }
}

/// Chooses the client of a connection seen without its SYN (DESIGN §4): the side on
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
        assert_eq!(FlowKey::new(6, a, b), FlowKey::new(6, b, a));
        assert_ne!(FlowKey::new(6, a, b), FlowKey::new(17, a, b));
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
