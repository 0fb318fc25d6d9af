//! Where the pipeline's updates meet the pages: the model behind a lock, and a
//! bounded broadcast channel of updates already serialised once for every page.
//!
//! Publishing never blocks on a page: `broadcast::Sender::send` only overwrites
//! the oldest message when the channel is full. A page whose receiver fell behind
//! gets `Lagged(n)`: it then drops what it missed and starts again from a fresh
//! snapshot (see [`Hub::subscribe`]), and `n` is added to the coalesced count it
//! shows. So one slow tab costs at most the channel's [`CAPACITY`] messages, which
//! all pages share, whatever the traffic, and its own socket's send buffer,
//! capped at [`super::session::PAGE_SEND_BUFFER`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::broadcast;

use super::state::WatchState;
use super::update::{Envelope, Update};

/// Updates kept for pages that are behind (shared by all of them).
pub const CAPACITY: usize = 1024;

/// One serialised update.
pub type Message = Arc<str>;

/// See the module documentation.
pub struct Hub {
    state: Mutex<WatchState>,
    /// `None` once the watch stopped: every page's stream then ends.
    tx: Mutex<Option<broadcast::Sender<Message>>>,
    clients: AtomicUsize,
    coalesced: AtomicU64,
}

/// What `/stats` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Event streams open now.
    pub clients: usize,
    /// Updates published so far.
    pub published: u64,
    /// Updates pages skipped because they were behind (replaced by snapshots).
    pub coalesced: u64,
    /// Frames the model has seen.
    pub frames: u64,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            state: Mutex::new(WatchState::new()),
            tx: Mutex::new(Some(broadcast::channel(CAPACITY).0)),
            clients: AtomicUsize::new(0),
            coalesced: AtomicU64::new(0),
        }
    }
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    fn state(&self) -> MutexGuard<'_, WatchState> {
        // The model has no invariant a panic elsewhere could break half-way.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the model with `f` and publishes the updates it returns, in order,
    /// numbered as the model numbered them.
    pub fn apply(&self, f: impl FnOnce(&mut WatchState) -> Vec<Update>) {
        let mut state = self.state();
        let updates = f(&mut state);
        if updates.is_empty() {
            return;
        }
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = tx.as_ref() else { return };
        let first = state.seq() + 1 - updates.len() as u64;
        for (i, update) in updates.iter().enumerate() {
            let envelope = Envelope {
                seq: first + i as u64,
                update,
            };
            let json = serde_json::to_string(&envelope).unwrap_or_default();
            // No page open is not an error: nobody is watching yet.
            let _ = tx.send(json.into());
        }
    }

    /// A new receiver and the snapshot it starts from, taken together under the
    /// model's lock, so the receiver's first update is the one after the snapshot.
    /// `None` once the watch has stopped.
    pub fn subscribe(&self, coalesced: u64) -> Option<(String, broadcast::Receiver<Message>)> {
        let state = self.state();
        let rx = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()?
            .subscribe();
        let snapshot = state.snapshot(coalesced);
        drop(state);
        Some((serde_json::to_string(&snapshot).unwrap_or_default(), rx))
    }

    /// Counts a page that skipped `n` updates.
    pub fn add_coalesced(&self, n: u64) {
        self.coalesced.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts an open event stream until the guard is dropped.
    pub fn client(self: &Arc<Self>) -> ClientGuard {
        self.clients.fetch_add(1, Ordering::SeqCst);
        ClientGuard(Arc::clone(self))
    }

    /// Ends every page's event stream (after what was published before).
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    pub fn stats(&self) -> Stats {
        let state = self.state();
        Stats {
            clients: self.clients.load(Ordering::SeqCst),
            published: state.seq(),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            frames: state.frames(),
        }
    }
}

/// An open event stream, counted in [`Stats::clients`] while it lives.
pub struct ClientGuard(Arc<Hub>);

impl ClientGuard {
    pub fn hub(&self) -> &Arc<Hub> {
        &self.0
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::kernel::{KernelState, StateChange};

    fn change(port: u16) -> StateChange {
        StateChange {
            ts_ns: 1,
            local: format!("127.0.0.1:{port}").parse().unwrap(),
            remote: "127.0.0.1:8001".parse().unwrap(),
            old: None,
            new: Some(KernelState::Established),
            time_wait_follows: false,
        }
    }

    #[test]
    fn a_receiver_gets_the_updates_after_its_snapshot_numbered_in_order() {
        let hub = Hub::new();
        hub.apply(|s| s.on_kernel(&change(1000)));
        let (snap, mut rx) = hub.subscribe(0).unwrap();
        assert!(snap.contains("\"seq\":1"), "{snap}");
        hub.apply(|s| s.on_kernel(&change(1001)));
        let msg = rx.try_recv().unwrap();
        assert!(msg.starts_with("{\"seq\":2,\"type\":\"kernel\""), "{msg}");
    }

    #[test]
    fn a_slow_receiver_lags_instead_of_holding_the_publisher() {
        let hub = Hub::new();
        let (_, mut rx) = hub.subscribe(0).unwrap();
        for port in 0..(CAPACITY as u16 + 10) {
            hub.apply(|s| s.on_kernel(&change(10000 + port)));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(10))
        ));
    }

    #[test]
    fn clients_are_counted_while_open_and_streams_end_on_close() {
        let hub = Hub::new();
        let guard = hub.client();
        assert_eq!(hub.stats().clients, 1);
        drop(guard);
        assert_eq!(hub.stats().clients, 0);
        let (_, mut rx) = hub.subscribe(0).unwrap();
        hub.close();
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        ));
        assert!(hub.subscribe(0).is_none());
    }
}
