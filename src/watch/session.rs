//! A running watch: the live capture, the pipeline thread that analyses each
//! frame and feeds the model, the kernel's socket table for the watched ports,
//! and the HTTP server on a thread (and a tokio runtime) of its own, so it runs
//! the same under `protolab watch`, beside `serve`'s server and beside `run`.
//!
//! Threads and who waits for whom: libpcap's thread only queues frames (it never
//! waits for anything but the kernel); the pipeline thread decodes, analyses and
//! publishes into the hub (never waiting for a page); each page's stream reads
//! the hub's broadcast channel at its own pace.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::capture::{LiveCapture, LiveConfig, LiveFrames, LiveStats};
use crate::dissect::app::AppDissector;
use crate::dissect::chat::ChatDissector;
use crate::lab::kernel::{PortWatch, POLL_EVERY};
use crate::replay::{Next, Pipeline};

use super::access::Access;
use super::hub::Hub;
use super::messages;
use super::page::page;
use super::server::router;

/// The kernel's send buffer of each page's socket (accepted sockets inherit the
/// listener's; Linux doubles it for its own bookkeeping). Without it the buffer
/// autotunes up to `tcp_wmem`'s maximum (4 MiB by default), and a stalled page
/// would hold thousands of updates there before the hub's channel even noticed
/// it was behind; with it, a stalled page holds at most this much (and hyper's
/// few queued events), then skips to a snapshot. A snapshot larger than this is
/// still sent whole, in more writes.
pub const PAGE_SEND_BUFFER: usize = 64 << 10;

/// What to watch and where to serve the page.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub interface: String,
    /// BPF filter of the capture.
    pub filter: String,
    /// Ports whose sockets the kernel column follows (empty: no kernel column).
    pub kernel_ports: Vec<u16>,
    pub listen: SocketAddr,
    /// The token a request must carry (required off loopback).
    pub token: Option<String>,
    pub snaplen: i32,
}

/// A running watch; [`Session::stop`] ends it cleanly.
pub struct Session {
    url: String,
    hub: Arc<Hub>,
    kernel_note: String,
    stop: Arc<AtomicBool>,
    capture: Option<LiveCapture>,
    pipeline: Option<JoinHandle<()>>,
    kernel: Option<PortWatch>,
    server: Option<(
        tokio::sync::oneshot::Sender<()>,
        JoinHandle<std::io::Result<()>>,
    )>,
}

