//! `protolab inspect FILE`: every frame decoded, one line each (or NDJSON).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::capture::{FileReader, FrameFilter};
use crate::export::parquet_frames::FrameParquet;
use crate::output::{end_line, frame_line, write_end_json, write_frame_json_app};
use crate::replay::{replay, Next};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A pcap or pcapng file (tcpdump, Wireshark, dumpcap, protolab); `-` reads
    /// standard input (`tcpdump -w - | protolab inspect -`).
    pub file: PathBuf,
    /// One JSON object per frame (NDJSON); the fields are in docs/json.md.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format: text, json (as --json), or parquet (one row per frame, into
    /// the file given with -o; docs/exports.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The file --format parquet writes.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
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

/// What `inspect` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Parquet,
}

pub fn run(mut args: InspectArgs) -> anyhow::Result<ExitCode> {
    args.json |= args.format == Format::Json;
    let mut parquet = match (args.format, &args.output) {
        (Format::Parquet, Some(path)) => Some(FrameParquet::create(path)?),
        (Format::Parquet, None) => {
            anyhow::bail!("--format parquet writes a file: name it with -o FILE.parquet")
        }
        (_, Some(_)) => anyhow::bail!("-o is for --format parquet; redirect text or JSON"),
        _ => None,
    };
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
            if let Some(parquet) = parquet.as_mut() {
                parquet.push(packet, analysis)?;
            } else if args.json {
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
    // The end-of-capture records are transitions, not frames: no row of their own.
    if let Some(parquet) = parquet {
        parquet.finish()?;
    } else if !stopped {
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
