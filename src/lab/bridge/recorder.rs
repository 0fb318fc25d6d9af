//! Writes what the bridge saw into two pcapng files, numbered as Wireshark will
//! number them, with a comment on every frame the bridge did something to:
//!
//! - the run's capture, taken from the client's side of the link like tcpdump
//!   on the client host: client→server frames when the client sent them (lost
//!   ones included, marked "dropped"), server→client frames when they reached
//!   the client. Lost server→client frames are not in it — the client never saw
//!   them — so every frame in it was really seen by the host whose view it is,
//!   and both endpoints' states inferred from it stay right under loss;
//! - the link record (`capture.link.pcapng`): every frame the bridge received, from
//!   either side, at the moment it arrived, lost ones included.
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

/// Which of the two files a sighting goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Views {
    /// A client→server frame as it left the client and reached the bridge.
    Both,
    /// A server→client frame arriving at the bridge.
    Link,
    /// A server→client frame delivered to the client.
    Client,
}

/// One frame for the capture.
#[derive(Debug)]
pub struct Sighting {
    pub views: Views,
    /// Wall-clock time of the sighting, ns since the Unix epoch.
    pub ts_ns: u64,
    pub direction: Direction,
    /// 1-based position of the frame among its direction's frames at the bridge.
    pub index: u64,
    pub bytes: Vec<u8>,
    pub actions: Vec<Action>,
}

/// A frame the bridge did something to (bridge.json).
#[derive(Debug, Clone, Serialize)]
pub struct FrameNote {
    /// Frame number in the run's capture (1-based); absent for a server→client
    /// frame that never reached the client.
    pub frame: Option<u64>,
    /// Frame number in the link record.
    pub link_frame: Option<u64>,
    /// Time the bridge saw it, ns since the Unix epoch.
    pub ts_ns: u64,
    pub direction: Direction,
    /// Position among its direction's frames at the bridge (1-based).
    pub index: u64,
    pub actions: Vec<Action>,
}

/// What the recorder wrote.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Frames in the run's capture.
    pub frames: u64,
    /// Frames in the link record.
    pub link_frames: u64,
    pub notes: Vec<FrameNote>,
    pub error: Option<String>,
}

/// Where recorded frames go.
pub struct Sinks {
    /// The run's capture (client's view) and the link record, with a snaplen.
    pub files: Option<(PathBuf, PathBuf, Option<usize>)>,
    /// Receives the client's view as it is written.
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
    client_view: Option<PcapngWriter<BufWriter<File>>>,
    link: Option<PcapngWriter<BufWriter<File>>>,
    snaplen: Option<usize>,
    tap: Option<Sender<RawFrame>>,
    recorded: Recorded,
}

impl Output {
    fn write(&mut self, s: Sighting) {
        let keep = self.snaplen.map_or(s.bytes.len(), |n| n.min(s.bytes.len()));
        let comment = (!s.actions.is_empty()).then(|| {
            let what: Vec<&str> = s.actions.iter().map(|a| a.describe()).collect();
            format!(
                "protolab bridge: {} {}, frame {} of its direction",
                s.direction.arrow(),
                what.join(", "),
                s.index
            )
        });
        let mut note = FrameNote {
            frame: None,
            link_frame: None,
            ts_ns: s.ts_ns,
            direction: s.direction,
            index: s.index,
            actions: s.actions.clone(),
        };
        let orig_len = s.bytes.len() as u32;
        let error = &mut self.recorded.error;
        let mut put = |file: &mut Option<PcapngWriter<BufWriter<File>>>| {
            if let Some(file) = file {
                if let Err(e) =
                    file.write_frame(s.ts_ns, &s.bytes[..keep], orig_len, comment.as_deref())
                {
                    error.get_or_insert(e.to_string());
                }
            }
        };
        if matches!(s.views, Views::Both | Views::Link) {
            put(&mut self.link);
            self.recorded.link_frames += 1;
            note.link_frame = Some(self.recorded.link_frames);
        }
        let in_client_view = matches!(s.views, Views::Both | Views::Client);
        if in_client_view {
            put(&mut self.client_view);
            self.recorded.frames += 1;
            note.frame = Some(self.recorded.frames);
        }
        match s.views {
            _ if s.actions.is_empty() => {}
            // A delivered server→client frame was noted when it arrived: give that
            // note its frame number in the client's view.
            Views::Client => {
                if let Some(n) =
                    self.recorded.notes.iter_mut().rev().find(|n| {
                        n.direction == s.direction && n.index == s.index && n.frame.is_none()
                    })
                {
                    n.frame = note.frame;
                }
            }
            Views::Both | Views::Link => self.recorded.notes.push(note),
        }
        if let (true, Some(tap)) = (in_client_view, &self.tap) {
            let mut bytes = s.bytes;
            bytes.truncate(keep);
            // A watcher that went away is not an error for the capture.
            let _ = tap.send(RawFrame {
                number: self.recorded.frames,
                ts_ns: s.ts_ns,
                linktype: LinkType::ETHERNET,
                orig_len,
                bytes,
            });
        }
    }

    fn flush(&mut self) {
        for file in [&mut self.client_view, &mut self.link]
            .into_iter()
            .flatten()
        {
            if let Err(e) = file.flush() {
                self.recorded.error.get_or_insert(e.to_string());
            }
        }
    }
}

/// Opens the capture files (so errors surface before the bridge starts).
pub fn open(
    sinks: Sinks,
    interface: &str,
) -> std::io::Result<impl FnOnce(Receiver<Sighting>) -> Recorded> {
    let create = |path: &PathBuf| -> std::io::Result<_> {
        let out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        PcapngWriter::new(out, interface)
    };
    let (client_view, link, snaplen) = match &sinks.files {
        Some((capture, link, snaplen)) => (Some(create(capture)?), Some(create(link)?), *snaplen),
        None => (None, None, None),
    };
    let mut output = Output {
        client_view,
        link,
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
