//! A frame lent out of a source's buffer: a [`RawFrame`] without the copy.
//!
//! A capture file's reader lends each frame straight out of its mapped pages, so
//! the replay loop decodes and analyses it without copying a byte.

use super::{LinkType, RawFrame};

/// A frame borrowed from a reader's buffer: a [`RawFrame`] without the copy.
#[derive(Debug, Clone, Copy)]
pub struct FrameRef<'a> {
    pub number: u64,
    pub ts_ns: u64,
    pub linktype: LinkType,
    pub orig_len: u32,
    pub bytes: &'a [u8],
}

impl<'a> FrameRef<'a> {
    /// Lends `frame` out as a borrowed frame.
    #[inline]
    pub fn of(frame: &'a RawFrame) -> Self {
        FrameRef {
            number: frame.number,
            ts_ns: frame.ts_ns,
            linktype: frame.linktype,
            orig_len: frame.orig_len,
            bytes: &frame.bytes,
        }
    }

    /// Copies the frame into `frame`, reusing its buffer.
    pub fn copy_into(&self, frame: &mut RawFrame) {
        frame.number = self.number;
        frame.ts_ns = self.ts_ns;
        frame.linktype = self.linktype;
        frame.orig_len = self.orig_len;
        frame.bytes.clear();
        frame.bytes.extend_from_slice(self.bytes);
    }
}
