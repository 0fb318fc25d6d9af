//! `protolab report FILE|RUN_DIR [-o DIR] [--lang en|zh]`: the full lab report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::chart::Lang;
use crate::files::{load_input, write_report};
use crate::report::ReportInput;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A pcap/pcapng file, or a run folder written by `protolab run`.
    pub input: PathBuf,
    /// Output folder; `reports/<capture name>/` (or `reports/<run id>/`) when omitted.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Language of the whole report.
    #[arg(long, value_parser = super::choices::lang_parser(), default_value = "en")]
    pub lang: Lang,
}

/// `reports/<run-id>/` for a run folder, `reports/<capture-stem>/` for a file.
pub fn default_out_dir(input: &ReportInput) -> PathBuf {
    let name = input
        .run
        .as_ref()
        .and_then(|r| r.run_id.clone())
        .or_else(|| {
            input
                .capture_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "report".to_string());
    Path::new("reports").join(name)
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    // The report hashes the capture and reads it more than once: it needs a file.
    if args.input.as_os_str() == "-" {
        anyhow::bail!(
            "report needs a capture file or a run folder, not standard input: \
             save the stream first (`tcpdump -w FILE`), then `protolab report FILE`"
        );
    }
    let input = load_input(&args.input)?;
    let out = args.out.clone().unwrap_or_else(|| default_out_dir(&input));
    let files = write_report(&input, &out, args.lang)?;
    for e in &files.chart_errors {
        eprintln!("protolab: warning: chart not drawn: {e}");
    }
    let mut stdout = std::io::stdout().lock();
    for file in [&files.index_html, &files.report_md, &files.report_json] {
        writeln!(stdout, "{}", file.display())?;
    }
    drop(stdout);
    // Like inspect and flows: the whole frames are reported (report.md says so at
    // the top), then the damage is an error.
    if let Some(d) = &input.data.damage {
        anyhow::bail!(d.after_writing(&format!("the report in {}", out.display())));
    }
    Ok(ExitCode::SUCCESS)
}
