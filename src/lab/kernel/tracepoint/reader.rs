//! The reader thread: drains the instance's ring buffer every poll interval (so it
//! never overflows), from the binary `per_cpu/cpuN/trace_pipe_raw` files or the text
//! `trace_pipe`, hands calibration markers back to the session as they arrive, and
//! stops once it has read the stop marker (written after the event was disabled),
//! so nothing is left behind. A live session's records are handed on, in time
//! order, within a pass of being read, instead of being kept for the end.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread;
use std::time::{Duration, Instant};

use super::record::{Decoded, RecordDecoder, TraceRecord};
use super::tcp_event::TcpEventRecord;
use super::text_line::{parse_trace_line, TraceLine};
use super::tracefs::{open_nonblocking, read_tracefs, Instance};
use crate::lab::kernel::ring_buffer::{decode_page, PageLayout};
use crate::lab::kernel::KernelError;

/// How long stop() lets the reader look for its stop marker before giving up.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// The files the reader thread drains.
pub(super) enum Source {
    Raw {
        cpus: Vec<File>,
        layout: PageLayout,
        page_size: usize,
        decoder: Box<RecordDecoder>,
    },
    Text {
        pipe: File,
    },
}

/// What the reader thread hands back.
#[derive(Debug, Default)]
pub(super) struct ReaderOutput {
    pub(super) records: Vec<TraceRecord>,
    /// TCP congestion-control events (when traced), in trace-clock time.
    pub(super) tcp: Vec<TcpEventRecord>,
    pub(super) lost_events: u64,
    pub(super) lost_unknown: bool,
    pub(super) unknown_states: u64,
    pub(super) stop_marker_seen: bool,
    /// Set for a live session: records go here one pass after they were read (see
    /// [`ReaderOutput::release_live`]), and none are kept (a session that lasts as
    /// long as `serve` must not grow without bound).
    pub(super) live: Option<Sender<TraceRecord>>,
    /// In a live session, how many of `records` were read in earlier passes.
    held: usize,
}

impl ReaderOutput {
    /// Hands on, in time order, the live records that no record still unread can
    /// precede. Called after each pass over the CPUs. A record read on one CPU may
    /// be older than one read just before it on another CPU (events keep coming
    /// while the pass goes from CPU to CPU), but never older than one read a whole
    /// pass earlier: so records wait one pass, and each pass releases everything up
    /// to the newest record of the passes before. A live reader thus prints one
    /// socket's transitions in their order even when it changed CPU between them.
    fn release_live(&mut self) {
        let Some(live) = &self.live else { return };
        let watermark = self.records[..self.held]
            .iter()
            .map(|r| r.ts_trace_ns)
            .max();
        self.records.sort_by_key(|r| r.ts_trace_ns);
        let ready = watermark.map_or(0, |w| self.records.partition_point(|r| r.ts_trace_ns <= w));
        for record in self.records.drain(..ready) {
            // A receiver that went away no longer wants them: drop, do not stop
            // reading (the stop marker must still be drained).
            let _ = live.send(record);
        }
        self.held = self.records.len();
    }

    /// The end of a live session: what is left is handed on, and dropping the
    /// sender ends the receiver's iteration.
    fn end_live(&mut self) {
        self.held = self.records.len();
        self.release_live();
        self.live = None;
    }
}

pub(super) fn stop_marker_text(instance: &str) -> String {
    format!("plab-stop {instance}")
}

