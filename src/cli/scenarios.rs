//! `protolab scenarios`: the scenarios and what each teaches.

use std::process::ExitCode;

use clap::Args;

use crate::scenario::{self, Transport};

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    /// 用中文说明 (explanations in Chinese).
    #[arg(long)]
    pub zh: bool,
}

pub fn run(args: ScenariosArgs) -> anyhow::Result<ExitCode> {
    for s in scenario::all() {
        let transport = if s.transport == Transport::Tcp {
            "tcp"
        } else {
            "udp"
        };
        let teaches = if args.zh { s.teaches_zh } else { s.teaches };
        println!("{:<14} {transport} {:>5}  {teaches}", s.id, s.default_port);
    }
    Ok(ExitCode::SUCCESS)
}
