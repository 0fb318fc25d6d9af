//! The readable one-line-per-frame form of `inspect`, in the spirit of `tcpdump -nn`,
//! with the analysis (expert flags, state changes) appended.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::analyze::FrameAnalysis;
use crate::decode::{ArpOp, IcmpInfo, Packet, TcpInfo, Transport};
use crate::timestamp::Seconds;

/// Formats one frame. `t0_ns` is the first frame's time; times print relative to it.
pub fn frame_line(p: &Packet, a: &FrameAnalysis, t0_ns: u64) -> String {
    let mut s = String::with_capacity(160);
    let rel = Seconds(p.ts_ns.saturating_sub(t0_ns)).to_string();
    // Six decimals, as tcpdump and Wireshark print by default.
    let _ = write!(s, "{:>5} {} ", p.frame, &rel[..rel.len() - 3]);
    if let Some(eth) = &p.eth {
        for id in &eth.vlan {
            let _ = write!(s, "vlan {id} ");
        }
    }
    if let Some(arp) = &p.arp {
        let _ = match arp.op {
            ArpOp::Request => write!(
                s,
                "ARP request who-has {} tell {}",
                arp.target_ip, arp.sender_ip
            ),
            ArpOp::Reply => write!(s, "ARP reply {} is-at {}", arp.sender_ip, arp.sender_mac),
            ArpOp::Other(op) => write!(s, "ARP op {op} {} > {}", arp.sender_ip, arp.target_ip),
        };
    } else if let Some(ip) = &p.ip {
        match &p.transport {
            Some(Transport::Tcp(tcp)) => tcp_text(&mut s, ip.src, ip.dst, tcp, a),
            Some(Transport::Udp(udp)) => {
                let _ = write!(
                    s,
                    "{} > {} UDP len {}",
                    SocketAddr::new(ip.src, udp.sport),
                    SocketAddr::new(ip.dst, udp.dport),
                    udp.payload_len()
                );
            }
            Some(Transport::Icmp(icmp)) => icmp_text(&mut s, ip.src, ip.dst, icmp),
            None => {
                let _ = write!(
                    s,
                    "{} > {} IPv{} proto {}",
                    ip.src, ip.dst, ip.version, ip.proto
                );
            }
        }
        if let Some(frag) = ip.frag {
            let _ = write!(s, " frag id {} offset {}", ip.id.unwrap_or(0), frag.offset);
            if frag.more {
                s.push_str(" more");
            }
        }
        if ip.options_len > 0 {
            let _ = write!(s, " ip-options {}B", ip.options_len);
        }
    } else if let Some(eth) = &p.eth {
        let _ = write!(
            s,
            "{} > {} ethertype 0x{:04x}",
            eth.src, eth.dst, eth.ether_type
        );
    } else {
        s.push_str("(no decodable layers)");
    }
    if let Some(flow) = a.flow {
        let _ = write!(s, "  flow {flow}");
    }
    if !a.flags.is_empty() {
        s.push_str("  [");
        for (i, name) in a.flags.names().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&name.replace('_', " "));
            if name == "duplicate_ack" {
                let _ = write!(s, " #{}", a.dup_ack_count);
            }
        }
        s.push(']');
    }
    // A withdrawal comes first: the transitions after it replace what it withdraws.
    for w in &a.withdrawals {
        let t = &w.withdraws;
        let _ = write!(
            s,
            "  | {}: withdrawn {} -> {} of frame {} ({})",
            w.endpoint,
            t.from,
            t.to,
            t.frame,
            w.why.text(w.endpoint)
        );
    }
    for t in &a.transitions {
        let _ = write!(s, "  | {} {} -> {}", t.endpoint, t.from, t.to);
        if t.frame != p.frame {
            let _ = write!(s, " (at frame {})", t.frame);
        }
    }
    for n in &a.anomalies {
        let _ = write!(s, "  | anomaly: {} {}", n.endpoint, n.what);
    }
    // Another flow's, proved over by this frame (a new SYN from its client port).
    if let Some((flow, t)) = &a.concluded {
        let _ = write!(
            s,
            "  | flow {flow} {} {} -> {} (at frame {}): {}",
            t.endpoint,
            t.from,
            t.to,
            t.frame,
            t.why.text()
        );
    }
    if let Some(e) = &p.error {
        let _ = write!(s, "  !! {e}");
    }
    s
}

