//! `protolab flows FILE`: one record per TCP connection or UDP stream.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::analyze::FlowSummary;
use crate::capture::FileReader;
use crate::decode::DecodeError;
use crate::output::{flow_rows, flows_header};
use crate::replay::{replay_borrowed, Next};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Proto {
    Tcp,
    Udp,
}

#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// A pcap or pcapng file; `-` reads standard input (`tcpdump -w - | protolab …`).
    pub file: PathBuf,
    /// One JSON object per flow (NDJSON); the fields are in docs/json.md.
    #[arg(long)]
    pub json: bool,
    /// Only TCP connections or only UDP streams.
    #[arg(long, value_enum)]
    pub proto: Option<Proto>,
}

pub fn run(args: FlowsArgs) -> anyhow::Result<ExitCode> {
    let mut reader = FileReader::open(&args.file)?;
    let bar = super::progress::file_progress(reader.bytes_total());
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    if !args.json {
        writeln!(out, "{}", flows_header())?;
    }
    let shown = std::cell::Cell::new(0u64);
    let emit = |out: &mut BufWriter<_>, flows: Vec<FlowSummary>| -> std::io::Result<()> {
        for f in flows {
            let keep = match args.proto {
                Some(Proto::Tcp) => f.proto == "tcp",
                Some(Proto::Udp) => f.proto == "udp",
                None => true,
            };
            if !keep {
                continue;
            }
            shown.set(shown.get() + 1);
            if args.json {
                serde_json::to_writer(&mut *out, &f)?;
                out.write_all(b"\n")?;
            } else {
                writeln!(out, "{}", flow_rows(&f))?;
            }
        }
        Ok(())
    };
    // Flows that ended long before the end of the file are written as they retire,
    // so memory stays bounded by the connections that are active.
    let mut undecoded = Undecoded::default();
    let replayed = replay_borrowed(
        &mut reader,
        |_, packet, _| -> std::io::Result<Next> {
            if let Some(error) = &packet.error {
                undecoded.note(packet.frame, error);
            }
            Ok(Next::Continue)
        },
        |tick| {
            bar.set_position(tick.bytes_read);
            emit(&mut out, tick.retired)
        },
    )?;
    emit(&mut out, replayed.analyzer.finish())?;
    bar.finish_and_clear();
    out.flush()?;
    // Said on stderr, so the table and the NDJSON stay as they are: an empty
    // result should not look like a tool that silently failed.
    if let Some(note) = undecoded.describe(replayed.frames) {
        eprintln!("protolab: {note}; `protolab inspect` shows each one");
    }
    if shown.get() == 0 && replayed.error.is_none() {
        let what = match args.proto {
            Some(Proto::Tcp) => "TCP connections",
            Some(Proto::Udp) => "UDP streams",
            None => "TCP or UDP flows",
        };
        eprintln!(
            "protolab: no {what} in {}",
            crate::output::words::plural(replayed.frames, "frame", "frames")
        );
    }
    match replayed.error {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Frames that could not be decoded: how many, and the first one's problem.
#[derive(Default)]
struct Undecoded {
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

    fn describe(&self, frames: u64) -> Option<String> {
        let (frame, error) = self.first.as_ref()?;
        Some(format!(
            "{} of {} could not be decoded (frame {frame}: {error})",
            self.count,
            crate::output::words::plural(frames, "frame", "frames")
        ))
    }
}
