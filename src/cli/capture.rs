//! `protolab capture`: live capture with decoded lines and state changes as they
//! happen (the `inspect` format), optionally written to a pcap file; at the end,
//! the flows table of `protolab flows` with both endpoints' inferred states.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::analyze::{FlowSummary, FrameAnalysis};
use crate::capture::{FrameRef, LiveCapture, LiveConfig, LiveFrames};
use crate::decode::Packet;
use crate::output::{
    end_line, fit_width, flow_rows, flows_header, frame_line, write_end_json, write_frame_json_app,
};
use crate::replay::{Next, Pipeline, Tick};

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Interface to capture on.
    #[arg(short = 'i', long, default_value = "lo")]
    pub interface: String,
    /// BPF filter (tcpdump syntax), applied in the kernel.
    #[arg(short = 'f', long = "filter", value_name = "BPF", default_value = "")]
    pub filter: String,
    /// Also write every frame to this pcap file (flushed on exit, also on Ctrl-C).
    #[arg(short = 'w', long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Do not print a line per frame (only the counts and the flows table at the end).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub chat: super::chat_ports::ChatPortArgs,
    /// Lines are printed by default now, with -w too; kept so old scripts still run.
    #[arg(long, hide = true)]
    pub live: bool,
    /// NDJSON instead of text lines (the flows table at the end then goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Stop after this many frames.
    #[arg(short = 'c', long, value_name = "N", value_parser = super::values::parse_count, allow_hyphen_values = true)]
    pub count: Option<u64>,
    /// Stop after this long: seconds (5, 2.5) or with a unit (500ms).
    #[arg(long, value_name = "SECONDS", value_parser = super::values::parse_positive_seconds, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Bytes kept per frame (headers-only captures use e.g. 128).
    #[arg(short = 's', long, value_name = "SIZE", default_value = "262144", value_parser = super::values::parse_snaplen, allow_hyphen_values = true)]
    pub snaplen: i32,
}

