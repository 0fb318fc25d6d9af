//! A capture file replayed into what the charts draw ([`CaptureData`]).

use std::path::Path;

use crate::capture::{CaptureError, FileReader};
use crate::chart::compare::close_up_limits;
use crate::chart::{CaptureData, ChartError, Collector, Damage, LoadLimits};
use crate::replay::{replay_borrowed, Next};

/// Replays `path` and keeps what the charts need, with the default [`LoadLimits`].
pub fn load_capture(path: &Path) -> Result<CaptureData, ChartError> {
    load_capture_with(path, LoadLimits::default())
}

/// Replays `path` and keeps at most `limits` frames.
pub fn load_capture_with(path: &Path, limits: LoadLimits) -> Result<CaptureData, ChartError> {
    let mut reader = FileReader::open(path).map_err(|e| ChartError::Capture(e.to_string()))?;
    let mut collector = Collector::new(limits);
    let mut flows = Vec::new();
    let replayed = replay_borrowed(
        &mut reader,
        |frame, p, a| -> Result<Next, ChartError> {
            collector.frame(frame.bytes, p, a);
            Ok(Next::Continue)
        },
        |tick| {
            flows.extend(tick.retired);
            Ok(())
        },
    )?;
    // Every whole frame before the damage was read: chart those; the caller says so.
    let damage = replayed.error.as_ref().map(|e| damage(e, replayed.frames));
    let mut analyzer = replayed.analyzer;
    collector.concluded(&analyzer.conclude());
    flows.extend(analyzer.finish());
    Ok(collector.finish(flows, replayed.frames, damage))
}

/// Loads a capture for a close-up ending at frame `last` ([`close_up_limits`]).
pub fn load_close_up(path: &Path, last: u64) -> Result<CaptureData, ChartError> {
    load_capture_with(path, close_up_limits(last)).inspect(|data| {
        // The close-up is still drawn from the whole frames; the compare report goes on.
        if let Some(d) = &data.damage {
            tracing::warn!("{}", d.message);
        }
    })
}

/// How a damaged capture ended, after `frames_read` whole frames.
fn damage(error: &CaptureError, frames_read: u64) -> Damage {
    Damage {
        after_frame: frames_read,
        truncated: matches!(error, CaptureError::Truncated { .. }),
        message: error.to_string(),
    }
}
