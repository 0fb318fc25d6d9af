//! The kernel's socket table for the watched ports, as the page's kernel column
//! shows it: the last state of every socket a [`StateChange`] spoke of, looked up
//! by (local, remote) to put beside an endpoint's inferred state. Pure: changes
//! in, states out; bounded to [`MAX_SOCKETS`] sockets.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::analyze::TcpState;
use crate::lab::kernel::{KernelState, StateChange};

use super::update::KernelView;

/// At most this many sockets are kept; the longest-unchanged goes first.
pub const MAX_SOCKETS: usize = 256;

/// One socket's last known state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// `None`: gone from the table (closed, or its TIME_WAIT ended).
    state: Option<KernelState>,
    /// When it last changed (for eviction).
    ts_ns: u64,
}

/// See the module documentation.
#[derive(Debug, Default, Clone)]
pub struct KernelTable {
    sockets: BTreeMap<(SocketAddr, SocketAddr), Entry>,
}

impl KernelTable {
    /// Records a change; returns the socket's row as the page shows it, or `None`
    /// when it says nothing the page can place (a client's SYN_SENT traced before
    /// its port is picked).
    pub fn apply(&mut self, change: &StateChange) -> Option<KernelView> {
        if change.local.port() == 0 {
            return None;
        }
        // TIME_WAIT is a socket of its own the tracepoint never names: a traced
        // close that handed over to one is TIME_WAIT, as `ss -tan` would print.
        let state = if change.time_wait_follows {
            Some(KernelState::TimeWait)
        } else {
            change.new
        };
        self.sockets.insert(
            (change.local, change.remote),
            Entry {
                state,
                ts_ns: change.ts_ns,
            },
        );
        if self.sockets.len() > MAX_SOCKETS {
            let oldest = self
                .sockets
                .iter()
                .min_by_key(|(_, e)| e.ts_ns)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.sockets.remove(&k);
            }
        }
        Some(view(change.local, change.remote, state))
    }

    /// The kernel's state of the socket `local` → `remote` in RFC terms, when it
    /// has been seen: a socket gone from the table is CLOSED, and the kernel's
    /// light request socket (NEW_SYN_RECV) is the RFC's SYN_RECEIVED.
    pub fn rfc_state(&self, local: SocketAddr, remote: SocketAddr) -> Option<TcpState> {
        let entry = self.sockets.get(&(local, remote))?;
        Some(match entry.state {
            None => TcpState::Closed,
            Some(KernelState::NewSynRecv) => TcpState::SynReceived,
            Some(k) => k.to_rfc().unwrap_or(TcpState::Closed),
        })
    }

    /// Every socket, in address order.
    pub fn rows(&self) -> Vec<KernelView> {
        self.sockets
            .iter()
            .map(|((l, r), e)| view(*l, *r, e.state))
            .collect()
    }
}

fn view(local: SocketAddr, remote: SocketAddr, state: Option<KernelState>) -> KernelView {
    KernelView {
        local,
        remote,
        // RFC names, as everywhere in protolab (and as `serve`'s kernel lines).
        state: match state {
            None => "(gone)",
            Some(KernelState::NewSynRecv) => TcpState::SynReceived.name(),
            Some(k) => k.to_rfc().map_or(k.kernel_name(), TcpState::name),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        local: &str,
        remote: &str,
        old: Option<KernelState>,
        new: Option<KernelState>,
    ) -> StateChange {
        StateChange {
            ts_ns: 1,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            old,
            new,
            time_wait_follows: false,
        }
    }

    const C: &str = "127.0.0.1:40000";
    const S: &str = "127.0.0.1:8001";

    #[test]
    fn a_close_handed_to_time_wait_reads_as_time_wait() {
        let mut t = KernelTable::default();
        let mut c = change(C, S, Some(KernelState::FinWait2), Some(KernelState::Closed));
        c.time_wait_follows = true;
        let row = t.apply(&c).unwrap();
        assert_eq!(row.state, "TIME_WAIT");
        assert_eq!(
            t.rfc_state(C.parse().unwrap(), S.parse().unwrap()),
            Some(TcpState::TimeWait)
        );
    }

    #[test]
    fn a_socket_gone_from_the_table_is_closed_and_unknown_ones_are_none() {
        let mut t = KernelTable::default();
        t.apply(&change(S, C, Some(KernelState::LastAck), None));
        assert_eq!(
            t.rfc_state(S.parse().unwrap(), C.parse().unwrap()),
            Some(TcpState::Closed)
        );
        assert_eq!(t.rows()[0].state, "(gone)");
        assert_eq!(t.rfc_state(C.parse().unwrap(), S.parse().unwrap()), None);
    }

    #[test]
    fn a_socket_without_its_port_yet_is_not_placed() {
        let mut t = KernelTable::default();
        let c = change(
            "0.0.0.0:0",
            S,
            Some(KernelState::Closed),
            Some(KernelState::SynSent),
        );
        assert_eq!(t.apply(&c), None);
        assert!(t.rows().is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = KernelTable::default();
        for port in 0..(MAX_SOCKETS as u16 + 10) {
            let mut c = change(
                &format!("127.0.0.1:{}", 10000 + port),
                S,
                None,
                Some(KernelState::Established),
            );
            c.ts_ns = u64::from(port);
            t.apply(&c);
        }
        assert_eq!(t.rows().len(), MAX_SOCKETS);
        // The oldest went first.
        assert_eq!(
            t.rfc_state("127.0.0.1:10000".parse().unwrap(), S.parse().unwrap()),
            None
        );
    }
}
