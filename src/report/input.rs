//! What a report is made from: the capture (decoded and analysed by the chart
//! module's loader), its SHA-256, and — for a run folder — what was run and what
//! the kernel said, and the chat messages of chat connections. The only module of
//! `report` that reads files.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ReportError;
use crate::analyze::TcpState;
use crate::capture::{CaptureError, FileReader};
use crate::chart::{load_capture, CaptureData};
use crate::dissect::chat::{ChatDissector, ChatEvent};
use crate::lab::kernel_compare::{ConnectionComparison, EndpointComparison, KernelComparison, Row};
use crate::replay::{replay, Next};

/// What `protolab run` recorded in run.json that the report shows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    pub run_id: Option<String>,
    pub scenario: String,
    /// The command line that reproduces the run.
    pub command: String,
    pub notes: Vec<String>,
    pub expectation_met: Option<bool>,
    pub mismatches: Vec<String>,
    /// The capture path as run.json names it.
    pub capture: Option<String>,
}

/// Everything a report is made from.
#[derive(Debug)]
pub struct ReportInput {
    /// The capture as the user named it (shown in the report).
    pub capture_path: PathBuf,
    /// The run folder the report was made from, as the user named it; `None` for a
    /// capture file. A run's capture may live elsewhere (`captures/<run id>.pcap`).
    pub run_dir: Option<PathBuf>,
    /// Lower-case hex SHA-256 of the capture file.
    pub capture_sha256: String,
    pub data: CaptureData,
    pub run: Option<RunInfo>,
    pub kernel: Option<KernelComparison>,
    /// Chat messages of connections on the chat port, in capture order (empty when none).
    pub chat: Vec<ChatEvent>,
    /// Frames of the capture the lab's bridge dropped (a `--netns` run's
    /// bridge.json), sorted; empty otherwise.
    pub dropped_frames: Vec<u64>,
}

/// Loads a capture FILE, or a RUN_DIR written by `protolab run` (capture.pcap,
/// run.json, kernel.json), or a `reports/<run-id>/` folder whose run.json names the
/// capture.
pub fn load_input(path: &Path) -> Result<ReportInput, ReportError> {
    let read_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ReportError::Read { path: p, source }
    };
    let meta = std::fs::metadata(path).map_err(read_err(path))?;
    let mut dropped_frames = Vec::new();
    let (capture_path, run, kernel) = if meta.is_dir() {
        let run_json = path.join("run.json");
        let run: Option<RunInfo> = if run_json.exists() {
            let text = std::fs::read_to_string(&run_json).map_err(read_err(&run_json))?;
            Some(
                serde_json::from_str(&text).map_err(|source| ReportError::Json {
                    path: run_json.clone(),
                    source,
                })?,
            )
        } else {
            None
        };
        let capture = find_capture(path, run.as_ref())?;
        let kernel_json = path.join("kernel.json");
        let kernel = if kernel_json.exists() {
            let text = std::fs::read_to_string(&kernel_json).map_err(read_err(&kernel_json))?;
            parse_kernel_json(&text).map_err(|source| ReportError::Json {
                path: kernel_json.clone(),
                source,
            })?
        } else {
            None
        };
        // A `--netns` run: the frames the bridge dropped, to mark on the ladders.
        let bridge_json = path.join("bridge.json");
        if bridge_json.exists() {
            let text = std::fs::read_to_string(&bridge_json).map_err(read_err(&bridge_json))?;
            dropped_frames = parse_dropped_frames(&text).map_err(|source| ReportError::Json {
                path: bridge_json.clone(),
                source,
            })?;
        }
        (capture, run, kernel)
    } else {
        (path.to_path_buf(), None, None)
    };
    let capture_sha256 = sha256_file(&capture_path)?;
    let data = load_capture(&capture_path).map_err(|e| ReportError::Capture {
        path: capture_path.clone(),
        message: e.to_string(),
    })?;
    let chat = chat_events(&capture_path, &data).map_err(|e| ReportError::Capture {
        path: capture_path.clone(),
        message: e.to_string(),
    })?;
    Ok(ReportInput {
        capture_path,
        run_dir: meta.is_dir().then(|| path.to_path_buf()),
        capture_sha256,
        data,
        run,
        kernel,
        chat,
        dropped_frames,
    })
}

