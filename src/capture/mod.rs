//! Sources of frames: capture files today, live libpcap handles in the lab.
//!
//! Everything here is I/O at the edge; it hands `RawFrame`s to the pure decoder.

mod error;
mod file_reader;
mod filter;
mod live;

pub use crate::frame::{FrameRef, LinkType, RawFrame};
pub use error::CaptureError;
pub use file_reader::FileReader;
pub use filter::FrameFilter;
pub use live::{LiveCapture, LiveConfig, LiveError, LiveStats};