pub(super) fn open_raw(
    root: &Path,
    instance: &Instance,
    decoder: RecordDecoder,
) -> Result<Source, KernelError> {
    let header_path = root.join("events/header_page");
    let layout = match read_tracefs(&header_path) {
        Ok(text) => PageLayout::from_header_page(&text).map_err(|detail| KernelError::Format {
            path: header_path.clone(),
            detail,
        })?,
        Err(_) => PageLayout::DEFAULT,
    };
    // Sub-buffers are one page unless `buffer_subbuf_size_kb` (Linux 6.8+) says more.
    let page_size = instance
        .read("buffer_subbuf_size_kb")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .map_or(4096, |kb| (kb * 1024).max(4096));
    let per_cpu = instance.file("per_cpu");
    let mut dirs: Vec<(usize, PathBuf)> = fs::read_dir(&per_cpu)
        .map_err(|e| KernelError::trace_io(&per_cpu, e))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let cpu = entry
                .file_name()
                .to_str()?
                .strip_prefix("cpu")?
                .parse()
                .ok()?;
            Some((cpu, entry.path()))
        })
        .collect();
    dirs.sort();
    let mut cpus = Vec::with_capacity(dirs.len());
    for (_, dir) in dirs {
        match open_nonblocking(&dir.join("trace_pipe_raw")) {
            Ok(f) => cpus.push(f),
            // An offline CPU has no buffer to read.
            Err(KernelError::Io { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if cpus.is_empty() {
        return Err(KernelError::Format {
            path: per_cpu,
            detail: "no readable per_cpu/cpuN/trace_pipe_raw".to_string(),
        });
    }
    Ok(Source::Raw {
        cpus,
        layout,
        page_size,
        decoder: Box::new(decoder),
    })
}

/// Reads all there is now from a non-blocking file into `sink`, chunk by chunk.
/// Returns whether anything was read.
fn drain_file(
    file: &mut File,
    buf: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> Result<(), KernelError>,
) -> Result<bool, KernelError> {
    let mut progressed = false;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(progressed),
            Ok(n) => {
                progressed = true;
                sink(&buf[..n])?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(progressed),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(KernelError::Reader {
                    detail: format!("read failed: {e}"),
                })
            }
        }
    }
}

/// The reader thread: drains the instance until stop is requested and the stop marker
/// (written after the event was disabled) has been read, so nothing is left behind.
pub(super) fn reader_loop(
    mut source: Source,
    stop_flag: &AtomicBool,
    markers: &Sender<(String, u64)>,
    sync_prefix: &str,
    stop_text: &str,
    poll: Duration,
    live: Option<Sender<TraceRecord>>,
) -> Result<ReaderOutput, KernelError> {
    let sink = MarkerSink {
        markers,
        sync_prefix,
        stop_text,
    };
    let mut out = ReaderOutput {
        live,
        ..ReaderOutput::default()
    };
    let mut text_tail: Vec<u8> = Vec::new();
    let mut stop_deadline: Option<Instant> = None;
    let mut buf = vec![
        0u8;
        match &source {
            Source::Raw { page_size, .. } => *page_size,
            Source::Text { .. } => 64 * 1024,
        }
    ];
    loop {
        let progressed = match &mut source {
            Source::Raw {
                cpus,
                layout,
                decoder,
                ..
            } => drain_raw(cpus, layout, decoder, &mut buf, &sink, &mut out)?,
            Source::Text { pipe } => drain_text(pipe, &mut text_tail, &mut buf, &sink, &mut out)?,
        };
        out.release_live();
        if stop_flag.load(Ordering::SeqCst) {
            // One more pass after the stop marker catches events other CPUs committed
            // while the event was being disabled.
            if out.stop_marker_seen && !progressed {
                out.end_live();
                return Ok(out);
            }
            let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + STOP_TIMEOUT);
            if Instant::now() >= deadline {
                tracing::warn!("trace stop marker not seen; the tail of the trace may be missing");
                out.end_live();
                return Ok(out);
            }
        }
        if !progressed {
            thread::sleep(poll);
        }
    }
}

/// Where the reader's markers go: the stop marker ends the read, calibration
/// markers go back to the session.
struct MarkerSink<'a> {
    markers: &'a Sender<(String, u64)>,
    sync_prefix: &'a str,
    stop_text: &'a str,
}

impl MarkerSink<'_> {
    fn on_marker(&self, text: String, ts: u64, out: &mut ReaderOutput) {
        if text == self.stop_text {
            out.stop_marker_seen = true;
        } else if text.starts_with(self.sync_prefix) {
            let _ = self.markers.send((text, ts));
        }
    }
}