/// The dropped frames of a `--netns` run's capture, from the bridge.json in the
/// same folder when the capture is that run's `capture.pcapng`; empty otherwise.
pub fn dropped_frames_beside(capture: &Path) -> Vec<u64> {
    if capture.file_name().is_none_or(|n| n != "capture.pcapng") {
        return Vec::new();
    }
    capture
        .parent()
        .map(|dir| dir.join("bridge.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| parse_dropped_frames(&text).ok())
        .unwrap_or_default()
}

/// The capture frames bridge.json notes as dropped, sorted.
fn parse_dropped_frames(text: &str) -> Result<Vec<u64>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Note {
        frame: Option<u64>,
        #[serde(default)]
        actions: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Bridge {
        #[serde(default)]
        notes: Vec<Note>,
    }
    let bridge: Bridge = serde_json::from_str(text)?;
    let mut frames: Vec<u64> = bridge
        .notes
        .into_iter()
        .filter(|n| n.actions.iter().any(|a| a == "dropped"))
        .filter_map(|n| n.frame)
        .collect();
    frames.sort_unstable();
    Ok(frames)
}

/// Most chat messages the report lists.
pub const MAX_CHAT_EVENTS: usize = 2000;

/// The chat messages of the capture, on the chat port or found off it (a second
/// pass over the file, only when some TCP connection carried data).
fn chat_events(path: &Path, data: &CaptureData) -> Result<Vec<ChatEvent>, CaptureError> {
    let mut dissector = ChatDissector::default();
    if !data
        .flows
        .iter()
        .any(|f| f.proto == "tcp" && f.bytes.client + f.bytes.server > 0)
    {
        return Ok(Vec::new());
    }
    let mut reader = FileReader::open(path)?;
    let mut events = Vec::new();
    replay(
        &mut reader,
        |raw, p, a| -> Result<Next, CaptureError> {
            events.extend(dissector.events(p, &raw.bytes, a.flow));
            Ok(if events.len() >= MAX_CHAT_EVENTS {
                Next::Stop
            } else {
                Next::Continue
            })
        },
        |_| Ok(()),
    )?;
    events.truncate(MAX_CHAT_EVENTS);
    Ok(events)
}

/// capture.pcap in the folder, else the file run.json names (as written, or by its
/// name inside the folder when the run was made from another directory).
fn find_capture(dir: &Path, run: Option<&RunInfo>) -> Result<PathBuf, ReportError> {
    for name in ["capture.pcap", "capture.pcapng"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(named) = run.and_then(|r| r.capture.as_deref()) {
        let named = Path::new(named);
        if named.is_file() {
            return Ok(named.to_path_buf());
        }
        if let Some(name) = named.file_name() {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(ReportError::NoCapture {
        path: dir.to_path_buf(),
    })
}

/// SHA-256 of a file, read in blocks (captures can be hundreds of megabytes).
pub fn sha256_file(path: &Path) -> Result<String, ReportError> {
    sha256_hex(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Lower-case hex SHA-256 of a file, read in 64 KiB blocks.
pub fn sha256_hex(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

// kernel.json's "comparison", read back. `KernelComparison` is written by the lab
// (Serialize only, with `&'static str` endpoint names), so it is mirrored here.

#[derive(Deserialize)]
struct KernelFile {
    comparison: Option<ComparisonIn>,
}

#[derive(Deserialize)]
struct ComparisonIn {
    #[serde(default)]
    source: String,
    #[serde(default)]
    connections: Vec<ConnectionIn>,
    #[serde(default)]
    agree: bool,
    #[serde(default)]
    unavailable: Option<String>,
}

#[derive(Deserialize)]
struct ConnectionIn {
    flow: u64,
    client: EndpointIn,
    server: EndpointIn,
}

#[derive(Deserialize)]
struct EndpointIn {
    endpoint: String,
    local: SocketAddr,
    rows: Vec<RowIn>,
    agree: bool,
}

#[derive(Deserialize)]
struct RowIn {
    inferred: Option<String>,
    frame: Option<u64>,
    kernel: Option<String>,
    offset_us: Option<i64>,
    agree: bool,
}

fn state(name: Option<String>) -> Option<TcpState> {
    name.as_deref().and_then(TcpState::from_name)
}

fn endpoint(e: EndpointIn) -> EndpointComparison {
    EndpointComparison {
        endpoint: if e.endpoint == "server" {
            "server"
        } else {
            "client"
        },
        local: e.local,
        rows: e
            .rows
            .into_iter()
            .map(|r| Row {
                inferred: state(r.inferred),
                frame: r.frame,
                kernel: state(r.kernel),
                offset_us: r.offset_us,
                agree: r.agree,
            })
            .collect(),
        agree: e.agree,
    }
}

/// The `comparison` object of a run's kernel.json, if it has one.
pub fn parse_kernel_json(text: &str) -> Result<Option<KernelComparison>, serde_json::Error> {
    let file: KernelFile = serde_json::from_str(text)?;
    Ok(file.comparison.map(|c| KernelComparison {
        source: c.source,
        connections: c
            .connections
            .into_iter()
            .map(|c| ConnectionComparison {
                flow: c.flow,
                client: endpoint(c.client),
                server: endpoint(c.server),
            })
            .collect(),
        agree: c.agree,
        unavailable: c.unavailable,
    }))
}

#[cfg(test)]
mod dropped_tests {
    use super::parse_dropped_frames;

    #[test]
    fn only_dropped_frames_of_the_capture_sorted() {
        let text = r#"{"seed": 7, "notes": [
            {"frame": 40, "link_frame": 41, "ts_ns": 1, "direction": "client_to_server", "index": 20, "actions": ["dropped"]},
            {"frame": null, "link_frame": 12, "ts_ns": 1, "direction": "server_to_client", "index": 5, "actions": ["dropped"]},
            {"frame": 9, "link_frame": 9, "ts_ns": 1, "direction": "client_to_server", "index": 4, "actions": ["dropped"]},
            {"frame": 30, "link_frame": 30, "ts_ns": 1, "direction": "client_to_server", "index": 15, "actions": ["duplicated"]}
        ]}"#;
        assert_eq!(parse_dropped_frames(text).unwrap(), vec![9, 40]);
        assert!(parse_dropped_frames("{").is_err());
    }
}
