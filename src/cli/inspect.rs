//! `protolab inspect FILE`: every frame decoded, one line each (or NDJSON).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::capture::{FileReader, FrameFilter};
use crate::output::{end_line, frame_line, write_end_json, write_frame_json_app};
use crate::replay::{replay, Next};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A pcap or pcapng file (tcpdump, Wireshark, dumpcap, protolab); `-` reads
    /// standard input (`tcpdump -w - | protolab inspect -`).
    pub file: PathBuf,
    /// One JSON object per frame (NDJSON); the fields are in docs/json.md.
    #[arg(long)]
    pub json: bool,
    /// Show only frames matching this BPF expression (libpcap syntax, as tcpdump).
    /// All frames are still analysed, so states stay right.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Stop after showing this many frames (like tcpdump's -c, at least 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    #[command(flatten)]
    pub chat: super::chat_ports::ChatPortArgs,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let mut filter = args.filter.as_deref().map(FrameFilter::new).transpose()?;
    let mut reader = FileReader::open(&args.file)?;
    let bar = super::progress::file_progress(reader.bytes_total());
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut shown = 0u64;
    let mut t0 = None;
    let mut chat = args.chat.dissector();
    // Flows with a frame shown: the end-of-capture records are printed for these.
    let mut shown_flows = std::collections::HashSet::new();
    let mut stopped = false;
    let replayed = replay(
        &mut reader,
        |frame, packet, analysis| -> anyhow::Result<Next> {
            let t0 = *t0.get_or_insert(packet.ts_ns);
            // Every frame feeds the dissector, shown or not, so streams stay whole.
            let app = chat.frame(packet, &frame.bytes);
            if let Some(f) = filter.as_mut() {
                if !f.matches(frame)? {
                    return Ok(Next::Continue);
                }
            }
            if args.json {
                write_frame_json_app(&mut out, packet, analysis, app.as_ref())?;
            } else {
                let notes = app.as_ref().map(|a| a.line_notes()).unwrap_or_default();
                writeln!(out, "{}{notes}", frame_line(packet, analysis, t0))?;
            }
            shown += 1;
            shown_flows.extend(analysis.flow);
            stopped = args.limit.is_some_and(|l| shown >= l);
            Ok(if stopped { Next::Stop } else { Next::Continue })
        },
        |tick| {
            bar.set_position(tick.bytes_read);
            Ok(())
        },
    )?;
    let error = replayed.error;
    bar.finish_and_clear();
    // What only the end of the capture proves (a connect that timed out), said after
    // the last frame; not when --limit stopped before the end.
    if !stopped {
        let mut analyzer = replayed.analyzer;
        for a in analyzer.conclude() {
            if !a.flow.is_some_and(|f| shown_flows.contains(&f)) {
                continue;
            }
            if args.json {
                write_end_json(&mut out, &a)?;
            } else {
                writeln!(out, "{}", end_line(&a))?;
            }
        }
    }
    out.flush()?;
    match error {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}
