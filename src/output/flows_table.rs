//! The human-readable table of `flows`: one row per connection, then each
//! endpoint's path through the TCP states.

use super::words::plural;
use std::fmt::Write as _;

use crate::analyze::{FlowSummary, TcpState};

/// The table header line.
pub fn flows_header() -> String {
    format!(
        "{:>5} {:<5} {:<24} {:<24} {:>13} {:>17} {:>10} {:<6} {}",
        "flow",
        "proto",
        "client",
        "server",
        "packets c/s",
        "bytes c/s",
        "duration",
        "state",
        "history"
    )
}

/// One flow's row, plus its state paths and notable counters on following lines.
pub fn flow_rows(f: &FlowSummary) -> String {
    let mut s = String::new();
    let duration = f.duration.to_string();
    let _ = write!(
        s,
        "{:>5} {:<5} {:<24} {:<24} {:>13} {:>17} {:>10} {:<6} {}",
        f.flow,
        f.proto,
        f.client.to_string(),
        f.server.to_string(),
        format!("{}/{}", f.packets.client, f.packets.server),
        format!("{}/{}", f.bytes.client, f.bytes.server),
        &duration[..duration.len() - 3],
        f.conn_state,
        f.history
    );
    if let Some(tcp) = &f.tcp {
        let _ = write!(s, "\n      client: {}", TcpState::path(&tcp.client_states));
        let _ = write!(s, "\n      server: {}", TcpState::path(&tcp.server_states));
        let notes: Vec<String> = [
            (tcp.retransmissions, "retransmissions"),
            (tcp.fast_retransmissions, "fast retransmissions"),
            (tcp.spurious_retransmissions, "spurious retransmissions"),
            (tcp.dup_acks, "duplicate ACKs"),
            (tcp.out_of_order, "out-of-order"),
            (tcp.lost_segments, "segments not captured"),
            (tcp.zero_windows, "zero windows"),
            (tcp.zero_window_probes, "zero-window probes"),
            (tcp.window_full, "window full"),
            (tcp.keep_alives, "keep-alives"),
            (tcp.anomalies, "anomalies (see inspect)"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !notes.is_empty() {
            let _ = write!(s, "\n      {}", notes.join(", "));
        }
        if let Some(hs) = tcp.rtt_ms.handshake {
            let _ = write!(s, "\n      handshake RTT {hs:.3} ms");
            if let (Some(min), Some(mean), Some(max)) =
                (tcp.rtt_ms.min, tcp.rtt_ms.mean, tcp.rtt_ms.max)
            {
                let _ = write!(
                    s,
                    "; data RTT min/mean/max {min:.3}/{mean:.3}/{max:.3} ms ({})",
                    plural(tcp.rtt_ms.samples, "sample", "samples")
                );
            }
        }
    }
    if let Some(udp) = &f.udp {
        for (dir, probe) in [
            ("client -> server", udp.probe),
            ("server -> client", udp.from_server),
        ] {
            let Some(p) = probe else { continue };
            let _ = write!(
                s,
                "\n      probes {dir}: {} of {} received, {} lost ({:.2}%), {} out of order, {}, jitter {:.3} ms",
                p.probes,
                p.expected,
                p.lost,
                p.lost_percent,
                p.out_of_order,
                plural(p.duplicates, "duplicate", "duplicates"),
                p.jitter_ms
            );
            if let Some(l) = p.latency_ms {
                let _ = write!(
                    s,
                    ", one-way latency p50 {:.3} ms p99 {:.3} ms",
                    l.p50, l.p99
                );
            }
        }
    }
    s
}
