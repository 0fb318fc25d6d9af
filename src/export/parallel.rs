//! Many captures through the one replay loop at once: one worker thread per core,
//! each reading one capture at a time with its own flow table, and the results
//! handed back in input order, whatever the workers' timing.
//!
//! Memory stays bounded by the active flows of the captures in work: a worker
//! streams each capture's retired flows as it goes, the capture whose turn it is
//! to be written goes straight out, and no worker starts a capture more than
//! [`WINDOW`] captures ahead of the one being written.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

use indicatif::ProgressBar;

use crate::analyze::FlowSummary;
use crate::capture::{CaptureError, FileReader};
use crate::decode::DecodeError;
use crate::replay::{replay_borrowed, Next};

use super::inputs::Input;
use super::record::FlowRecord;

/// Captures a worker may run ahead of the one being written, per worker.
const WINDOW: usize = 2;

/// What a capture's reading yields, in order: batches of flows, then how it ended.
pub enum Chunk {
    Flows(Vec<FlowRecord>),
    Done(Outcome),
}

/// How one capture's reading ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub frames: u64,
    /// Flows kept (after the protocol filter).
    pub flows: u64,
    pub undecoded: Undecoded,
    /// Why reading stopped early (the capture could not be opened, or is damaged
    /// after the frames already read).
    pub error: Option<CaptureError>,
}

/// Frames that could not be decoded: how many, and the first one's problem.
#[derive(Debug, Default)]
pub struct Undecoded {
    count: u64,
    first: Option<(u64, String)>,
}

impl Undecoded {
    fn note(&mut self, frame: u64, error: &DecodeError) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((frame, error.to_string()));
        }
    }

    pub fn describe(&self, frames: u64) -> Option<String> {
        let (frame, error) = self.first.as_ref()?;
        Some(format!(
            "{} of {} could not be decoded (frame {frame}: {error})",
            self.count,
            crate::output::words::plural(frames, "frame", "frames")
        ))
    }
}

/// The reader stopped because the writer failed (or went away).
struct Stop;

/// Reads every capture of `inputs` on `workers` threads, keeping the flows `keep`
/// accepts, and calls `deliver(index, chunk)` for each capture in input order: its
/// flow batches in the order they retired, then its `Done`. `bar` advances by the
/// bytes read. An error from `deliver` stops the workers and is returned.
pub fn read_all(
    inputs: &[Input],
    workers: usize,
    keep: &(dyn Fn(&FlowSummary) -> bool + Sync),
    bar: &ProgressBar,
    mut deliver: impl FnMut(usize, Chunk) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let workers = workers.clamp(1, inputs.len().max(1));
    let window = WINDOW * workers;
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    // The index of the capture being written: workers wait on it to stay in the window.
    let gate = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = sync_channel::<(usize, Chunk)>(4 * workers);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, abort, gate) = (&next, &abort, &gate);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= inputs.len() {
                    break;
                }
                {
                    let (head, turn) = gate;
                    let mut head = head.lock().unwrap_or_else(|p| p.into_inner());
                    while i >= *head + window && !abort.load(Ordering::Relaxed) {
                        head = turn.wait(head).unwrap_or_else(|p| p.into_inner());
                    }
                }
                if abort.load(Ordering::Relaxed) {
                    break;
                }
                match read_one(i, &inputs[i], keep, &tx, bar, abort) {
                    Ok(outcome) => {
                        if tx.send((i, Chunk::Done(outcome))).is_err() {
                            break;
                        }
                    }
                    Err(Stop) => break,
                }
            });
        }
        drop(tx);
        let mut head = 0;
        let mut pending: HashMap<usize, VecDeque<Chunk>> = HashMap::new();
        let mut result = Ok(());
        // Drained to the end even after a failure, so no worker blocks on a full channel.
        for (i, chunk) in rx {
            if result.is_err() {
                continue;
            }
            pending.entry(i).or_default().push_back(chunk);
            while let Some(chunk) = pending.get_mut(&head).and_then(|q| q.pop_front()) {
                let done = matches!(chunk, Chunk::Done(_));
                if let Err(e) = deliver(head, chunk) {
                    result = Err(e);
                    abort.store(true, Ordering::Relaxed);
                    gate.1.notify_all();
                    break;
                }
                if done {
                    pending.remove(&head);
                    head += 1;
                    *gate.0.lock().unwrap_or_else(|p| p.into_inner()) = head;
                    gate.1.notify_all();
                }
            }
        }
        result
    })
}

/// One capture, start to end, its flows sent as they retire.
fn read_one(
    i: usize,
    input: &Input,
    keep: &(dyn Fn(&FlowSummary) -> bool + Sync),
    tx: &SyncSender<(usize, Chunk)>,
    bar: &ProgressBar,
    abort: &AtomicBool,
) -> Result<Outcome, Stop> {
    let mut outcome = Outcome::default();
    let mut reader = match FileReader::open(&input.path) {
        Ok(r) => r,
        Err(e) => {
            bar.inc(input.bytes);
            outcome.error = Some(e);
            return Ok(outcome);
        }
    };
    let name: Arc<str> = input.name().into();
    let mut kept = 0u64;
    let mut send = |flows: Vec<FlowSummary>| -> Result<(), Stop> {
        let records: Vec<FlowRecord> = flows
            .into_iter()
            .filter(|f| keep(f))
            .map(|f| FlowRecord::new(f, name.clone()))
            .collect();
        kept += records.len() as u64;
        if !records.is_empty() {
            tx.send((i, Chunk::Flows(records))).map_err(|_| Stop)?;
        }
        if abort.load(Ordering::Relaxed) {
            return Err(Stop);
        }
        Ok(())
    };
    let mut undecoded = Undecoded::default();
    let mut counted = 0u64;
    let replayed = replay_borrowed(
        &mut reader,
        |_, packet, _| -> Result<Next, Stop> {
            if let Some(error) = &packet.error {
                undecoded.note(packet.frame, error);
            }
            Ok(Next::Continue)
        },
        |tick| {
            bar.inc(tick.bytes_read.saturating_sub(counted));
            counted = counted.max(tick.bytes_read);
            send(tick.retired)
        },
    )?;
    send(replayed.analyzer.finish())?;
    bar.inc(input.bytes.saturating_sub(counted));
    outcome.frames = replayed.frames;
    outcome.flows = kept;
    outcome.undecoded = undecoded;
    outcome.error = replayed.error;
    Ok(outcome)
}