impl Session {
    /// Binds the page's address, starts the kernel column and the capture, then
    /// serves. Errors say what to do (a refused `--listen`, no capture privilege,
    /// an address in use).
    pub fn start(config: WatchConfig) -> anyhow::Result<Session> {
        let access = Access::for_listen(config.listen, config.token.clone())?;
        let listener = std::net::TcpListener::bind(config.listen).map_err(|e| {
            anyhow::anyhow!(
                "cannot serve the page on {}: {e} (choose another with --listen)",
                config.listen
            )
        })?;
        listener.set_nonblocking(true)?;
        socket2::SockRef::from(&listener).set_send_buffer_size(PAGE_SEND_BUFFER)?;
        let bound = listener.local_addr()?;
        let url = access.url(bound);
        let hub = Hub::new();

        // The kernel column first, so a connection made once the URL is printed is
        // seen by both witnesses.
        let (kernel, kernel_note) = start_kernel(&config.kernel_ports, &hub);
        hub.apply(|s| {
            s.set_kernel_source(kernel_note.clone());
            Vec::new()
        });

        let (tx, rx) = channel();
        let mut live = LiveConfig::new(&config.interface, &config.filter);
        live.snaplen = config.snaplen;
        let capture = LiveCapture::start(live, Some(tx))?;
        let stop = Arc::new(AtomicBool::new(false));
        let pipeline = std::thread::Builder::new()
            .name("watch-pipeline".into())
            .spawn({
                let hub = Arc::clone(&hub);
                let stop = Arc::clone(&stop);
                move || {
                    let mut pipeline = Pipeline::new();
                    let mut dissect = AppDissector::new(ChatDissector::default());
                    let mut visit =
                        |frame: crate::capture::FrameRef<'_>, packet: &_, analysis: &_| {
                            let app = dissect
                                .frame(packet, frame.bytes)
                                .map(|a| messages::lines(&a))
                                .unwrap_or_default();
                            hub.apply(|s| s.on_frame(packet, analysis, frame.bytes, app));
                            Ok::<_, std::convert::Infallible>(Next::Continue)
                        };
                    let stopped = || stop.load(Ordering::SeqCst);
                    let _ = pipeline.feed(
                        &mut LiveFrames::until(&rx, &stopped),
                        &mut visit,
                        |_| Ok(()),
                    );
                    // What the capture queued before it stopped is shown too.
                    let _ = pipeline.feed(&mut LiveFrames::draining(&rx), &mut visit, |_| Ok(()));
                }
            })?;

        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(Arc::clone(&hub), access, page());
        let server = std::thread::Builder::new()
            .name("watch-http".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = shutdown_rx.await;
                        })
                        .await
                })
            })?;
        Ok(Session {
            url,
            hub,
            kernel_note,
            stop,
            capture: Some(capture),
            pipeline: Some(pipeline),
            kernel,
            server: Some((shutdown_tx, server)),
        })
    }

    /// The page's address (with its token, when there is one).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the kernel column comes from, in a user's words.
    pub fn kernel_note(&self) -> &str {
        &self.kernel_note
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Stops capturing (flushing what was queued into the model), the kernel
    /// column, the pages' streams and the server; returns the capture's counters.
    pub fn stop(mut self) -> anyhow::Result<LiveStats> {
        self.finish()
    }

    fn finish(&mut self) -> anyhow::Result<LiveStats> {
        let stats = match self.capture.take() {
            Some(c) => c.stop()?,
            None => LiveStats::default(),
        };
        self.stop.store(true, Ordering::SeqCst);
        if let Some(p) = self.pipeline.take() {
            let _ = p.join();
        }
        if let Some(k) = self.kernel.take() {
            if let Err(e) = k.stop() {
                eprintln!("protolab: kernel: {e}");
            }
        }
        // The streams end first, so the graceful shutdown has nothing to wait for.
        self.hub.close();
        if let Some((tx, thread)) = self.server.take() {
            let _ = tx.send(());
            if let Ok(Err(e)) = thread.join() {
                return Err(e.into());
            }
        }
        Ok(stats)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The kernel column's witness for `ports`, feeding the hub, and a note on where
/// it reads from (shown on the page and on stderr).
fn start_kernel(ports: &[u16], hub: &Arc<Hub>) -> (Option<PortWatch>, String) {
    if ports.is_empty() {
        return (
            None,
            "no kernel column: the filter names no port to follow".into(),
        );
    }
    let feed = Arc::clone(hub);
    let own = own_addresses();
    let on_change = move |change: crate::lab::kernel::StateChange| {
        if in_this_namespace(&own, change.local.ip()) {
            feed.apply(|s| s.on_kernel(&change));
        }
    };
    match PortWatch::start_ports(ports, on_change) {
        Ok(watch) => {
            let note = match watch.tracepoint_error() {
                None => format!("{} (every change)", watch.witness().describe()),
                Some(_) => format!(
                    "{} polled every {} ms (short states can be missed; run as root for the tracepoint)",
                    watch.witness().describe(),
                    POLL_EVERY.as_millis()
                ),
            };
            (Some(watch), note)
        }
        Err(e) => (None, format!("no kernel column: {e}")),
    }
}

/// This network namespace's own addresses (empty when they cannot be read).
fn own_addresses() -> HashSet<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return HashSet::new();
    };
    addrs
        .filter_map(|a| a.address)
        .filter_map(|s| {
            s.as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .collect()
}

/// Whether a socket bound to `local` belongs in the kernel column. The tracepoint
/// reports every network namespace's sockets, `ss -tan` only this one's: a
/// socket on an address this namespace does not have (a `--netns` lab run's
/// 198.18.0.x) is another namespace's. Unbound and loopback addresses cannot
/// tell, and are kept.
fn in_this_namespace(own: &HashSet<IpAddr>, local: IpAddr) -> bool {
    own.is_empty() || local.is_unspecified() || local.is_loopback() || own.contains(&local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_namespaces_sockets_are_left_out_of_the_kernel_column() {
        let own: HashSet<IpAddr> = ["127.0.0.1", "10.0.2.15"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        for kept in ["127.0.0.1", "127.0.0.2", "10.0.2.15", "0.0.0.0", "::"] {
            assert!(in_this_namespace(&own, kept.parse().unwrap()), "{kept}");
        }
        assert!(!in_this_namespace(&own, "198.18.0.2".parse().unwrap()));
        assert!(in_this_namespace(
            &HashSet::new(),
            "198.18.0.2".parse().unwrap()
        ));
        assert!(own_addresses().contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
    }
}
