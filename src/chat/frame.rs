//! The chat's framing: every message travels as a 4-byte big-endian length
//! followed by that many bytes of JSON, exactly as the notes send `pkgLen` and
//! then the marshalled `Message`.
//!
//! TCP is a byte stream, so a reader cannot know where one message ends without
//! such a length: one `read()` may return half a frame, or three frames at once.
//! [`FrameCodec`] is a `tokio_util` decoder that turns the stream back into
//! frames, whatever the segment boundaries were.
//!
//! Two kinds of trouble are kept apart, because they call for different answers:
//! - a *bad frame* — longer than the limit — is still delimited by its length, so
//!   the decoder skips its body and yields [`Frame::Oversize`]; the server answers
//!   with an error frame and the connection goes on;
//! - *broken framing* — a length so large that it cannot be a frame of ours
//!   (e.g. `GET ` read as a length), or the stream ending inside a frame — leaves
//!   no way to find the next frame: [`FrameError`], and the connection is closed.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of the length prefix.
pub const HEADER_LEN: usize = 4;
/// Default largest frame body: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1024 * 1024;
/// A length above `max_frame × SKIP_FACTOR` is taken as broken framing, not a big frame.
pub const SKIP_FACTOR: usize = 16;

/// What the decoder yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A frame body within the limit (the JSON text, not yet checked).
    Body(Bytes),
    /// A frame whose length exceeded the limit; its body was skipped unread.
    Oversize { len: usize, limit: usize },
}

/// The framing itself is broken: the connection cannot continue.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error(
        "frame length {len} is far over the {limit}-byte limit (more than {SKIP_FACTOR}×): \
         this is not a chat frame — every frame starts with a 4-byte big-endian length"
    )]
    Implausible { len: usize, limit: usize },
    #[error(
        "the stream ended inside a frame: {} expected, {had} arrived",
        crate::output::words::plural(*.needed, "byte", "bytes")
    )]
    Truncated { needed: usize, had: usize },
    #[error("frame of {len} bytes is over the {limit}-byte limit and cannot be sent")]
    TooLongToSend { len: usize, limit: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Length-prefixed frames with a size limit; see the module text.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame: usize,
    /// Body bytes of an oversize frame still to throw away.
    skipping: usize,
    /// Length of the oversize frame being skipped, for the report.
    skipped_len: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl FrameCodec {
    pub fn new(max_frame: usize) -> Self {
        FrameCodec {
            max_frame,
            skipping: 0,
            skipped_len: 0,
        }
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if self.skipping > 0 {
            // Throw the oversize body away as it arrives: nothing of it is kept.
            let n = self.skipping.min(src.len());
            src.advance(n);
            self.skipping -= n;
            if self.skipping > 0 {
                return Ok(None);
            }
            return Ok(Some(Frame::Oversize {
                len: self.skipped_len,
                limit: self.max_frame,
            }));
        }
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.max_frame {
            if len > self.max_frame.saturating_mul(SKIP_FACTOR) {
                return Err(FrameError::Implausible {
                    len,
                    limit: self.max_frame,
                });
            }
            src.advance(HEADER_LEN);
            self.skipping = len;
            self.skipped_len = len;
            return self.decode(src);
        }
        if src.len() < HEADER_LEN + len {
            // Wait for the rest; reserve once so the buffer grows in one step.
            src.reserve(HEADER_LEN + len - src.len());
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        Ok(Some(Frame::Body(src.split_to(len).freeze())))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if self.skipping > 0 {
            return Err(FrameError::Truncated {
                needed: self.skipped_len,
                had: self.skipped_len - self.skipping,
            });
        }
        if src.is_empty() {
            return Ok(None);
        }
        let needed = if src.len() < HEADER_LEN {
            HEADER_LEN
        } else {
            HEADER_LEN + u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize
        };
        Err(FrameError::Truncated {
            needed,
            had: src.len(),
        })
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, body: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        if body.len() > self.max_frame {
            return Err(FrameError::TooLongToSend {
                len: body.len(),
                limit: self.max_frame,
            });
        }
        dst.reserve(HEADER_LEN + body.len());
        dst.put_u32(body.len() as u32);
        dst.put_slice(body);
        Ok(())
    }
}

/// One whole frame (length + body) as bytes, ready to be queued to many clients.
pub fn encode_frame(body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER_LEN + body.len());
    out.put_u32(body.len() as u32);
    out.put_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut FrameCodec, bytes: &[u8]) -> Vec<Frame> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn two_frames_in_one_read() {
        let bytes = [encode_frame(b"{}"), encode_frame(b"[1]")].concat();
        let frames = decode_all(&mut FrameCodec::default(), &bytes);
        assert_eq!(
            frames,
            vec![
                Frame::Body(Bytes::from_static(b"{}")),
                Frame::Body(Bytes::from_static(b"[1]"))
            ]
        );
    }

    #[test]
    fn a_frame_split_byte_by_byte() {
        let bytes = encode_frame(b"{\"type\":\"x\"}");
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in bytes.iter() {
            buf.put_u8(*b);
            if let Some(f) = codec.decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![Frame::Body(Bytes::from_static(b"{\"type\":\"x\"}"))]
        );
    }

    #[test]
    fn oversize_frame_is_skipped_and_the_next_one_decodes() {
        let mut codec = FrameCodec::new(8);
        let big = vec![b'x'; 20];
        let bytes = [encode_frame(&big), encode_frame(b"{}")].concat();
        // Feed in two pieces so the skip spans reads.
        let mut buf = BytesMut::from(&bytes[..10]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&bytes[10..]);
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(Frame::Oversize { len: 20, limit: 8 })
        );
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(Frame::Body(Bytes::from_static(b"{}")))
        );
    }

    #[test]
    fn implausible_length_is_broken_framing() {
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame length 1195725856 is far over the 1024-byte limit (more than 16×): \
             this is not a chat frame — every frame starts with a 4-byte big-endian length"
        );
    }

    #[test]
    fn eof_inside_a_frame_is_truncated() {
        let mut codec = FrameCodec::default();
        let bytes = encode_frame(b"{\"type\":1}");
        let mut buf = BytesMut::from(&bytes[..7]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the stream ended inside a frame: 14 bytes expected, 7 arrived"
        );
        let mut empty = BytesMut::new();
        assert!(codec.decode_eof(&mut empty).unwrap().is_none());
    }

    #[test]
    fn encoder_refuses_oversize() {
        let mut codec = FrameCodec::new(2);
        let mut dst = BytesMut::new();
        assert!(codec.encode(&b"abc"[..], &mut dst).is_err());
        codec.encode(&b"ab"[..], &mut dst).unwrap();
        assert_eq!(&dst[..], b"\0\0\0\x02ab");
    }
}
