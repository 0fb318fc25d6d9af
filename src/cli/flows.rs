//! `protolab flows FILE`: one record per TCP connection or UDP stream.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::analyze::FlowSummary;
use crate::capture::FileReader;
use crate::output::{flow_rows, flows_header};
use crate::replay::{replay_borrowed, Next};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Proto {
    Tcp,
    Udp,
}

#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// A pcap or pcapng file.
    pub file: PathBuf,
    /// One JSON object per flow (NDJSON), as documented in DESIGN §4.
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
    let replayed = replay_borrowed(
        &mut reader,
        |_, _, _| -> std::io::Result<Next> { Ok(Next::Continue) },
        |tick| {
            bar.set_position(tick.bytes_read);
            emit(&mut out, tick.retired)
        },
    )?;
    emit(&mut out, replayed.analyzer.finish())?;
    bar.finish_and_clear();
    out.flush()?;
    match replayed.error {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}
