//! What the socket table showed over time, folded: one [`SocketTimeline`] per socket
//! and state, with when samples first and last saw it there, so memory grows with
//! the changes, not with the samples. Pure: samples in, timelines out.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use serde::Serialize;

use super::{KernelState, SocketSample};

/// One socket in one state over consecutive samples: when it was first and last seen
/// so. The time in the state lies between `last_seen_ns - first_seen_ns` and
/// `ended_ns - first_seen_ns` (± one interval at the start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketTimeline {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: KernelState,
    /// First sample that saw it in this state (CLOCK_REALTIME ns).
    pub first_seen_ns: u64,
    /// Last sample that saw it in this state.
    pub last_seen_ns: u64,
    /// First sample where it was gone or in another state; `None` if it was still
    /// there when sampling stopped.
    pub ended_ns: Option<u64>,
    /// How many samples saw it in this state.
    pub samples: u32,
    /// Inode at the last sample (0 for TIME_WAIT and orphaned sockets).
    pub inode: u32,
    /// The kernel's socket cookie (0 from `/proc`), see [`SocketSample::cookie`].
    pub cookie: u64,
    /// The largest receive and send queues seen.
    pub max_recv_q: u32,
    pub max_send_q: u32,
    /// `"sock_diag"` or `"proc"`.
    pub source: &'static str,
}

impl SocketTimeline {
    /// How long samples saw it in this state (a lower bound of the real duration).
    pub fn seen_for_ns(&self) -> u64 {
        self.last_seen_ns.saturating_sub(self.first_seen_ns)
    }
}

/// A socket in a state; the cookie keeps a reused 4-tuple's sockets apart.
type TimelineKey = (SocketAddr, SocketAddr, KernelState, u64);

/// Folds consecutive samples into timelines: only changes cost memory.
#[derive(Debug, Default)]
pub(crate) struct TimelineBuilder {
    open: HashMap<TimelineKey, SocketTimeline>,
    done: Vec<SocketTimeline>,
}

impl TimelineBuilder {
    /// Records one complete sample taken at `ts_ns`: sockets not in it have ended.
    pub fn observe(&mut self, ts_ns: u64, samples: &[SocketSample]) {
        let mut present: HashSet<TimelineKey> = HashSet::with_capacity(samples.len());
        for s in samples {
            let key = (s.local, s.remote, s.state, s.cookie);
            present.insert(key);
            self.open
                .entry(key)
                .and_modify(|t| {
                    t.last_seen_ns = ts_ns;
                    t.samples += 1;
                    t.inode = s.inode;
                    t.max_recv_q = t.max_recv_q.max(s.recv_q);
                    t.max_send_q = t.max_send_q.max(s.send_q);
                })
                .or_insert_with(|| SocketTimeline {
                    local: s.local,
                    remote: s.remote,
                    state: s.state,
                    first_seen_ns: ts_ns,
                    last_seen_ns: ts_ns,
                    ended_ns: None,
                    samples: 1,
                    inode: s.inode,
                    cookie: s.cookie,
                    max_recv_q: s.recv_q,
                    max_send_q: s.send_q,
                    source: s.source,
                });
        }
        if present.len() != self.open.len() {
            let gone: Vec<TimelineKey> = self
                .open
                .keys()
                .filter(|k| !present.contains(k))
                .copied()
                .collect();
            for key in gone {
                if let Some(mut t) = self.open.remove(&key) {
                    t.ended_ns = Some(ts_ns);
                    self.done.push(t);
                }
            }
        }
    }

    /// All timelines, ended or not, in order of first sighting.
    pub fn finish(mut self) -> Vec<SocketTimeline> {
        self.done.extend(self.open.into_values());
        self.done.sort_by(|a, b| {
            (a.first_seen_ns, a.local, a.remote, a.state, a.cookie).cmp(&(
                b.first_seen_ns,
                b.local,
                b.remote,
                b.state,
                b.cookie,
            ))
        });
        self.done
    }
}
