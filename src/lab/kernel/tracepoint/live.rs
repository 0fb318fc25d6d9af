//! A live session's transitions, handed out as the reader reads them: what
//! `protolab serve` prints while it runs, where a lab run waits for the end.
//! The receiving side of the reader's channel, with the session's clock mapping
//! and port filter applied, so a consumer gets the same [`KernelTransition`]s
//! that [`super::TracepointSession::stop`] would have returned, only one at a time.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::clock::ClockMap;
use super::record::TraceRecord;
use super::transition::KernelTransition;
use crate::lab::kernel::port_matches;

/// The transitions of a session started with
/// [`super::TracepointSession::start_live`], in the order the reader read them
/// (each CPU's records in time order; two CPUs' records may interleave slightly
/// out of order, by at most the reader's poll interval).
///
/// Iterating blocks until the next transition and ends once the session has
/// stopped and everything it read has been handed out. With
/// [`super::TraceFormat::Text`], [`KernelTransition::sock`] is 0: the text has
/// no `skaddr`, and live transitions cannot wait to be stitched into sockets.
pub struct LiveTransitions {
    rx: Receiver<TraceRecord>,
    clock: ClockMap,
    ports: Vec<u16>,
}

impl std::fmt::Debug for LiveTransitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTransitions")
            .field("ports", &self.ports)
            .finish()
    }
}

impl LiveTransitions {
    pub(super) fn new(rx: Receiver<TraceRecord>, clock: ClockMap, ports: Vec<u16>) -> Self {
        LiveTransitions { rx, clock, ports }
    }

    /// The next transition within `timeout`. `Disconnected` once the session has
    /// stopped and every transition it read has been handed out.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<KernelTransition, RecvTimeoutError> {
        loop {
            let record = self.rx.recv_timeout(timeout)?;
            if let Some(t) = self.transition(record) {
                return Ok(t);
            }
        }
    }

    /// The record in wall-clock time, if it belongs to the session's ports (the
    /// kernel's filter already keeps others out; this is the same second check
    /// `stop` makes).
    fn transition(&self, r: TraceRecord) -> Option<KernelTransition> {
        port_matches(&self.ports, &r.local, &r.remote).then(|| r.into_transition(self.clock))
    }
}

impl Iterator for LiveTransitions {
    type Item = KernelTransition;

    fn next(&mut self) -> Option<KernelTransition> {
        loop {
            let record = self.rx.recv().ok()?;
            if let Some(t) = self.transition(record) {
                return Some(t);
            }
        }
    }
}
