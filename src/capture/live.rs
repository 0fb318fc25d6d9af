//! Live capture through libpcap: open an interface with a BPF filter, hand every
//! frame to the caller, write it to a pcap savefile, and stop cleanly.
//!
//! The handle is opened and the filter installed in `start`, before it returns, so a
//! caller that starts the capture before creating its sockets misses nothing (the
//! kernel buffers from then on). libpcap's blocking read does not return on its
//! timeout on Linux, so `stop` uses `pcap_breakloop` from another thread, then
//! flushes the savefile: the file is complete and valid whenever `stop` ran.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use pcap::{BreakLoop, Capture};

use super::{LinkType, RawFrame};

/// Errors of live capture, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "capturing on {interface} needs CAP_NET_RAW: run with sudo, or \
         `sudo setcap cap_net_raw,cap_net_admin+eip {exe}`"
    )]
    Permission { interface: String, exe: String },
    #[error(
        "no interface {interface:?} on this machine; capture on one of: {} \
         (`ip link` lists them; \"any\" sees them all)",
        known.join(", ")
    )]
    NoSuchInterface {
        interface: String,
        known: Vec<String>,
    },
    #[error("cannot capture on {interface}: {detail} (is libpcap installed? run scripts/setup)")]
    Open { interface: String, detail: String },
    #[error("cannot install capture filter {filter:?}: {detail}")]
    Filter { filter: String, detail: String },
    #[error("cannot write {}: {detail}", path.display())]
    Savefile { path: PathBuf, detail: String },
    #[error("capture on {interface} failed: {detail}")]
    Read { interface: String, detail: String },
}

/// What to capture and where to put it.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub interface: String,
    /// BPF expression (tcpdump syntax); empty captures everything.
    pub filter: String,
    pub snaplen: i32,
    /// Kernel buffer in bytes; large enough that bursts are not dropped.
    pub buffer_bytes: i32,
    /// Write every captured frame here (pcap, µs), flushed on stop.
    pub write_to: Option<PathBuf>,
    /// Stop reading after this many frames (`capture -c N`), so the savefile and
    /// the counters hold exactly the frames that were shown.
    pub max_frames: Option<u64>,
}

impl LiveConfig {
    pub fn new(interface: &str, filter: &str) -> Self {
        LiveConfig {
            interface: interface.to_string(),
            filter: filter.to_string(),
            snaplen: 262_144,
            buffer_bytes: 64 << 20,
            write_to: None,
            max_frames: None,
        }
    }
}

/// Counters at the end of a capture. On `lo` the kernel counts each packet twice in
/// `received` (both directions); `dropped` is the number that matters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LiveStats {
    pub frames: u64,
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

/// A running capture.
pub struct LiveCapture {
    interface: String,
    stop: BreakLoop,
    thread: Option<JoinHandle<Result<LiveStats, LiveError>>>,
}

impl LiveCapture {
    /// Opens `config.interface`, installs the filter, and starts reading on a thread
    /// of its own. Every frame goes to the savefile and, when given, to `frames`.
    pub fn start(config: LiveConfig, frames: Option<Sender<RawFrame>>) -> Result<Self, LiveError> {
        let interface = config.interface.clone();
        let open_error = |e: pcap::Error| {
            let detail = e.to_string();
            if detail.contains("Operation not permitted") || detail.contains("permission") {
                LiveError::Permission {
                    interface: interface.clone(),
                    exe: std::env::current_exe()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| "protolab".into()),
                }
            } else if detail.contains("No such device") || detail.contains("doesn't exist") {
                LiveError::NoSuchInterface {
                    interface: interface.clone(),
                    known: pcap::Device::list()
                        .map(|d| d.into_iter().map(|d| d.name).collect())
                        .unwrap_or_default(),
                }
            } else {
                LiveError::Open {
                    interface: interface.clone(),
                    detail,
                }
            }
        };
        let mut cap = Capture::from_device(config.interface.as_str())
            .map_err(open_error)?
            .immediate_mode(true)
            .snaplen(config.snaplen)
            .buffer_size(config.buffer_bytes)
            .open()
            .map_err(open_error)?;
        if !config.filter.is_empty() {
            cap.filter(&config.filter, true)
                .map_err(|e| LiveError::Filter {
                    filter: config.filter.clone(),
                    detail: e.to_string(),
                })?;
        }
        let mut savefile = match &config.write_to {
            Some(path) => Some(open_savefile(&cap, path)?),
            None => None,
        };
        let linktype = LinkType(cap.get_datalink().0 as u32);
        let stop = cap.breakloop_handle();
        let iface = config.interface.clone();
        let max_frames = config.max_frames;
        let thread = std::thread::Builder::new()
            .name(format!("capture-{iface}"))
            .spawn(move || {
                let mut stats = LiveStats::default();
                loop {
                    match cap.next_packet() {
                        Ok(packet) => {
                            stats.frames += 1;
                            if let Some(file) = savefile.as_mut() {
                                file.write(&packet);
                            }
                            if let Some(tx) = &frames {
                                let ts = packet.header.ts;
                                let frame = RawFrame {
                                    number: stats.frames,
                                    ts_ns: (ts.tv_sec as u64) * 1_000_000_000
                                        + (ts.tv_usec as u64) * 1_000,
                                    linktype,
                                    orig_len: packet.header.len,
                                    bytes: packet.data.to_vec(),
                                };
                                // A receiver that went away only means nobody watches live.
                                let _ = tx.send(frame);
                            }
                            if max_frames.is_some_and(|n| stats.frames >= n) {
                                break;
                            }
                        }
                        Err(pcap::Error::TimeoutExpired) => continue,
                        // pcap_breakloop makes the read return "no more packets".
                        Err(pcap::Error::NoMorePackets) => break,
                        Err(e) => {
                            return Err(LiveError::Read {
                                interface: iface.clone(),
                                detail: e.to_string(),
                            })
                        }
                    }
                }
                if let Some(file) = savefile.as_mut() {
                    file.flush().map_err(|e| LiveError::Read {
                        interface: iface.clone(),
                        detail: format!("flushing the capture file: {e}"),
                    })?;
                }
                if let Ok(s) = cap.stats() {
                    stats.received = s.received;
                    stats.dropped = s.dropped;
                    stats.if_dropped = s.if_dropped;
                }
                Ok(stats)
            })
            .map_err(|e| LiveError::Open {
                interface: config.interface.clone(),
                detail: e.to_string(),
            })?;
        Ok(LiveCapture {
            interface: config.interface,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the capture, flushes the savefile and returns the counters.
    pub fn stop(mut self) -> Result<LiveStats, LiveError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<LiveStats, LiveError> {
        let Some(thread) = self.thread.take() else {
            return Ok(LiveStats::default());
        };
        // breakloop only sets a flag; the read notices it within a few ms, but a read
        // that is blocked with nothing arriving needs a nudge, so repeat until it ends.
        while !thread.is_finished() {
            self.stop.breakloop();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        thread.join().unwrap_or_else(|_| {
            Err(LiveError::Read {
                interface: self.interface.clone(),
                detail: "capture thread panicked".into(),
            })
        })
    }
}

impl Drop for LiveCapture {
    /// Whatever path leaves the run (error, panic unwinding), the savefile is flushed.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn open_savefile(cap: &Capture<pcap::Active>, path: &Path) -> Result<pcap::Savefile, LiveError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| LiveError::Savefile {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    }
    cap.savefile(path).map_err(|e| LiveError::Savefile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}
