//! The one frame type every source produces: bytes as captured, with when and how long.
//!
//! Live capture and file reading both yield `RawFrame`s, so every analysis can be
//! replayed from a committed capture without privileges.

use super::LinkType;

/// One captured frame, owned, exactly as the source delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// 1-based position in the capture (Wireshark's frame number).
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// How to interpret the first byte of `bytes`.
    pub linktype: LinkType,
    /// Length of the frame on the wire; `bytes.len()` is smaller when snaplen cut it.
    pub orig_len: u32,
    /// The captured bytes (`caplen` of them).
    pub bytes: Vec<u8>,
}

impl RawFrame {
    /// No bytes, frame 0: a buffer for a reader to fill.
    pub fn empty() -> Self {
        RawFrame {
            number: 0,
            ts_ns: 0,
            linktype: LinkType::ETHERNET,
            orig_len: 0,
            bytes: Vec::new(),
        }
    }

    /// Number of bytes captured.
    pub fn caplen(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// True when the capture kept fewer bytes than were on the wire (snaplen).
    pub fn is_truncated(&self) -> bool {
        (self.bytes.len() as u64) < u64::from(self.orig_len)
    }
}
