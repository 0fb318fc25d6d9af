//! The one decode → analyse loop, over any [`FrameSource`]: a capture file for
//! `inspect`, `flows`, `chart` and `report`, a live capture for `capture` and `run`.
//!
//! Read a frame (lent by the source, not copied), decode it into a reused
//! [`Packet`], analyse it, hand all three to a visitor. Generic over the source,
//! so the file path is monomorphic and inlined into each command's loop.

use crate::analyze::{Analyzer, FlowSummary, FrameAnalysis};
use crate::capture::{CaptureError, FrameSource};
use crate::decode::{decode_bytes, Packet};
use crate::frame::{FrameRef, RawFrame};

/// What the visitor wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Continue,
    Stop,
}

/// How a replay ended.
pub struct Replayed {
    pub analyzer: Analyzer,
    pub frames: u64,
    /// Set when the file ended in damage; every whole frame before it was visited.
    pub error: Option<CaptureError>,
}

/// Reported every 4096 frames: how far the reader is, and flows that have ended.
pub struct Tick {
    pub bytes_read: u64,
    /// Summaries of connections that finished (in flow order where possible).
    pub retired: Vec<FlowSummary>,
}

/// Reads every frame of `source`, calling `visit` with the raw frame, its decoding
/// and its analysis, and `tick` every 4096 frames.
pub fn replay<S: FrameSource, E>(
    source: &mut S,
    mut visit: impl FnMut(&RawFrame, &Packet, &FrameAnalysis) -> Result<Next, E>,
    tick: impl FnMut(Tick) -> Result<(), E>,
) -> Result<Replayed, E> {
    let mut frame = RawFrame::empty();
    frame.bytes.reserve(65536);
    replay_borrowed(
        source,
        |borrowed, packet, analysis| {
            borrowed.copy_into(&mut frame);
            visit(&frame, packet, analysis)
        },
        tick,
    )
}

/// [`replay`] with each frame lent out of the source's buffer instead of copied into
/// a `RawFrame`: for visitors that need no owned frame (`flows` needs none at all).
pub fn replay_borrowed<S: FrameSource, E>(
    source: &mut S,
    visit: impl FnMut(FrameRef<'_>, &Packet, &FrameAnalysis) -> Result<Next, E>,
    tick: impl FnMut(Tick) -> Result<(), E>,
) -> Result<Replayed, E> {
    let mut pipeline = Pipeline::new();
    let error = pipeline.feed(source, visit, tick)?;
    Ok(Replayed {
        analyzer: pipeline.analyzer,
        frames: pipeline.frames,
        error,
    })
}

/// The loop's state between calls: a live run feeds it whatever has arrived, again
/// and again, into the same analyzer.
pub struct Pipeline {
    pub analyzer: Analyzer,
    /// Frames fed so far.
    pub frames: u64,
    /// Reused for every frame: no per-frame construction or move of a whole Packet.
    packet: Packet,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    pub fn new() -> Self {
        Pipeline {
            analyzer: Analyzer::new(),
            frames: 0,
            packet: Packet::default(),
        }
    }

    /// Decodes and analyses frames of `source` until it ends, the visitor says stop,
    /// or a read fails (returned, after every whole frame before it was visited).
    #[inline]
    pub fn feed<S: FrameSource, E>(
        &mut self,
        source: &mut S,
        mut visit: impl FnMut(FrameRef<'_>, &Packet, &FrameAnalysis) -> Result<Next, E>,
        mut tick: impl FnMut(Tick) -> Result<(), E>,
    ) -> Result<Option<CaptureError>, E> {
        let Pipeline {
            analyzer,
            frames: total,
            packet,
        } = self;
        // A local counter: the loop's hot state stays in registers.
        let mut frames = *total;
        let result = loop {
            // Taken before the read, which lends the frame out of the source.
            let bytes_read = source.bytes_read();
            let frame = match source.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ok(None),
                Err(e) => break Ok(Some(e)),
            };
            frames += 1;
            if frames % 4096 == 0 {
                let retired = analyzer.take_finished();
                if let Err(e) = tick(Tick {
                    bytes_read,
                    retired,
                }) {
                    break Err(e);
                }
            }
            decode_bytes(
                frame.number,
                frame.ts_ns,
                frame.linktype,
                frame.orig_len,
                frame.bytes,
                packet,
            );
            let analysis = analyzer.process_frame(packet, frame.bytes);
            match visit(frame, packet, analysis) {
                Ok(Next::Continue) => {}
                Ok(Next::Stop) => break Ok(None),
                Err(e) => break Err(e),
            }
        };
        *total = frames;
        result
    }
}