/// The line `inspect` prints after the last frame for what only the capture's end
/// proves (`Analyzer::conclude`): `  end of capture  flow 1  | client SYN_SENT ->
/// CLOSED (at frame 3): no answer to its SYN: …`. No frame is rewritten: the
/// transition belongs to an earlier frame, and this line says which.
pub fn end_line(a: &FrameAnalysis) -> String {
    let mut s = String::from("  end of capture");
    if let Some(flow) = a.flow {
        let _ = write!(s, "  flow {flow}");
    }
    for t in &a.transitions {
        let _ = write!(
            s,
            "  | {} {} -> {} (at frame {}): {}",
            t.endpoint,
            t.from,
            t.to,
            t.frame,
            t.why.text()
        );
    }
    s
}

fn tcp_text(s: &mut String, src: IpAddr, dst: IpAddr, tcp: &TcpInfo, a: &FrameAnalysis) {
    let _ = write!(
        s,
        "{} > {} TCP [{}] seq {}",
        SocketAddr::new(src, tcp.sport),
        SocketAddr::new(dst, tcp.dport),
        tcp.flags.tcpdump(),
        a.rel_seq.unwrap_or(tcp.seq)
    );
    if tcp.flags.ack() {
        let _ = write!(s, " ack {}", a.rel_ack.unwrap_or(tcp.ack));
    }
    let _ = write!(s, " win {} len {}", tcp.window, tcp.len);
    let o = &tcp.options;
    if !o.is_empty() {
        let mut parts: Vec<String> = Vec::new();
        if let Some(mss) = o.mss {
            parts.push(format!("mss {mss}"));
        }
        if o.sack_perm {
            parts.push("sackOK".into());
        }
        if let Some((val, ecr)) = o.ts {
            parts.push(format!("TS val {val} ecr {ecr}"));
        }
        if let Some(ws) = o.wscale {
            parts.push(format!("wscale {ws}"));
        }
        if !o.sack.is_empty() {
            let blocks: Vec<String> = rel_sack(tcp, a)
                .unwrap_or_else(|| o.sack.to_vec())
                .iter()
                .map(|(l, r)| format!("{l}:{r}"))
                .collect();
            parts.push(format!("sack {}", blocks.join(" ")));
        }
        let _ = write!(s, " <{}>", parts.join(","));
    }
}

/// The SACK blocks relative to the same base as the ACK number: the acknowledged
/// bytes are the peer's, so `rel_ack` already names the peer's initial sequence
/// number (`ack - rel_ack`). `None` when there are no blocks or no relative ACK.
pub(crate) fn rel_sack(tcp: &TcpInfo, a: &FrameAnalysis) -> Option<Vec<(u32, u32)>> {
    let rel_ack = a
        .rel_ack
        .filter(|_| tcp.flags.ack() && !tcp.options.sack.is_empty())?;
    let base = tcp.ack.wrapping_sub(rel_ack);
    Some(
        tcp.options
            .sack
            .iter()
            .map(|(l, r)| (l.wrapping_sub(base), r.wrapping_sub(base)))
            .collect(),
    )
}

