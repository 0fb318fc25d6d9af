//! A capture file or a run folder read into a [`ReportInput`]: the capture
//! replayed for the charts and the chat list, its SHA-256, and run.json,
//! kernel.json and bridge.json when a run wrote them.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::capture::load_capture;
use crate::capture::{CaptureError, FileReader};
use crate::chart::CaptureData;
use crate::dissect::app::AppDissector;
use crate::dissect::chat::{ChatDissector, ChatEvent};
use crate::dissect::http2::streams::Http2Stream;
use crate::model::tcp_dynamics::KernelTcp;
use crate::replay::{replay_borrowed, Next};
use crate::report::input::{
    parse_dropped_frames, parse_kernel_json, parse_kernel_tcp, ReportInput, RunInfo,
    MAX_CHAT_EVENTS,
};
use crate::report::ReportError;

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
    let mut kernel_tcp = None;
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
            kernel_tcp = kernel_tcp_of(&text);
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
    let (chat, app, http2_streams) =
        app_events(&capture_path, &data).map_err(|e| ReportError::Capture {
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
        kernel_tcp,
        chat,
        app,
        http2_streams,
        dropped_frames,
    })
}

/// kernel.json's congestion-control sections; `None` for a kernel.json from
/// before they existed (neither traced nor said why not).
fn kernel_tcp_of(text: &str) -> Option<KernelTcp> {
    parse_kernel_tcp(text)
        .ok()
        .filter(|t| t.tcp_trace.traced || t.tcp_trace.unavailable.is_some())
}

/// The kernel's congestion control of a run, from the kernel.json beside its
/// `capture.pcapng` (for `chart --kind window` on a run's capture).
pub fn kernel_tcp_beside(capture: &Path) -> Option<KernelTcp> {
    if capture.file_name().is_none_or(|n| n != "capture.pcapng") {
        return None;
    }
    let text = std::fs::read_to_string(capture.parent()?.join("kernel.json")).ok()?;
    kernel_tcp_of(&text)
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

/// The chat messages of the capture, on the chat port or found off it, the
/// HTTP messages and the HTTP/2 streams (a second pass over the file, only when
/// some TCP connection carried data).
type Events = (Vec<ChatEvent>, Vec<ChatEvent>, Vec<Http2Stream>);
fn app_events(path: &Path, data: &CaptureData) -> Result<Events, CaptureError> {
    let mut dissector = ChatDissector::default();
    let mut http = AppDissector::new(ChatDissector::default().ports_only());
    let mut app = Vec::new();
    if !data
        .flows
        .iter()
        .any(|f| f.proto == "tcp" && f.bytes.client + f.bytes.server > 0)
    {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let mut reader = FileReader::open(path)?;
    let mut events = Vec::new();
    replay_borrowed(
        &mut reader,
        |frame, p, a| -> Result<Next, CaptureError> {
            events.extend(dissector.events(p, frame.bytes, a.flow));
            if app.len() < MAX_CHAT_EVENTS {
                app.extend(http.http_events(p, frame.bytes, a.flow));
            }
            Ok(
                if events.len() >= MAX_CHAT_EVENTS && app.len() >= MAX_CHAT_EVENTS {
                    Next::Stop
                } else {
                    Next::Continue
                },
            )
        },
        |_| Ok(()),
    )?;
    events.truncate(MAX_CHAT_EVENTS);
    app.truncate(MAX_CHAT_EVENTS);
    Ok((events, app, http.http2_streams()))
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