pub fn run(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let print = !args.quiet;
    let (tx, rx) = channel();
    let mut config = LiveConfig::new(&args.interface, &args.filter);
    config.snaplen = args.snaplen;
    config.write_to = args.write.clone();
    config.max_frames = args.count;
    // Every frame reaches the analyzer, printed or not: the flows table at the end
    // is built from all of them.
    let capture = LiveCapture::start(config, Some(tx))?;
    eprintln!(
        "protolab: capturing on {} {}({})",
        args.interface,
        if args.filter.is_empty() {
            String::new()
        } else {
            format!("filter {:?} ", args.filter)
        },
        how_it_stops(args.duration, args.count)
    );
    // A duration too long for the clock (1e30 s) is the same as none.
    let deadline = args
        .duration
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .and_then(|d| Instant::now().checked_add(d));
    let stop =
        || interrupted.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d);
    let stdout = std::io::stdout();
    let width = LineWidth::of_stdout();
    let mut t0 = None;
    // Chat frames get the same `[chat …]` notes as in `inspect` (passwords masked).
    let mut chat = args.chat.dissector();
    let mut visit = |frame: FrameRef<'_>, packet: &Packet, analysis: &FrameAnalysis| {
        if !print {
            return Ok(Next::Continue);
        }
        let app = chat.frame(packet, frame.bytes);
        let t0 = *t0.get_or_insert(packet.ts_ns);
        let mut out = stdout.lock();
        if args.json {
            write_frame_json_app(&mut out, packet, analysis, app.as_ref())?;
        } else {
            let mut line = frame_line(packet, analysis, t0);
            if let Some(app) = &app {
                line.push_str(&app.line_notes());
            }
            for fitted in fit_width(&line, width.get()) {
                writeln!(out, "{fitted}")?;
            }
        }
        out.flush()?;
        Ok::<_, std::io::Error>(Next::Continue)
    };
    // Flows that ended long ago are handed out on the way (memory stays bounded);
    // they are kept for the table.
    let mut flows = Vec::new();
    let mut keep_retired = |tick: Tick| {
        flows.extend(tick.retired);
        Ok(())
    };
    let mut pipeline = Pipeline::new();
    let mut live = LiveFrames::until(&rx, &stop).at_most(args.count);
    let mut printed = pipeline.feed(&mut live, &mut visit, &mut keep_retired);
    let stats = capture.stop()?;
    // What the capture thread queued before it stopped is shown too, so the lines
    // printed add up to the frame count below.
    if printed.is_ok() {
        let left = args.count.map(|n| n.saturating_sub(pipeline.frames));
        let mut queued = LiveFrames::draining(&rx).at_most(left);
        printed = pipeline.feed(&mut queued, &mut visit, &mut keep_retired);
    }
    eprintln!(
        "protolab: {} captured, {} dropped by the kernel{}",
        crate::output::words::plural(stats.frames, "frame", "frames"),
        stats.dropped,
        args.write
            .as_ref()
            .map(|p| format!(", written to {}", p.display()))
            .unwrap_or_default()
    );
    let printed = printed.and_then(|_| {
        // What only the end of the capture proves (a connect that timed out), after
        // the last frame line, as `inspect` says it.
        if print {
            let mut out = stdout.lock();
            for a in pipeline.analyzer.conclude() {
                if args.json {
                    write_end_json(&mut out, &a)?;
                } else {
                    writeln!(out, "{}", end_line(&a))?;
                }
            }
        }
        flows.extend(pipeline.analyzer.finish());
        flows.sort_by_key(|f| f.flow);
        // NDJSON on stdout stays one frame object a line; the table is for people.
        if args.json {
            write_flows(&mut std::io::stderr().lock(), &flows)
        } else {
            let mut out = stdout.lock();
            // A blank line sets the table apart from the frame lines above it.
            if print && !flows.is_empty() {
                writeln!(out)?;
            }
            write_flows(&mut out, &flows)
        }
    });
    match printed {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The start line's note on when the capture ends: a capture with a limit ends by
/// itself, and saying only "Ctrl-C to stop" would have the user wait or interrupt.
fn how_it_stops(duration: Option<f64>, count: Option<u64>) -> String {
    let frames = |n: u64| crate::output::words::plural(n, "frame", "frames");
    match (duration, count) {
        (None, None) => "Ctrl-C to stop".into(),
        (Some(s), None) => format!("for {s} s, or Ctrl-C to stop"),
        (None, Some(n)) => format!("until {}, or Ctrl-C to stop", frames(n)),
        (Some(s), Some(n)) => format!(
            "until {} or for {s} s, whichever comes first, or Ctrl-C to stop",
            frames(n)
        ),
    }
}

/// How wide a frame line may be. A terminal is asked for every line, so a split
/// that is resized mid-capture is followed; `COLUMNS` is the fallback, and the
/// only width of a pipe or file (full lines there, unless it is set).
enum LineWidth {
    Terminal(console::Term),
    Fixed(Option<usize>),
}

impl LineWidth {
    fn of_stdout() -> Self {
        if std::io::stdout().is_terminal() {
            LineWidth::Terminal(console::Term::stdout())
        } else {
            LineWidth::Fixed(columns_env())
        }
    }

    fn get(&self) -> Option<usize> {
        match self {
            LineWidth::Terminal(term) => term
                .size_checked()
                .map(|(_rows, cols)| usize::from(cols))
                .or_else(columns_env),
            LineWidth::Fixed(width) => *width,
        }
    }
}

/// `COLUMNS`, when it holds a positive number.
fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&w| w > 0)
}

/// The table `protolab flows` prints, with both endpoints' states, or a line saying
/// there was nothing to put in it.
fn write_flows(out: &mut impl Write, flows: &[FlowSummary]) -> std::io::Result<()> {
    if flows.is_empty() {
        eprintln!("protolab: no TCP or UDP flows captured");
        return Ok(());
    }
    writeln!(out, "{}", flows_header())?;
    for f in flows {
        writeln!(out, "{}", flow_rows(f))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_line_says_when_the_capture_ends() {
        assert_eq!(how_it_stops(None, None), "Ctrl-C to stop");
        assert_eq!(how_it_stops(Some(5.0), None), "for 5 s, or Ctrl-C to stop");
        assert_eq!(
            how_it_stops(Some(0.5), None),
            "for 0.5 s, or Ctrl-C to stop"
        );
        assert_eq!(
            how_it_stops(None, Some(1)),
            "until 1 frame, or Ctrl-C to stop"
        );
        assert_eq!(
            how_it_stops(Some(2.0), Some(10)),
            "until 10 frames or for 2 s, whichever comes first, or Ctrl-C to stop"
        );
    }
}
