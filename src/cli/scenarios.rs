//! `protolab scenarios`: the scenarios and what each teaches.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::chart::Lang;
use crate::scenario::{self, Transport};

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    /// Language of the explanations (zh: 用中文说明), as for run, report and chart.
    #[arg(long, value_parser = super::choices::lang_parser(), default_value = "en")]
    pub lang: Lang,
    /// The same as `--lang zh` (kept for scripts written before --lang).
    #[arg(long, hide = true)]
    pub zh: bool,
}

pub fn run(args: ScenariosArgs) -> anyhow::Result<ExitCode> {
    // writeln, not println: `protolab scenarios | head -1` closes the pipe early,
    // which must end the listing quietly rather than panic.
    let mut out = std::io::stdout().lock();
    let width = scenario::all()
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0);
    for s in scenario::all() {
        let transport = if s.transport == Transport::Tcp {
            "tcp"
        } else {
            "udp"
        };
        let zh = args.zh || args.lang == Lang::Zh;
        let teaches = if zh { s.teaches_zh } else { s.teaches };
        writeln!(
            out,
            "{:<width$} {transport} {:>5}  {teaches}",
            s.id, s.default_port
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
