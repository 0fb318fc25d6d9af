//! What the charts draw from a capture: every flow's summary and a bounded sample
//! of its frames, collected frame by frame as the replay loop hands them over.
//!
//! A chart of a connection with a million segments cannot show them all anyway, so
//! each flow keeps its first and last frames (the handshake and the teardown, which
//! are what a student looks at) and counts the ones folded away in between. A global
//! budget keeps a capture with very many flows bounded too.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::analyze::{FlowSummary, FrameAnalysis};
use crate::decode::Packet;
use crate::dissect::redact;

/// One frame as the charts see it: decoded, analysed, and its first bytes.
#[derive(Debug, Clone)]
pub struct FrameRecord {
    pub packet: Packet,
    pub analysis: FrameAnalysis,
    /// Raw frame bytes (at most [`LoadLimits::max_bytes`] of them), for the layers
    /// chart and the hex dump, with passwords in the payload masked
    /// ([`crate::dissect::redact`]): nothing drawn from a record can leak one.
    pub bytes: Vec<u8>,
    /// How many of `bytes` were masked, so the picture can say so.
    pub masked: usize,
}

/// A capture loaded for charting.
#[derive(Debug, Clone, Default)]
pub struct CaptureData {
    /// Every TCP connection and UDP stream, in flow-id order.
    pub flows: Vec<FlowSummary>,
    /// Kept frames of each flow, in capture order (the first and last ones of long flows).
    pub frames: BTreeMap<u64, Vec<FrameRecord>>,
    /// Frames that belong to no flow (ARP, ICMP, undecodable), the first ones only.
    pub other: Vec<FrameRecord>,
    /// Timestamp of the first frame of the capture.
    pub first_ts_ns: u64,
    pub total_frames: u64,
    /// Frames left out per flow (between the kept head and tail, or past the budget).
    pub folded: BTreeMap<u64, u64>,
    /// Where, in `frames[flow]`, the folded frames were taken out (the head's length).
    pub fold_at: BTreeMap<u64, usize>,
    /// Set when the file ended in damage: everything above covers only the whole
    /// frames before it, and the caller must say so (the CLI exits 2).
    pub damage: Option<Damage>,
}

/// How a damaged capture ended: after which frame, and the reader's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// The last whole frame (all `after_frame` frames before the damage were read).
    pub after_frame: u64,
    /// Cut short (a writer killed mid-record) rather than corrupt.
    pub truncated: bool,
    /// The reader's error, naming the file.
    pub message: String,
}

impl Damage {
    /// The one line a command prints after writing `what` (say, "chart x.svg") from
    /// the whole frames: the reader's words, then what they mean for the output.
    pub fn after_writing(&self, what: &str) -> String {
        format!(
            "{}; {what} covers those {} only",
            self.message,
            crate::output::words::plural(self.after_frame, "frame", "frames")
        )
    }
}

impl CaptureData {
    /// The summary of flow `id`.
    pub fn flow(&self, id: u64) -> Option<&FlowSummary> {
        self.flows.iter().find(|f| f.flow == id)
    }

    /// Kept frames of flow `id` (empty when none were kept).
    pub fn flow_frames(&self, id: u64) -> &[FrameRecord] {
        self.frames.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first TCP flow, else the first flow of any kind.
    pub fn default_flow(&self) -> Option<u64> {
        self.flows
            .iter()
            .find(|f| f.proto == "tcp")
            .or_else(|| self.flows.first())
            .map(|f| f.flow)
    }

    /// A frame by its number, wherever it was kept.
    pub fn frame(&self, number: u64) -> Option<&FrameRecord> {
        self.frames
            .values()
            .flatten()
            .chain(self.other.iter())
            .find(|r| r.packet.frame == number)
    }
}

/// How much of a capture a [`Collector`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// First frames kept per flow.
    pub head: usize,
    /// Last frames kept per flow.
    pub tail: usize,
    /// Frames kept that belong to no flow.
    pub other: usize,
    /// Once this many frames are kept, flows that start later keep only `small` first
    /// and `small` last frames each (enough for the handshake and the teardown).
    pub budget: usize,
    pub small: usize,
    /// Frames kept in all, across flows: past it, nothing more is kept.
    pub total: usize,
    /// Bytes of each frame kept for the hex dump.
    pub max_bytes: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            head: 1000,
            tail: 1000,
            other: 200,
            budget: 30_000,
            small: 16,
            total: 60_000,
            max_bytes: 256,
        }
    }
}

struct Kept {
    head: Vec<FrameRecord>,
    tail: VecDeque<FrameRecord>,
    /// How many first and last frames this flow may keep.
    cap: (usize, usize),
}

