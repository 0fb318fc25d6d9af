//! What can go wrong reading a capture, with the numbers a user needs to act on it.

use std::path::PathBuf;

use crate::output::words::plural;

/// "the 3 whole frames before it were read", with "frame" and "was" for one.
fn read_before(frames: u64) -> String {
    let verb = if frames == 1 { "was" } else { "were" };
    format!(
        "the {} before it {verb} read",
        plural(frames, "whole frame", "whole frames")
    )
}

/// Errors from opening or reading a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is empty: a capture file starts with a pcap or pcapng header")]
    Empty { path: PathBuf },
    #[error(
        "{path} is not a pcap or pcapng file (it starts with {magic}); \
         convert it with `editcap -F pcap IN OUT` or check the path"
    )]
    NotACapture { path: PathBuf, magic: String },
    #[error(
        "{path} is cut short inside its file header (only {}): it holds no \
         frames; copy the capture again, or check the path",
        plural(*.have, "byte", "bytes")
    )]
    HeaderCut { path: PathBuf, have: usize },
    #[error(
        "{path} is truncated: the record after frame {after_frame} is cut short \
         (the writer was probably killed); {}",
        read_before(*.after_frame)
    )]
    Truncated { path: PathBuf, after_frame: u64 },
    #[error(
        "{path} is corrupt after frame {after_frame}: {detail}; {}",
        read_before(*.after_frame)
    )]
    Corrupt {
        path: PathBuf,
        after_frame: u64,
        detail: String,
    },
    #[error(
        "{path}: frame {frame} names interface {interface}, but the file describes only {known}"
    )]
    UnknownInterface {
        path: PathBuf,
        frame: u64,
        interface: u32,
        known: usize,
    },
    #[error("cannot compile filter {filter:?}: {detail}")]
    Filter { filter: String, detail: String },
}
