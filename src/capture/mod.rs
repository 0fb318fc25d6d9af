//! Sources of frames: capture files and live libpcap handles, both a
//! [`FrameSource`] that the one replay loop ([`crate::replay`]) reads.
//!
//! Everything here is I/O at the edge; it hands frames ([`crate::frame`]) to the
//! pure decoder.

mod error;
mod file_reader;
mod filter;
mod live;
mod source;

pub use crate::frame::{FrameRef, LinkType, RawFrame};
pub use error::CaptureError;
pub use file_reader::FileReader;
pub use filter::FrameFilter;
pub use live::{LiveCapture, LiveConfig, LiveError, LiveStats};
pub use source::{FrameSource, LiveFrames};
