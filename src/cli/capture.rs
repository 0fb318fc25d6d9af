//! `protolab capture`: live capture with decoded lines and state changes as they
//! happen (the `inspect` format), optionally written to a pcap file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::capture::{LiveCapture, LiveConfig, LiveFrames};
use crate::output::{frame_line, write_frame_json};
use crate::replay::{replay_borrowed, Next};

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
    /// Print decoded lines as frames arrive (the default unless -w is given).
    #[arg(long)]
    pub live: bool,
    /// NDJSON instead of text lines.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many frames.
    #[arg(short = 'c', long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this long: seconds (5, 2.5) or with a unit (500ms).
    #[arg(long, value_name = "SECONDS", value_parser = super::values::parse_seconds, allow_hyphen_values = true)]
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
    let print = args.live || args.write.is_none();
    let (tx, rx) = channel();
    let mut config = LiveConfig::new(&args.interface, &args.filter);
    config.snaplen = args.snaplen;
    config.write_to = args.write.clone();
    let capture = LiveCapture::start(config, print.then_some(tx))?;
    eprintln!(
        "protolab: capturing on {} {}(Ctrl-C to stop)",
        args.interface,
        if args.filter.is_empty() {
            String::new()
        } else {
            format!("filter {:?} ", args.filter)
        }
    );
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    let stop =
        || interrupted.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d);
    // No receiver (writing to a file only): the source just waits for the stop.
    let mut frames = LiveFrames::until(&rx, &stop).at_most(args.count);
    let stdout = std::io::stdout();
    let mut t0 = None;
    let printed = replay_borrowed(
        &mut frames,
        |_, packet, analysis| -> std::io::Result<Next> {
            let t0 = *t0.get_or_insert(packet.ts_ns);
            let mut out = stdout.lock();
            if args.json {
                write_frame_json(&mut out, packet, analysis)?;
            } else {
                writeln!(out, "{}", frame_line(packet, analysis, t0))?;
            }
            out.flush()?;
            Ok(Next::Continue)
        },
        |_| Ok(()),
    );
    let write_error = printed.err();
    let stats = capture.stop()?;
    eprintln!(
        "protolab: {} frames captured, {} dropped by the kernel{}",
        stats.frames,
        stats.dropped,
        args.write
            .as_ref()
            .map(|p| format!(", written to {}", p.display()))
            .unwrap_or_default()
    );
    match write_error {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
