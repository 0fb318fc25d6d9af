//! The frame every source yields and the decoder reads: captured bytes, when they
//! were captured, how long the frame was on the wire, and its link-layer type.
//!
//! Plain data, below `decode`: a live capture and a capture file both produce these,
//! so every analysis can be replayed from a committed capture without privileges.

mod frame_ref;
mod link_type;
mod raw_frame;

pub use frame_ref::FrameRef;
pub use link_type::LinkType;
pub use raw_frame::RawFrame;
