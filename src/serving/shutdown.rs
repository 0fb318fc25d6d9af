//! The signal that tells a server to stop: it stops accepting, closes its
//! connections and returns (mini-redis style: a server is handed its listener and
//! its shutdown signal, which is what makes it testable).

use tokio::sync::watch;

/// Tells a server to stop: it stops accepting, closes its connections and returns.
///
/// Built on a `watch` channel: the server stops when the value becomes `true`
/// or when the sender is dropped.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: Option<watch::Receiver<bool>>,
}

impl Shutdown {
    /// A sender (send `true` to stop) and the signal to hand to a server.
    pub fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown { rx: Some(rx) })
    }

    /// A signal that never fires.
    pub fn never() -> Shutdown {
        Shutdown { rx: None }
    }

    /// Whether shutdown was requested already.
    pub fn is_requested(&self) -> bool {
        self.rx
            .as_ref()
            .is_some_and(|rx| *rx.borrow() || rx.has_changed().is_err())
    }

    /// Resolves once shutdown is requested.
    pub async fn requested(&mut self) {
        match &mut self.rx {
            // An error means the sender is gone: nobody can ever tell us to go on.
            Some(rx) => drop(rx.wait_for(|stop| *stop).await),
            None => std::future::pending().await,
        }
    }
}

impl From<watch::Receiver<bool>> for Shutdown {
    fn from(rx: watch::Receiver<bool>) -> Self {
        Shutdown { rx: Some(rx) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_fires_on_send_and_on_drop() {
        let (tx, sd) = Shutdown::channel();
        assert!(!sd.is_requested());
        tx.send_replace(true);
        assert!(sd.is_requested());
        let (tx, sd) = Shutdown::channel();
        drop(tx);
        assert!(sd.is_requested());
        assert!(!Shutdown::never().is_requested());
    }
}