/// Builds a [`CaptureData`] frame by frame: the replay loop (at the edge, which
/// reads the file) hands every decoded frame to [`Collector::frame`].
pub struct Collector {
    limits: LoadLimits,
    kept: BTreeMap<u64, Kept>,
    folded: BTreeMap<u64, u64>,
    other: Vec<FrameRecord>,
    first_ts_ns: Option<u64>,
    /// Frames kept so far, across flows.
    total: usize,
}

impl Collector {
    pub fn new(limits: LoadLimits) -> Self {
        Collector {
            limits,
            kept: BTreeMap::new(),
            folded: BTreeMap::new(),
            other: Vec::new(),
            first_ts_ns: None,
            total: 0,
        }
    }

    /// One frame: its captured bytes, its decoding and its analysis.
    pub fn frame(&mut self, bytes: &[u8], p: &Packet, a: &FrameAnalysis) {
        if let Some((flow, t)) = a.concluded {
            // Another flow's timeout, proved by this frame: on that flow's frame.
            let mut late = FrameAnalysis {
                flow: Some(flow),
                ..FrameAnalysis::default()
            };
            late.transitions.push(t);
            self.concluded(std::slice::from_ref(&late));
        }
        let limits = self.limits;
        let record = || {
            let mut kept = bytes[..bytes.len().min(limits.max_bytes)].to_vec();
            let end = p.payload.end.min(kept.len());
            let payload = p.payload.start.min(end)..end;
            let masked = redact::mask_secrets(&mut kept[payload]);
            FrameRecord {
                packet: p.clone(),
                analysis: a.clone(),
                bytes: kept,
                masked,
            }
        };
        self.first_ts_ns.get_or_insert(p.ts_ns);
        let Some(flow) = a.flow else {
            if self.other.len() < limits.other {
                self.other.push(record());
            }
            return;
        };
        let total = self.total;
        let k = self.kept.entry(flow).or_insert_with(|| Kept {
            head: Vec::new(),
            tail: VecDeque::new(),
            cap: if total < limits.budget {
                (limits.head, limits.tail)
            } else {
                (limits.small, limits.small)
            },
        });
        if k.head.len() < k.cap.0 && k.tail.is_empty() && total < limits.total {
            k.head.push(record());
            self.total += 1;
        } else if k.tail.len() < k.cap.1 && total < limits.total {
            k.tail.push_back(record());
            self.total += 1;
        } else if !k.tail.is_empty() {
            // The tail is a ring: the oldest kept frame there is folded away.
            k.tail.pop_front();
            k.tail.push_back(record());
            *self.folded.entry(flow).or_default() += 1;
        } else {
            *self.folded.entry(flow).or_default() += 1;
        }
    }

    /// What the capture's end proved (`Analyzer::conclude`: a connect that timed
    /// out): charts are drawn after the whole capture, so each transition joins the
    /// kept frame it is attributed to, as `flows` lists it.
    pub fn concluded(&mut self, late: &[FrameAnalysis]) {
        for a in late {
            let Some(k) = a.flow.and_then(|f| self.kept.get_mut(&f)) else {
                continue;
            };
            for t in &a.transitions {
                let at = k
                    .head
                    .iter_mut()
                    .chain(k.tail.iter_mut())
                    .find(|r| r.packet.frame == t.frame);
                if let Some(r) = at {
                    let _ = r.analysis.transitions.try_push(*t);
                }
            }
        }
    }

    /// The loaded capture: `flows` are the summaries of every flow (in any order),
    /// `total_frames` how many frames were read, `damage` how the file ended.
    pub fn finish(
        self,
        mut flows: Vec<FlowSummary>,
        total_frames: u64,
        damage: Option<Damage>,
    ) -> CaptureData {
        flows.sort_by_key(|f| f.flow);
        let mut fold_at = BTreeMap::new();
        let folded = self.folded;
        let frames = self
            .kept
            .into_iter()
            .filter(|(_, k)| !k.head.is_empty())
            .map(|(id, k)| {
                if folded.contains_key(&id) {
                    fold_at.insert(id, k.head.len());
                }
                let mut v = k.head;
                v.extend(k.tail);
                // Charts and reports are drawn after the whole capture: they show the
                // transitions that stand, as `flows` does (withdrawals applied).
                crate::analyze::settle(v.iter_mut().map(|r| &mut r.analysis));
                (id, v)
            })
            .collect();
        CaptureData {
            flows,
            frames,
            other: self.other,
            first_ts_ns: self.first_ts_ns.unwrap_or(0),
            total_frames,
            folded,
            fold_at,
            damage,
        }
    }
}
