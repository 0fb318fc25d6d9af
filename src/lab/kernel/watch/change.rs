//! One change of one socket's state, as a [`super::PortWatch`] reports it, and
//! the line `protolab serve` prints for it. Pure: the tracepoint's transitions or
//! two socket-table samples in, changes and text out.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::lab::kernel::{KernelState, KernelTransition, SocketSample};

/// One socket's state changed: from the tracepoint (every change, `old` and
/// `new` always known) or from two successive samples of the socket table (a
/// socket that appears has no `old`, one that disappears no `new`, and states
/// shorter than the polling interval are never seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// When: CLOCK_REALTIME ns (the tracepoint's time, or the sample's).
    pub ts_ns: u64,
    /// The socket's own address (port 0 on a client's CLOSE → SYN_SENT).
    pub local: SocketAddr,
    /// Its peer (`0.0.0.0:0` for a listener).
    pub remote: SocketAddr,
    /// `None`: not in the previous sample (a new socket).
    pub old: Option<KernelState>,
    /// `None`: gone from the table.
    pub new: Option<KernelState>,
    /// Set on a traced FIN_WAIT2/CLOSING → CLOSE when the socket table then held a
    /// TIME_WAIT entry for the same pair: the kernel moves TIME_WAIT into a small
    /// socket of its own without `tcp_set_state`, so the tracepoint never says it.
    pub time_wait_follows: bool,
}

impl From<KernelTransition> for StateChange {
    fn from(t: KernelTransition) -> Self {
        StateChange {
            ts_ns: t.ts_ns,
            local: t.local,
            remote: t.remote,
            old: Some(t.old),
            new: Some(t.new),
            time_wait_follows: false,
        }
    }
}

impl StateChange {
    /// Whether the kernel may have handed this socket over to a TIME_WAIT socket:
    /// a traced close from the states that end in TIME_WAIT when the peer's FIN
    /// arrives (the same transition ends a FIN_WAIT2 that timed out or was reset,
    /// hence the socket table is asked).
    pub fn may_enter_time_wait(&self) -> bool {
        matches!(
            (self.old, self.new),
            (
                Some(KernelState::FinWait2 | KernelState::Closing),
                Some(KernelState::Closed)
            )
        )
    }

    /// The line `serve` prints after "kernel: ", e.g.
    /// `+0.412345s  127.0.0.1:9000 <- 127.0.0.1:53122  SYN_RECEIVED -> ESTABLISHED`:
    /// the time since `t0_ns`, the socket (its own address first; `<-` for the
    /// server's side of a connection to `listen_port`, `->` for a client's), and its
    /// states by their RFC 9293 names, as everywhere in protolab.
    pub fn line(&self, listen_port: u16, t0_ns: u64) -> String {
        let since = self.ts_ns.saturating_sub(t0_ns);
        let mut line = format!(
            "+{}.{:06}s  {}  {} -> {}",
            since / 1_000_000_000,
            since % 1_000_000_000 / 1_000,
            self.socket(listen_port),
            state_name(self.old, "(new)"),
            state_name(self.new, "(gone)"),
        );
        if self.time_wait_follows {
            line.push_str(
                "  (TIME_WAIT goes on in a socket of its own: `ss -tan` lists it for 60 s)",
            );
        } else if self.local.port() == 0 {
            line.push_str("  (its port is picked next)");
        }
        line
    }

    fn socket(&self, listen_port: u16) -> String {
        let local = addr(self.local);
        if self.local.port() != listen_port {
            format!("{local} -> {}", addr(self.remote))
        } else if self.remote.port() == 0 {
            format!("{local} (listening)")
        } else {
            format!("{local} <- {}", addr(self.remote))
        }
    }
}