fn icmp_text(s: &mut String, src: IpAddr, dst: IpAddr, icmp: &IcmpInfo) {
    let name = match (icmp.version, icmp.icmp_type) {
        (4, 8) | (6, 128) => "echo request",
        (4, 0) | (6, 129) => "echo reply",
        (4, 3) | (6, 1) => "destination unreachable",
        (4, 11) | (6, 3) => "time exceeded",
        (6, 135) => "neighbor solicitation",
        (6, 136) => "neighbor advertisement",
        _ => "",
    };
    let proto = if icmp.version == 6 { "ICMPv6" } else { "ICMP" };
    let _ = write!(s, "{src} > {dst} {proto}");
    if !name.is_empty() {
        let _ = write!(s, " {name}");
    }
    match icmp.echo {
        Some((id, seq)) => {
            let _ = write!(s, " id {id} seq {seq}");
        }
        None => {
            let _ = write!(s, " type {} code {}", icmp.icmp_type, icmp.code);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analyze::{Anomaly, Role, TcpState, Transition, Why, Withdrawal, Withdrawn};

    /// Frame 8 of a simultaneous close: the server's CLOSE_WAIT of frame 7 withdrawn.
    pub(crate) fn withdrawing_frame() -> (Packet, FrameAnalysis) {
        let p = Packet {
            frame: 8,
            ..Packet::default()
        };
        let mut a = FrameAnalysis::default();
        let t = |frame, from, to, why| Transition {
            endpoint: Role::Server,
            frame,
            ts_ns: 0,
            from,
            to,
            why,
        };
        a.withdrawals.push(Withdrawal {
            endpoint: Role::Server,
            withdraws: t(
                7,
                TcpState::Established,
                TcpState::CloseWait,
                Why::ReceivedFin,
            ),
            why: Withdrawn::FinsCrossed,
        });
        a.transitions.push(t(
            8,
            TcpState::Established,
            TcpState::FinWait1,
            Why::FinCrossed,
        ));
        a.note(Role::Client, Anomaly::DataAfterFin);
        (p, a)
    }

    #[test]
    fn a_withdrawal_is_said_in_words_before_the_new_transitions() {
        let (p, a) = withdrawing_frame();
        let line = frame_line(&p, &a, 0);
        let w = line
            .find("| server: withdrawn ESTABLISHED -> CLOSE_WAIT of frame 7 (its FIN does not acknowledge the client's FIN: the FINs crossed)")
            .expect(&line);
        let t = line
            .find("| server ESTABLISHED -> FIN_WAIT_1")
            .expect(&line);
        assert!(w < t, "{line}");
        assert!(
            line.ends_with("| anomaly: client sent data beyond its own FIN"),
            "{line}"
        );
    }

    /// Bug: SACK blocks were printed raw (2000009001:2000010001) beside a relative ack 1001.
    #[test]
    fn sack_blocks_are_relative_to_the_same_base_as_the_ack() {
        let mut tcp = TcpInfo {
            ack: 2_000_008_001,
            flags: crate::decode::TcpFlags(crate::decode::TcpFlags::ACK),
            ..TcpInfo::default()
        };
        tcp.options.sack.push((2_000_009_001, 2_000_010_001));
        tcp.options.sack.push((2_000_011_001, 2_000_012_001));
        let a = FrameAnalysis {
            rel_ack: Some(1001),
            ..FrameAnalysis::default()
        };
        assert_eq!(rel_sack(&tcp, &a), Some(vec![(2001, 3001), (4001, 5001)]));
        let mut line = String::new();
        tcp_text(
            &mut line,
            [127, 0, 0, 1].into(),
            [127, 0, 0, 1].into(),
            &tcp,
            &a,
        );
        assert!(
            line.ends_with(" ack 1001 win 0 len 0 <sack 2001:3001 4001:5001>"),
            "{line}"
        );
        // Across the wrap of the 32-bit space.
        tcp.ack = 1000;
        tcp.options.sack.clear();
        tcp.options.sack.push((3000, 4000));
        let a = FrameAnalysis {
            rel_ack: Some(2000),
            ..FrameAnalysis::default()
        };
        assert_eq!(rel_sack(&tcp, &a), Some(vec![(4000, 5000)]));
        // Without a relative ack (no analysis), the raw blocks.
        assert_eq!(rel_sack(&tcp, &FrameAnalysis::default()), None);
        let mut raw = String::new();
        tcp_text(
            &mut raw,
            [127, 0, 0, 1].into(),
            [127, 0, 0, 1].into(),
            &tcp,
            &FrameAnalysis::default(),
        );
        assert!(raw.ends_with("<sack 3000:4000>"), "{raw}");
    }
}
