//! `protolab flows FILE...`: one record per TCP connection or UDP stream, of one
//! capture or many (directories are read for their captures), in one of several
//! formats.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::analyze::FlowSummary;
use crate::export::inputs::{expand, Input};
use crate::export::parallel::{read_all, Chunk, Outcome};
use crate::export::parquet_flows::ParquetFlowSink;
use crate::export::sink::{FlowSink, JsonSink, TextSink};
use crate::export::zeek_log::{ZeekJsonSink, ZeekTsvSink};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Proto {
    Tcp,
    Udp,
}

/// What `flows` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The table, with each connection's state paths.
    Text,
    /// NDJSON, one object per flow (docs/json.md).
    Json,
    /// Zeek's conn.log (TSV), with community_id, orig_states, resp_states appended.
    Zeek,
    /// Zeek's conn.log as Zeek's JSON logs write it.
    ZeekJson,
    /// One Parquet row per flow, into the file given with -o (docs/exports.md).
    Parquet,
}

#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// Captures (pcap or pcapng) and directories of them (their .pcap/.pcapng files,
    /// recursively, in path order); `-` reads standard input (`tcpdump -w - | protolab …`).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Only TCP connections or only UDP streams.
    #[arg(long, value_enum)]
    pub proto: Option<Proto>,
    /// Captures read at once (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
}

pub fn run(args: FlowsArgs) -> anyhow::Result<ExitCode> {
    let format = if args.json { Format::Json } else { args.format };
    let inputs = expand(&args.files)?;
    let several = inputs.len() != 1;
    if format == Format::Parquet && args.output.is_none() {
        anyhow::bail!("--format parquet writes a file: name it with -o FILE.parquet");
    }
    let out: Box<dyn Write> = match &args.output {
        // Parquet opens its own file.
        Some(_) if format == Format::Parquet => Box::new(std::io::sink()),
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let out = BufWriter::with_capacity(1 << 16, out);
    let mut sink: Box<dyn FlowSink> = match format {
        Format::Text => Box::new(TextSink::new(out, several)),
        Format::Json => Box::new(JsonSink { out }),
        Format::Zeek => Box::new(ZeekTsvSink::new(out)?),
        Format::ZeekJson => Box::new(ZeekJsonSink { out }),
        Format::Parquet => Box::new(ParquetFlowSink::create(
            args.output.as_deref().expect("checked above"),
        )?),
    };
    let keep = |f: &FlowSummary| match args.proto {
        Some(Proto::Tcp) => f.proto == "tcp",
        Some(Proto::Udp) => f.proto == "udp",
        None => true,
    };
    let workers = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar =
        super::progress::captures_progress(inputs.len(), inputs.iter().map(|i| i.bytes).sum());
    let mut failed: Vec<(usize, crate::capture::CaptureError)> = Vec::new();
    let mut started = None;
    read_all(&inputs, workers, &keep, &bar, |i, chunk| {
        // A capture that could not even be opened has no part in the output.
        let opened = match &chunk {
            Chunk::Flows(_) => true,
            Chunk::Done(outcome) => outcome.error.is_none() || outcome.frames > 0,
        };
        if started != Some(i) && opened {
            started = Some(i);
            sink.capture(&inputs[i].name())?;
        }
        match chunk {
            Chunk::Flows(records) => {
                for r in &records {
                    sink.record(r)?;
                }
            }
            Chunk::Done(outcome) => {
                bar.set_message(format!("{}/{}", i + 1, inputs.len()));
                if let Some(error) = notes(&inputs[i], outcome, several, args.proto) {
                    failed.push((i, error));
                }
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    sink.finish()?;
    // One capture named by itself fails as it always did (exit 2, the error said once);
    // among several, each failure is named and the others' flows still go out.
    if !several && inputs[0].explicit {
        if let Some((_, e)) = failed.pop() {
            return Err(e.into());
        }
    }
    for (_, e) in &failed {
        eprintln!("protolab: {e}");
    }
    if !failed.is_empty() {
        eprintln!(
            "protolab: {} of {} could not be read in full; the others' flows were written",
            failed.len(),
            crate::output::words::plural(inputs.len() as u64, "capture", "captures"),
        );
        return Ok(ExitCode::from(1));
    }
    if inputs.is_empty() {
        eprintln!("protolab: no .pcap or .pcapng files in the directories given");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr what a capture's flows cannot show (so the table and the NDJSON
/// stay as they are: an empty result should not look like a tool that silently
/// failed), and hands back its read error, if any.
fn notes(
    input: &Input,
    outcome: Outcome,
    several: bool,
    proto: Option<Proto>,
) -> Option<crate::capture::CaptureError> {
    let prefix = if several {
        format!("{}: ", input.name())
    } else {
        String::new()
    };
    if let Some(note) = outcome.undecoded.describe(outcome.frames) {
        eprintln!("protolab: {prefix}{note}; `protolab inspect` shows each one");
    }
    if outcome.flows == 0 && outcome.error.is_none() {
        let what = match proto {
            Some(Proto::Tcp) => "TCP connections",
            Some(Proto::Udp) => "UDP streams",
            None => "TCP or UDP flows",
        };
        let frames = crate::output::words::plural(outcome.frames, "frame", "frames");
        if several {
            eprintln!("protolab: {prefix}no {what} in {frames}");
        } else {
            eprintln!("protolab: no {what} in {frames}");
        }
    }
    outcome.error
}
