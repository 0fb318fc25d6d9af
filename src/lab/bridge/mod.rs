//! The userspace link between the lab's two namespaces: forwards
//! Ethernet frames between the two root-side veth ends through the seeded
//! impairment model, one model per direction, and records what it saw.
//!
//! The kernel here has no netem, so loss, delay, jitter, reordering,
//! duplication, corruption and rate limits all happen in this bridge.
//!
//! - [`port`] opens an AF_PACKET socket on a veth end (PACKET_IGNORE_OUTGOING, 64 KiB).
//! - [`forward`] runs one direction: receive → decide → send now or later.
//! - [`recorder`] numbers and writes the frames into a pcapng capture with comments.
//! - [`pcapng_writer`] the file format.
//! - [`fin_echo`] a delayed duplicate of the server's FIN, made to order (`time-wait-rst`).

pub mod fin_echo;
pub mod forward;
pub mod pcapng_writer;
pub mod port;
pub mod recorder;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use serde::Serialize;

pub use forward::{Clock, DirectionReport};
pub use recorder::{Action, FrameNote};

use crate::capture::RawFrame;
use crate::lab::impair::{direction_seed, ImpairConfig, Impairment};

/// Where the link record of capture `path` goes: `capture.pcapng` →
/// `capture.link.pcapng`, beside it.
pub fn link_record_path(path: &std::path::Path) -> PathBuf {
    path.with_extension("link.pcapng")
}

/// Which way a frame crosses the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client→server",
            Direction::ServerToClient => "server→client",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }
}

/// What the bridge connects and how.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Root-side veth end of the client's namespace.
    pub client_if: String,
    pub server_if: String,
    /// Impairments applied to client→server frames and server→client frames.
    /// Their `seed` fields are ignored: both come from `seed`.
    pub c2s: ImpairConfig,
    pub s2c: ImpairConfig,
    pub seed: u64,
    /// Write the client's view of the link to this pcapng file, and every
    /// frame the bridge saw to the link record beside it ([`link_record_path`]).
    pub capture: Option<PathBuf>,
    /// Bytes kept per frame in the capture (all when `None`).
    pub snaplen: Option<usize>,
    /// Drop every client→server TCP segment whatever the impairment says, as a
    /// firewall's DROP rule would; ARP and the rest pass, so the client resolves the
    /// server for real and its SYNs go unanswered (`connect-timeout`). Recorded as
    /// dropped, like a lost frame.
    pub drop_tcp_to_server: bool,
    /// Keep a copy of the server's first FIN and send it to the client again once
    /// the client's ACK of it has been forwarded to the server: a delayed
    /// duplicate, which the client's TIME_WAIT must answer (`time-wait-rst`).
    /// Recorded as duplicated.
    pub echo_server_fin: bool,
}

/// Why the bridge could not start.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Port(#[from] port::PortError),
    #[error("cannot write the capture {}: {source}", path.display())]
    Capture {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the bridge did, for bridge.json and the reports.
#[derive(Debug, Clone, Serialize)]
pub struct BridgeReport {
    pub seed: u64,
    pub client_to_server: DirectionReport,
    pub server_to_client: DirectionReport,
    /// Frames in the run's capture (the client's view).
    pub frames_recorded: u64,
    /// Frames in the link record (everything the bridge received).
    pub link_frames: u64,
    /// Capture frames the bridge dropped, duplicated, corrupted or reordered.
    pub notes: Vec<FrameNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_error: Option<String>,
}

impl BridgeReport {
    /// Frames the bridge received, both directions.
    pub fn frames(&self) -> u64 {
        self.client_to_server.stats.frames + self.server_to_client.stats.frames
    }

    /// Frames the bridge dropped, both directions.
    pub fn dropped(&self) -> u64 {
        self.client_to_server.stats.dropped + self.server_to_client.stats.dropped
    }

    /// Loss measured at the bridge over both directions, 0-100.
    pub fn loss_percent(&self) -> f64 {
        match self.frames() {
            0 => 0.0,
            frames => self.dropped() as f64 * 100.0 / frames as f64,
        }
    }
}

/// A running bridge.
pub struct Bridge {
    stop: Arc<AtomicBool>,
    c2s: forward::Forwarder,
    s2c: forward::Forwarder,
    recorder: Option<std::thread::JoinHandle<recorder::Recorded>>,
    seed: u64,
}

impl Bridge {
    /// Opens both ports and the capture, then starts forwarding. `tap` receives
    /// every recorded frame as well (e.g. for a live watcher).
    pub fn start(
        config: &BridgeConfig,
        tap: Option<Sender<RawFrame>>,
    ) -> Result<Bridge, BridgeError> {
        let client = Arc::new(port::open(&config.client_if)?);
        let server = Arc::new(port::open(&config.server_if)?);
        let clock = Clock::new();
        let stop = Arc::new(AtomicBool::new(false));
        let wants_record = config.capture.is_some() || tap.is_some();
        let (record_tx, recorder) = if wants_record {
            let sinks = recorder::Sinks {
                files: config.capture.clone().map(|p| {
                    let link = link_record_path(&p);
                    (p, link, config.snaplen)
                }),
                tap,
            };
            let run = recorder::open(
                sinks,
                &format!("{}<->{}", config.client_if, config.server_if),
            )
            .map_err(|source| BridgeError::Capture {
                path: config.capture.clone().unwrap_or_default(),
                source,
            })?;
            let (tx, rx) = channel();
            let handle = std::thread::Builder::new()
                .name("bridge-recorder".into())
                .spawn(move || run(rx))
                .expect("spawn bridge recorder");
            (Some(tx), Some(handle))
        } else {
            (None, None)
        };
        let model = |cfg: &ImpairConfig, direction: u64| {
            Impairment::new(ImpairConfig {
                seed: direction_seed(config.seed, direction),
                ..cfg.clone()
            })
        };
        let echo = config
            .echo_server_fin
            .then(|| Arc::new(fin_echo::FinEcho::new()));
        // Server→client first: the client→server side hands it the FIN's copy.
        let s2c = forward::Forwarder::start(
            Direction::ServerToClient,
            clock,
            Arc::clone(&server),
            Arc::clone(&client),
            forward::Rules {
                model: model(&config.s2c, 1),
                drop_tcp: false,
                echo: echo.clone().map(forward::Echo::Keep),
            },
            record_tx.clone(),
            Arc::clone(&stop),
        );
        let c2s = forward::Forwarder::start(
            Direction::ClientToServer,
            clock,
            client,
            server,
            forward::Rules {
                model: model(&config.c2s, 0),
                drop_tcp: config.drop_tcp_to_server,
                echo: echo.map(|e| forward::Echo::Release(e, s2c.inlet(config.s2c.delay_ns))),
            },
            record_tx,
            Arc::clone(&stop),
        );
        Ok(Bridge {
            stop,
            c2s,
            s2c,
            recorder,
            seed: config.seed,
        })
    }

    /// Stops forwarding (frames still in the delay line are let out first),
    /// flushes the capture and reports.
    pub fn stop(self) -> BridgeReport {
        self.stop.store(true, Ordering::Relaxed);
        let client_to_server = self.c2s.finish();
        let server_to_client = self.s2c.finish();
        // Both forwarders dropped their recorder senders: the recorder drains and ends.
        let recorded = self
            .recorder
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        BridgeReport {
            seed: self.seed,
            client_to_server,
            server_to_client,
            frames_recorded: recorded.frames,
            link_frames: recorded.link_frames,
            notes: recorded.notes,
            capture_error: recorded.error,
        }
    }
}