/// One pass over every CPU's binary buffer; returns whether anything was read.
fn drain_raw(
    cpus: &mut [File],
    layout: &PageLayout,
    decoder: &RecordDecoder,
    buf: &mut [u8],
    sink: &MarkerSink<'_>,
    out: &mut ReaderOutput,
) -> Result<bool, KernelError> {
    let mut progressed = false;
    for file in cpus.iter_mut() {
        progressed |= drain_file(file, buf, |page| {
            let page = decode_page(layout, page).map_err(|detail| KernelError::Reader {
                detail: format!("undecodable trace_pipe_raw page: {detail}"),
            })?;
            out.lost_events += page.missed.unwrap_or(0);
            out.lost_unknown |= page.missed_unknown;
            for rec in &page.records {
                match decoder.decode(rec) {
                    Decoded::Transition(r) => out.records.push(r),
                    Decoded::Marker { ts_trace_ns, text } => sink.on_marker(text, ts_trace_ns, out),
                    Decoded::Tcp(t) => out.tcp.push(t),
                    Decoded::UnknownState => out.unknown_states += 1,
                    Decoded::Other => {}
                }
            }
            Ok(())
        })?;
    }
    Ok(progressed)
}

/// One pass over the text pipe: whole lines are parsed, a partial last line waits in
/// `tail` for the rest. Returns whether anything was read.
fn drain_text(
    pipe: &mut File,
    tail: &mut Vec<u8>,
    buf: &mut [u8],
    sink: &MarkerSink<'_>,
    out: &mut ReaderOutput,
) -> Result<bool, KernelError> {
    let progressed = drain_file(pipe, buf, |chunk| {
        tail.extend_from_slice(chunk);
        Ok(())
    })?;
    while let Some(nl) = tail.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = tail.drain(..=nl).collect();
        match parse_trace_line(&String::from_utf8_lossy(&line)) {
            Some(TraceLine::Transition {
                ts_trace_ns,
                pid,
                local,
                remote,
                old,
                new,
                ..
            }) => out.records.push(TraceRecord {
                ts_trace_ns,
                pid,
                sock: 0,
                local,
                remote,
                old,
                new,
            }),
            Some(TraceLine::Marker {
                ts_trace_ns, text, ..
            }) => sink.on_marker(text, ts_trace_ns, out),
            None => {}
        }
    }
    Ok(progressed)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::channel;

    use super::*;
    use crate::lab::kernel::KernelState::*;

    fn record(ts_trace_ns: u64) -> TraceRecord {
        TraceRecord {
            ts_trace_ns,
            pid: 0,
            sock: 1,
            local: "127.0.0.1:9000".parse().unwrap(),
            remote: "127.0.0.1:40000".parse().unwrap(),
            old: Established,
            new: CloseWait,
        }
    }

    #[test]
    fn live_records_wait_a_pass_and_come_out_in_time_order() {
        let (tx, rx) = channel();
        let mut out = ReaderOutput {
            live: Some(tx),
            ..ReaderOutput::default()
        };
        let times = |rx: &std::sync::mpsc::Receiver<TraceRecord>| -> Vec<u64> {
            rx.try_iter().map(|r| r.ts_trace_ns).collect()
        };
        // Pass 1 read CPU 0 (t=30), then CPU 1 (t=50): nothing is released yet.
        out.records.extend([record(30), record(50)]);
        out.release_live();
        assert_eq!(times(&rx), [] as [u64; 0]);
        // Pass 2 finds t=40 on CPU 0, committed while pass 1 read CPU 1, and t=60:
        // everything up to pass 1's newest (50) goes, in order.
        out.records.extend([record(40), record(60)]);
        out.release_live();
        assert_eq!(times(&rx), [30, 40, 50]);
        // An idle pass releases what waited; the end releases the rest.
        out.release_live();
        assert_eq!(times(&rx), [60]);
        out.records.push(record(70));
        out.end_live();
        assert_eq!(times(&rx), [70]);
        assert!(out.records.is_empty());
        assert!(
            rx.recv().is_err(),
            "the end of a live session closes the channel"
        );
    }
}
