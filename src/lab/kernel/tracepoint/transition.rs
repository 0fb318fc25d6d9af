//! What the tracepoint tells: one state change of one socket ([`KernelTransition`]),
//! and a socket's whole life ([`SocketHistory`]) from grouping them. Pure: values
//! in, values out, tested on transitions decoded from a real kernel's records.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::lab::kernel::KernelState;

/// One state change of one socket, as the kernel's tracepoint reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelTransition {
    /// When it happened: CLOCK_REALTIME ns, the clock of pcap timestamps.
    pub ts_ns: u64,
    /// The socket's own address (port 0 on a client's CLOSE → SYN_SENT: the kernel picks
    /// the port right after).
    pub local: SocketAddr,
    /// The peer (`0.0.0.0:0` for a listener).
    pub remote: SocketAddr,
    pub old: KernelState,
    pub new: KernelState,
    /// Identifies the socket: its kernel address (`skaddr`) with [`super::TraceFormat::Raw`].
    /// The kernel reuses freed memory, so a value identifies one socket only between its
    /// creation and its transition to CLOSE ([`group_by_socket`] splits there). With
    /// [`super::TraceFormat::Text`], which does not print `skaddr`, small synthetic ids
    /// (1, 2, …) assigned from the addresses instead. Serialised as a hex string
    /// (`"0xffff888105185c80"`): JSON readers that use doubles would round it.
    #[serde(serialize_with = "serialize_sock")]
    pub sock: u64,
    /// The process in whose context the kernel made the change; often unrelated to the
    /// socket's owner when it happened in softirq (packet reception).
    pub pid: i32,
}

/// One socket's life as the tracepoint saw it: its transitions in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketHistory {
    #[serde(serialize_with = "serialize_sock")]
    pub sock: u64,
    /// The socket's address once known (the first transition may still have port 0).
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub transitions: Vec<KernelTransition>,
}

impl SocketHistory {
    /// The states in order: the first transition's old state, then every new state
    /// (e.g. `[CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE]`).
    pub fn states(&self) -> Vec<KernelState> {
        let mut out = Vec::with_capacity(self.transitions.len() + 1);
        if let Some(first) = self.transitions.first() {
            out.push(first.old);
        }
        out.extend(self.transitions.iter().map(|t| t.new));
        out
    }

    pub fn first_ns(&self) -> u64 {
        self.transitions.first().map_or(0, |t| t.ts_ns)
    }

    pub fn last_ns(&self) -> u64 {
        self.transitions.last().map_or(0, |t| t.ts_ns)
    }
}

fn serialize_sock<S: serde::Serializer>(sock: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{sock:#x}"))
}

/// Groups transitions by socket, in order of each socket's first transition. A socket's
/// history ends at its transition to CLOSE: a later transition with the same `sock` is
/// a new socket in reused memory (or a closed socket connecting again).
pub fn group_by_socket(transitions: &[KernelTransition]) -> Vec<SocketHistory> {
    let mut sorted: Vec<&KernelTransition> = transitions.iter().collect();
    sorted.sort_by_key(|t| t.ts_ns);
    let mut out: Vec<SocketHistory> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for t in sorted {
        let idx = match open.get(&t.sock) {
            Some(&i) => i,
            None => {
                out.push(SocketHistory {
                    sock: t.sock,
                    local: t.local,
                    remote: t.remote,
                    transitions: Vec::new(),
                });
                open.insert(t.sock, out.len() - 1);
                out.len() - 1
            }
        };
        let history = &mut out[idx];
        if t.local.port() != 0 {
            history.local = t.local;
            history.remote = t.remote;
        }
        history.transitions.push(t.clone());
        if t.new == KernelState::Closed {
            open.remove(&t.sock);
        }
    }
    out
}

/// Assigns synthetic socket ids to text-mode transitions (which lack `skaddr`): by
/// address pair, with the client's CLOSE → SYN_SENT (local port 0) joined to the
/// SYN_SENT → … that follows for the same peer. Ids start at 1; kernel addresses are
/// never that small, so the two kinds cannot be confused.
pub(crate) fn stitch_text_sockets(transitions: &mut [KernelTransition]) {
    let mut next_id = 1u64;
    let mut by_pair: HashMap<(SocketAddr, SocketAddr), u64> = HashMap::new();
    let mut connecting: HashMap<SocketAddr, Vec<u64>> = HashMap::new();
    for t in transitions.iter_mut() {
        let pair = (t.local, t.remote);
        let id = if t.local.port() == 0 && t.new == KernelState::SynSent {
            let id = next_id;
            next_id += 1;
            connecting.entry(t.remote).or_default().push(id);
            id
        } else if let Some(&id) = by_pair.get(&pair) {
            id
        } else if let Some(id) = (t.old == KernelState::SynSent)
            .then(|| connecting.get_mut(&t.remote).filter(|v| !v.is_empty()))
            .flatten()
            .map(|v| v.remove(0))
        {
            by_pair.insert(pair, id);
            id
        } else {
            let id = next_id;
            next_id += 1;
            by_pair.insert(pair, id);
            id
        };
        t.sock = id;
        if t.new == KernelState::Closed {
            by_pair.remove(&pair);
        }
    }
}
