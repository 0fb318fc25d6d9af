//! Replays a capture file through decode and analysis, frame by frame.
//!
//! The one loop `inspect`, `flows` (and later charts and reports) share: read a
//! frame into a reused buffer, decode it, analyse it, hand all three to a visitor.

use crate::analyze::{Analyzer, FlowSummary, FrameAnalysis};
use crate::capture::{CaptureError, FileReader, FrameRef, RawFrame};
use crate::decode::{decode_bytes, Packet};

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

/// Reads every frame of `reader`, calling `visit` with the raw frame, its decoding
/// and its analysis, and `tick` every 4096 frames.
pub fn replay<E>(
    reader: &mut FileReader,
    mut visit: impl FnMut(&RawFrame, &Packet, &FrameAnalysis) -> Result<Next, E>,
    tick: impl FnMut(Tick) -> Result<(), E>,
) -> Result<Replayed, E> {
    let mut frame = RawFrame::empty();
    frame.bytes.reserve(65536);
    replay_borrowed(
        reader,
        |borrowed, packet, analysis| {
            borrowed.copy_into(&mut frame);
            visit(&frame, packet, analysis)
        },
        tick,
    )
}

/// [`replay`] with each frame lent out of the reader's buffer instead of copied into
/// a `RawFrame`: for visitors that need no owned frame (`flows` needs none at all).
pub fn replay_borrowed<E>(
    reader: &mut FileReader,
    mut visit: impl FnMut(FrameRef<'_>, &Packet, &FrameAnalysis) -> Result<Next, E>,
    mut tick: impl FnMut(Tick) -> Result<(), E>,
) -> Result<Replayed, E> {
    let mut analyzer = Analyzer::new();
    // Reused for every frame: no per-frame construction or move of a whole Packet.
    let mut packet = Packet::default();
    let mut frames = 0u64;
    let error = loop {
        // Taken before the read, which lends the frame out of the reader.
        let bytes_read = reader.bytes_read();
        let frame = match reader.read_next_ref() {
            Ok(Some(frame)) => frame,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        frames += 1;
        if frames % 4096 == 0 {
            tick(Tick {
                bytes_read,
                retired: analyzer.take_finished(),
            })?;
        }
        decode_bytes(
            frame.number,
            frame.ts_ns,
            frame.linktype,
            frame.orig_len,
            frame.bytes,
            &mut packet,
        );
        let analysis = analyzer.process_frame(&packet, frame.bytes);
        if visit(frame, &packet, analysis)? == Next::Stop {
            break None;
        }
    };
    Ok(Replayed {
        analyzer,
        frames,
        error,
    })
}
