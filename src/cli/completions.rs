//! `protolab completions SHELL`: shell completion scripts from the clap definitions.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::{Generator, Shell};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    cmd.set_bin_name("protolab");
    cmd.build();
    // `try_generate`, not `generate`: the latter panics when the reader has gone
    // (`protolab completions bash | head -1`); the error returned here is a closed
    // pipe, which `cli::run` ends quietly with 0.
    let mut out = std::io::stdout().lock();
    args.shell.try_generate(&cmd, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
