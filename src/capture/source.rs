//! The one source of frames the replay loop reads: a capture file or a live
//! capture, behind one small trait.
//!
//! The loop is generic over the source, so the file path stays monomorphic and
//! inlined: each frame is lent straight out of the reader's mapped pages, with no
//! copy, allocation or dynamic call per frame. A live capture delivers owned
//! frames through a channel; [`LiveFrames`] keeps the latest one and lends it out
//! the same way.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::{CaptureError, FileReader, FrameRef, RawFrame};

/// A stream of frames, each lent until the next call.
pub trait FrameSource {
    /// The next frame; `Ok(None)` when the source has ended (or was told to stop).
    fn next_frame(&mut self) -> Result<Option<FrameRef<'_>>, CaptureError>;
    /// Bytes consumed so far, for progress bars (0 when unknown).
    fn bytes_read(&self) -> u64;
}

impl FrameSource for FileReader {
    #[inline(always)]
    fn next_frame(&mut self) -> Result<Option<FrameRef<'_>>, CaptureError> {
        self.read_next_ref()
    }

    #[inline(always)]
    fn bytes_read(&self) -> u64 {
        FileReader::bytes_read(self)
    }
}

/// How long a waiting [`LiveFrames`] blocks before it checks its stop condition again.
const POLL: Duration = Duration::from_millis(50);

/// When a live source ends.
enum Wait<'a> {
    /// At the first moment no frame is queued: take what has arrived, then return.
    Drain,
    /// Wait for frames until the condition holds (Ctrl-C, a deadline).
    Until(&'a dyn Fn() -> bool),
}

/// The frames of a live capture ([`super::LiveCapture`]'s channel) as a [`FrameSource`].
pub struct LiveFrames<'a> {
    rx: &'a Receiver<RawFrame>,
    wait: Wait<'a>,
    /// Most frames to deliver, if limited.
    limit: Option<u64>,
    delivered: u64,
    bytes: u64,
    /// The frame lent out by the last call.
    current: RawFrame,
}

impl<'a> LiveFrames<'a> {
    /// The frames already queued; ends as soon as the queue is empty.
    pub fn draining(rx: &'a Receiver<RawFrame>) -> Self {
        Self::new(rx, Wait::Drain)
    }

    /// Waits for frames until `stop()` is true, checked at least every 50 ms.
    pub fn until(rx: &'a Receiver<RawFrame>, stop: &'a dyn Fn() -> bool) -> Self {
        Self::new(rx, Wait::Until(stop))
    }

    /// Ends after `limit` frames (when `Some`).
    pub fn at_most(mut self, limit: Option<u64>) -> Self {
        self.limit = limit;
        self
    }

    fn new(rx: &'a Receiver<RawFrame>, wait: Wait<'a>) -> Self {
        LiveFrames {
            rx,
            wait,
            limit: None,
            delivered: 0,
            bytes: 0,
            current: RawFrame::empty(),
        }
    }

    /// The next frame off the channel, or `None` when this source is to end.
    fn receive(&self) -> Option<RawFrame> {
        match self.wait {
            // Empty or disconnected: what had arrived is taken.
            Wait::Drain => self.rx.try_recv().ok(),
            Wait::Until(stop) => loop {
                if stop() {
                    return None;
                }
                match self.rx.recv_timeout(POLL) {
                    Ok(frame) => return Some(frame),
                    Err(RecvTimeoutError::Timeout) => {}
                    // Nobody sends (a capture that only writes a file): wait for the stop.
                    Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
                }
            },
        }
    }
}

impl FrameSource for LiveFrames<'_> {
    fn next_frame(&mut self) -> Result<Option<FrameRef<'_>>, CaptureError> {
        if self.limit.is_some_and(|l| self.delivered >= l) {
            return Ok(None);
        }
        let Some(frame) = self.receive() else {
            return Ok(None);
        };
        self.delivered += 1;
        self.bytes += frame.bytes.len() as u64;
        self.current = frame;
        Ok(Some(FrameRef::of(&self.current)))
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}
