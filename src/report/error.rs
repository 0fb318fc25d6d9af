//! `ReportError`: why a report could not be made (the CLI exits 2 with it).

use std::path::PathBuf;

/// What went wrong, with the path involved.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid JSON ({source})", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{}: no capture in this folder (expected capture.pcap, or a run.json naming the capture)",
        path.display()
    )]
    NoCapture { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Capture { path: PathBuf, message: String },
}
