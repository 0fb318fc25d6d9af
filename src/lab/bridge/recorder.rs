//! Writes what the bridge saw into the run's capture, numbered as Wireshark
//! will number it, with a comment on every frame the bridge did something to.
//!
//! The capture is taken from the client's side of the link, like tcpdump on the
//! client host: client→server frames are recorded when the client sends them
//! (lost ones included, marked "dropped"), server→client frames when they reach
//! the client (and lost ones when the bridge dropped them). So the client's
//! retransmissions, the duplicate ACKs that triggered them and the round-trip
//! times are the ones the client experienced.
//!
//! Two forwarding threads feed one recorder; their timestamps can interleave by
//! microseconds, so frames wait in a small reordering window before they are
//! numbered and written in time order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use serde::Serialize;

use super::pcapng_writer::PcapngWriter;
use super::Direction;
use crate::capture::{LinkType, RawFrame};

/// Frames younger than this (relative to the newest seen) wait to be sorted.
const REORDER_WINDOW_NS: u64 = 2_000_000;
/// With nothing arriving for this long, everything waiting is written and flushed.
const IDLE_FLUSH: Duration = Duration::from_millis(10);

/// What the bridge did to a frame, beyond forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Dropped,
    Duplicated,
    Corrupted,
    Reordered,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::Dropped => "dropped (loss)",
            Action::Duplicated => "duplicated",
            Action::Corrupted => "corrupted (one byte flipped)",
            Action::Reordered => "reordered (sent ahead of earlier frames)",
        }
    }
}

/// One frame for the capture.
#[derive(Debug)]
pub struct Sighting {
    /// Wall-clock time of the sighting, ns since the Unix epoch.
    pub ts_ns: u64,
    pub direction: Direction,
    /// 1-based position of the frame among its direction's frames at the bridge.
    pub index: u64,
    pub bytes: Vec<u8>,
    pub actions: Vec<Action>,
}

/// A frame of the capture the bridge did something to (bridge.json).
#[derive(Debug, Clone, Serialize)]
pub struct FrameNote {
    /// Frame number in the capture (1-based).
    pub frame: u64,
    pub direction: Direction,
    /// Position among its direction's frames at the bridge (1-based).
    pub index: u64,
    pub actions: Vec<Action>,
}

/// What the recorder wrote.
#[derive(Debug, Default)]
pub struct Recorded {
    pub frames: u64,
    pub notes: Vec<FrameNote>,
    pub error: Option<String>,
}

/// Where recorded frames go.
pub struct Sinks {
    pub file: Option<(PathBuf, Option<usize>)>,
    pub tap: Option<Sender<RawFrame>>,
}

struct Waiting {
    ts_ns: u64,
    order: u64,
    sighting: Sighting,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.ts_ns, self.order) == (other.ts_ns, other.order)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts_ns, self.order).cmp(&(other.ts_ns, other.order))
    }
}

struct Output {
    file: Option<PcapngWriter<BufWriter<File>>>,
    snaplen: Option<usize>,
    tap: Option<Sender<RawFrame>>,
    recorded: Recorded,
}

impl Output {
    fn write(&mut self, s: Sighting) {
        self.recorded.frames += 1;
        let number = self.recorded.frames;
        let keep = self.snaplen.map_or(s.bytes.len(), |n| n.min(s.bytes.len()));
        if let Some(file) = &mut self.file {
            let comment = (!s.actions.is_empty()).then(|| {
                let what: Vec<&str> = s.actions.iter().map(|a| a.describe()).collect();
                format!(
                    "protolab bridge: {} {}, frame {} of its direction",
                    s.direction.arrow(),
                    what.join(", "),
                    s.index
                )
            });
            if let Err(e) = file.write_frame(
                s.ts_ns,
                &s.bytes[..keep],
                s.bytes.len() as u32,
                comment.as_deref(),
            ) {
                self.recorded.error.get_or_insert(e.to_string());
            }
        }
        if !s.actions.is_empty() {
            self.recorded.notes.push(FrameNote {
                frame: number,
                direction: s.direction,
                index: s.index,
                actions: s.actions.clone(),
            });
        }
        if let Some(tap) = &self.tap {
            let orig_len = s.bytes.len() as u32;
            let mut bytes = s.bytes;
            bytes.truncate(keep);
            // A watcher that went away is not an error for the capture.
            let _ = tap.send(RawFrame {
                number,
                ts_ns: s.ts_ns,
                linktype: LinkType::ETHERNET,
                orig_len,
                bytes,
            });
        }
    }

    fn flush(&mut self) {
        if let Some(file) = &mut self.file {
            if let Err(e) = file.flush() {
                self.recorded.error.get_or_insert(e.to_string());
            }
        }
    }
}

/// Opens the capture file (so errors surface before the bridge starts).
pub fn open(
    sinks: Sinks,
    interface: &str,
) -> std::io::Result<impl FnOnce(Receiver<Sighting>) -> Recorded> {
    let (file, snaplen) = match sinks.file {
        Some((path, snaplen)) => {
            let out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            (Some(PcapngWriter::new(out, interface)?), snaplen)
        }
        None => (None, None),
    };
    let mut output = Output {
        file,
        snaplen,
        tap: sinks.tap,
        recorded: Recorded::default(),
    };
    Ok(move |rx: Receiver<Sighting>| {
        let mut heap: BinaryHeap<Reverse<Waiting>> = BinaryHeap::new();
        let mut order = 0u64;
        let mut newest = 0u64;
        loop {
            match rx.recv_timeout(IDLE_FLUSH) {
                Ok(s) => {
                    newest = newest.max(s.ts_ns);
                    order += 1;
                    heap.push(Reverse(Waiting {
                        ts_ns: s.ts_ns,
                        order,
                        sighting: s,
                    }));
                    let horizon = newest.saturating_sub(REORDER_WINDOW_NS);
                    while heap.peek().is_some_and(|w| w.0.ts_ns <= horizon) {
                        let Reverse(w) = heap.pop().expect("peeked");
                        output.write(w.sighting);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    while let Some(Reverse(w)) = heap.pop() {
                        output.write(w.sighting);
                    }
                    output.flush();
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        while let Some(Reverse(w)) = heap.pop() {
            output.write(w.sighting);
        }
        output.flush();
        output.recorded
    })
}
