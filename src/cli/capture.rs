//! `protolab capture`: live capture with decoded lines and state changes as they
//! happen (the `inspect` format), optionally written to a pcap file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::analyze::Analyzer;
use crate::capture::{LiveCapture, LiveConfig};
use crate::decode::decode;
use crate::output::{frame_line, write_frame_json};

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
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Bytes kept per frame (headers-only captures use e.g. 128).
    #[arg(short = 's', long, default_value_t = 262_144)]
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
    let mut analyzer = Analyzer::new();
    let stdout = std::io::stdout();
    let mut t0 = None;
    let mut seen = 0u64;
    let mut write_error = None;
    while !interrupted.load(Ordering::Relaxed)
        && deadline.is_none_or(|d| Instant::now() < d)
        && args.count.is_none_or(|c| seen < c)
    {
        let frame = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(frame) => frame,
            Err(RecvTimeoutError::Timeout) => continue,
            // No receiver side work (writing to a file only): just wait for the stop.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        seen += 1;
        let packet = decode(&frame);
        let analysis = analyzer.process_frame(&packet, &frame.bytes);
        let t0 = *t0.get_or_insert(packet.ts_ns);
        let mut out = stdout.lock();
        let result = if args.json {
            write_frame_json(&mut out, &packet, analysis)
        } else {
            writeln!(out, "{}", frame_line(&packet, analysis, t0))
        };
        if let Err(e) = result.and_then(|_| out.flush()) {
            write_error = Some(e);
            break;
        }
    }
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