/// A state by the RFC 9293 name every other protolab view uses (`SYN_RECEIVED`,
/// `FIN_WAIT_1`, `CLOSED`), so serve's lines, `run`'s kernel table, `flows` and
/// `inspect` tell one story; only the kernel's own `NEW_SYN_RECV` (a request
/// socket, no RFC state) keeps its kernel name.
fn state_name(state: Option<KernelState>, none: &'static str) -> &'static str {
    state.map_or(none, |s| match s.to_rfc() {
        Some(rfc) => rfc.name(),
        None => {
            let name = s.kernel_name();
            name.strip_prefix("TCP_").unwrap_or(name)
        }
    })
}

/// An address as `netstat` shows it: port 0 (not chosen yet) as `*`.
fn addr(a: SocketAddr) -> String {
    if a.port() == 0 {
        let full = a.to_string();
        let bare = full.strip_suffix('0').unwrap_or(&full);
        format!("{bare}*")
    } else {
        a.to_string()
    }
}

/// One sample of the socket table, by connection: what two samples are compared on.
pub(crate) type Table = BTreeMap<(SocketAddr, SocketAddr), KernelState>;

/// The table of one sample. A pair listed twice (a request socket beside the full
/// socket it is becoming) keeps the later entry.
pub(crate) fn table_of(samples: &[SocketSample]) -> Table {
    samples
        .iter()
        .map(|s| ((s.local, s.remote), s.state))
        .collect()
}

/// What changed from `before` to `after` (sampled at `ts_ns`), in address order.
pub(crate) fn table_changes(before: &Table, after: &Table, ts_ns: u64) -> Vec<StateChange> {
    let change = |&(local, remote): &(SocketAddr, SocketAddr), old, new| StateChange {
        ts_ns,
        local,
        remote,
        old,
        new,
        time_wait_follows: false,
    };
    let mut out: Vec<StateChange> = after
        .iter()
        .filter(|(pair, state)| before.get(pair) != Some(state))
        .map(|(pair, &state)| change(pair, before.get(pair).copied(), Some(state)))
        .chain(
            before
                .iter()
                .filter(|(pair, _)| !after.contains_key(pair))
                .map(|(pair, &state)| change(pair, Some(state), None)),
        )
        .collect();
    out.sort_by_key(|c| (c.local, c.remote));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use KernelState::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn traced(local: &str, remote: &str, old: KernelState, new: KernelState) -> StateChange {
        StateChange {
            ts_ns: 1_000_412_345_678,
            local: sa(local),
            remote: sa(remote),
            old: Some(old),
            new: Some(new),
            time_wait_follows: false,
        }
    }

    // ---- the lines serve prints ----

    #[test]
    fn the_server_side_points_at_itself_the_client_side_at_the_server() {
        let server = traced("127.0.0.1:9000", "127.0.0.1:53122", SynRecv, Established);
        assert_eq!(
            server.line(9000, 1_000_000_000_000),
            "+0.412345s  127.0.0.1:9000 <- 127.0.0.1:53122  SYN_RECEIVED -> ESTABLISHED"
        );
        let client = traced("127.0.0.1:53122", "127.0.0.1:9000", Established, FinWait1);
        assert_eq!(
            client.line(9000, 1_000_000_000_000),
            "+0.412345s  127.0.0.1:53122 -> 127.0.0.1:9000  ESTABLISHED -> FIN_WAIT_1"
        );
    }

    #[test]
    fn a_connecting_client_has_no_port_yet_and_a_listener_no_peer() {
        let connecting = traced("127.0.0.1:0", "127.0.0.1:9000", Closed, SynSent);
        assert_eq!(
            connecting.line(9000, 1_000_412_345_678),
            "+0.000000s  127.0.0.1:* -> 127.0.0.1:9000  CLOSED -> SYN_SENT  (its port is picked next)"
        );
        let listener = traced("[::1]:9000", "[::]:0", Closed, Listen);
        assert!(listener
            .line(9000, 0)
            .ends_with("  [::1]:9000 (listening)  CLOSED -> LISTEN"));
    }

    #[test]
    fn a_traced_close_into_time_wait_says_where_time_wait_went() {
        let mut close = traced("127.0.0.1:53122", "127.0.0.1:9000", FinWait2, Closed);
        assert!(close.may_enter_time_wait());
        close.time_wait_follows = true;
        assert!(close.line(9000, 0).ends_with(
            "FIN_WAIT_2 -> CLOSED  (TIME_WAIT goes on in a socket of its own: `ss -tan` lists it for 60 s)"
        ));
        let last_ack = traced("127.0.0.1:9000", "127.0.0.1:53122", LastAck, Closed);
        assert!(!last_ack.may_enter_time_wait());
    }

    // ---- polling: changes between two samples ----

    fn table(entries: &[(&str, &str, KernelState)]) -> Table {
        entries
            .iter()
            .map(|&(l, r, s)| ((sa(l), sa(r)), s))
            .collect()
    }

    #[test]
    fn two_samples_give_new_changed_and_gone_sockets() {
        let before = table(&[
            ("127.0.0.1:9000", "0.0.0.0:0", Listen),
            ("127.0.0.1:9000", "127.0.0.1:40000", Established),
            ("127.0.0.1:9000", "127.0.0.1:40001", CloseWait),
        ]);
        let after = table(&[
            ("127.0.0.1:9000", "0.0.0.0:0", Listen),
            ("127.0.0.1:9000", "127.0.0.1:40000", CloseWait),
            ("127.0.0.1:9000", "127.0.0.1:40002", Established),
        ]);
        let lines: Vec<String> = table_changes(&before, &after, 2_000_000)
            .iter()
            .map(|c| c.line(9000, 0))
            .collect();
        assert_eq!(
            lines,
            [
                "+0.002000s  127.0.0.1:9000 <- 127.0.0.1:40000  ESTABLISHED -> CLOSE_WAIT",
                "+0.002000s  127.0.0.1:9000 <- 127.0.0.1:40001  CLOSE_WAIT -> (gone)",
                "+0.002000s  127.0.0.1:9000 <- 127.0.0.1:40002  (new) -> ESTABLISHED",
            ]
        );
        assert!(table_changes(&after, &after, 0).is_empty());
    }
}
