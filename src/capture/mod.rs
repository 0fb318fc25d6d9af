//! Sources of frames: capture files today, live libpcap handles in the lab.
//!
//! Everything here is I/O at the edge; it hands `RawFrame`s to the pure decoder.

mod error;
mod file_reader;
mod filter;
mod link_type;
mod live;
mod raw_frame;

pub use error::CaptureError;
pub use file_reader::{FileReader, FrameRef};
pub use filter::FrameFilter;
pub use link_type::LinkType;
pub use live::{LiveCapture, LiveConfig, LiveError, LiveStats};
pub use raw_frame::RawFrame;
