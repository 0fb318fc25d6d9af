//! A delayed duplicate made to order: the bridge keeps a copy of the server's FIN
//! and sends it to the client again once the client's ACK of that FIN has been
//! forwarded to the server (`time-wait-rst`).
//!
//! This is the segment TIME_WAIT exists for (RFC 9293 §3.6.1): an old duplicate
//! that arrives after the connection's close. Ordering, not a timer, decides when
//! it leaves: the server's kernel has got the ACK of its FIN (LAST_ACK → CLOSED,
//! its socket gone) before the copy leaves, so the client's TIME_WAIT answers the
//! copy with an ACK that reaches no socket, and the server's kernel answers that
//! with a RST which, on Linux without `tcp_rfc1337`, ends the TIME_WAIT
//! (RFC 1337's "TIME-WAIT assassination").
//!
//! [`FinEcho`] only decides (pure: frames in, a copy out); the forwarders call it
//! as they send (`keep` on server→client frames, `release` on client→server
//! frames) and put the copy on the server→client link.

use std::sync::Mutex;

use crate::decode::{decode_bytes, Packet, Transport};
use crate::frame::LinkType;

/// One TCP segment's fields that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: Option<u32>,
    fin: bool,
    /// Sequence space the segment takes: payload, plus one for SYN and for FIN.
    span: u32,
}

fn segment(frame: &[u8]) -> Option<Seg> {
    let mut p = Packet::default();
    decode_bytes(0, 0, LinkType::ETHERNET, frame.len() as u32, frame, &mut p);
    let Some(Transport::Tcp(t)) = &p.transport else {
        return None;
    };
    Some(Seg {
        sport: t.sport,
        dport: t.dport,
        seq: t.seq,
        ack: t.flags.ack().then_some(t.ack),
        fin: t.flags.fin(),
        span: t.len + u32::from(t.flags.syn()) + u32::from(t.flags.fin()),
    })
}

#[derive(Debug, Default)]
enum State {
    /// No FIN from the server yet.
    #[default]
    Waiting,
    /// The server's first FIN, and the acknowledgment number that covers it.
    Kept {
        frame: Vec<u8>,
        server_port: u16,
        client_port: u16,
        covered_by: u32,
    },
    /// The copy has left: once per run.
    Sent,
}

/// Keeps the server's first FIN and lets a copy go once the client's ACK of it
/// has been forwarded.
#[derive(Debug, Default)]
pub struct FinEcho {
    state: Mutex<State>,
}

impl FinEcho {
    pub fn new() -> Self {
        Self::default()
    }

    /// A server→client frame is being forwarded: the first FIN is kept.
    pub fn keep(&self, frame: &[u8]) {
        let mut state = self.state.lock().expect("poisoned");
        if !matches!(*state, State::Waiting) {
            return;
        }
        if let Some(s) = segment(frame).filter(|s| s.fin) {
            *state = State::Kept {
                frame: frame.to_vec(),
                server_port: s.sport,
                client_port: s.dport,
                covered_by: s.seq.wrapping_add(s.span),
            };
        }
    }

    /// A client→server frame has been forwarded: if it acknowledges the kept
    /// FIN, the copy to send to the client now (once).
    pub fn release(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let mut state = self.state.lock().expect("poisoned");
        let State::Kept {
            server_port,
            client_port,
            covered_by,
            ..
        } = &*state
        else {
            return None;
        };
        let s = segment(frame)?;
        let acks_it = s.sport == *client_port
            && s.dport == *server_port
            && s.ack.is_some_and(|a| a == *covered_by);
        if !acks_it {
            return None;
        }
        match std::mem::replace(&mut *state, State::Sent) {
            State::Kept { frame, .. } => Some(frame),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP frame (no options, no payload).
    fn frame(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[198, 18, 0, 2]);
        ip[16..20].copy_from_slice(&[198, 18, 0, 1]);
        let tcp = &mut f[34..54];
        tcp[0..2].copy_from_slice(&sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&dport.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&ack.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        tcp[14..16].copy_from_slice(&512u16.to_be_bytes());
        f
    }

    const FIN_ACK: u8 = 0x11;
    const ACK: u8 = 0x10;

    #[test]
    fn the_servers_fin_goes_again_once_the_clients_ack_of_it_went() {
        let echo = FinEcho::new();
        let fin = frame(8027, 40000, 700, 301, FIN_ACK);
        // Not yet: nothing kept, an ACK releases nothing.
        assert_eq!(echo.release(&frame(40000, 8027, 300, 700, ACK)), None);
        echo.keep(&frame(8027, 40000, 600, 301, ACK));
        echo.keep(&fin);
        // An ACK that does not cover the FIN (ack 700 is the FIN's own seq).
        assert_eq!(echo.release(&frame(40000, 8027, 301, 700, ACK)), None);
        // The ACK of the FIN: the copy, byte for byte, once.
        assert_eq!(echo.release(&frame(40000, 8027, 301, 701, ACK)), Some(fin));
        assert_eq!(echo.release(&frame(40000, 8027, 301, 701, ACK)), None);
        // A later FIN is not kept again.
        echo.keep(&frame(8027, 40000, 701, 301, FIN_ACK));
        assert_eq!(echo.release(&frame(40000, 8027, 301, 702, ACK)), None);
    }
}
