//! Does the capture show what the scenario teaches? Compares a scenario's
//! `Expectation` with the flows analysis found, and says every difference.

use crate::analyze::{FlowSummary, TcpState};
use crate::output::words::plural;
use crate::scenario::Expectation;

/// One difference between what the scenario expects and what the capture shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

/// Every way `flows` differs from `expected`; empty when the capture agrees.
pub fn check_expectation(expected: &Expectation, flows: &[FlowSummary]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let tcp: Vec<&FlowSummary> = flows.iter().filter(|f| f.tcp.is_some()).collect();
    if tcp.len() != expected.connections.len() {
        out.push(Mismatch(format!(
            "expected {}, the capture has {}",
            plural(
                expected.connections.len(),
                "TCP connection",
                "TCP connections"
            ),
            tcp.len()
        )));
    }
    for (i, (want, got)) in expected.connections.iter().zip(&tcp).enumerate() {
        let states = got.tcp.as_ref().expect("filtered on tcp");
        let n = i + 1;
        if states.client_states != want.client_states {
            out.push(Mismatch(format!(
                "connection {n} client: expected {}\n{:>22}got      {}",
                TcpState::path(&want.client_states),
                "",
                TcpState::path(&states.client_states)
            )));
        }
        if states.server_states != want.server_states {
            out.push(Mismatch(format!(
                "connection {n} server: expected {}\n{:>22}got      {}",
                TcpState::path(&want.server_states),
                "",
                TcpState::path(&states.server_states)
            )));
        }
        // Where the diagram has several arcs between two states, the one taken.
        for &(from, to, why) in &want.ways {
            let taken = states
                .client_transitions
                .iter()
                .chain(&states.server_transitions)
                .filter(|t| t.from == from && t.to == to);
            for t in taken.filter(|t| t.why != why) {
                out.push(Mismatch(format!(
                    "connection {n}: {from} → {to} at frame {} should be \"{}\", \
                     the capture shows \"{}\"",
                    t.frame,
                    why.text(),
                    t.why.text()
                )));
            }
        }
        if let Some(bytes) = want.client_bytes.filter(|b| *b != got.bytes.client) {
            out.push(Mismatch(format!(
                "connection {n}: expected {} from the client, the capture has {}",
                plural(bytes, "payload byte", "payload bytes"),
                got.bytes.client
            )));
        }
        if let Some(bytes) = want.server_bytes.filter(|b| *b != got.bytes.server) {
            out.push(Mismatch(format!(
                "connection {n}: expected {} from the server, the capture has {}",
                plural(bytes, "payload byte", "payload bytes"),
                got.bytes.server
            )));
        }
    }
    if let Some((to_server, to_client)) = expected.udp_datagrams {
        let udp: Vec<&FlowSummary> = flows.iter().filter(|f| f.udp.is_some()).collect();
        let sent: u64 = udp.iter().map(|f| f.packets.client).sum();
        let answered: u64 = udp.iter().map(|f| f.packets.server).sum();
        if sent < to_server || answered < to_client {
            out.push(Mismatch(format!(
                "expected at least {} to the server and {to_client} back, \
                 the capture has {sent} and {answered}",
                plural(to_server, "datagram", "datagrams")
            )));
        }
        if !tcp.is_empty() && expected.connections.is_empty() {
            out.push(Mismatch(
                "UDP scenario, yet the capture has TCP connections".into(),
            ));
        }
    }
    out
}
