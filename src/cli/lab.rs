//! `protolab lab clean`: remove the namespaces and links a killed run left behind.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::lab::netns;

#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub action: LabAction,
}

#[derive(Debug, Subcommand)]
pub enum LabAction {
    /// Remove every network namespace and link whose name starts with `plab-`.
    Clean,
}

pub fn run(args: LabArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        LabAction::Clean => {
            let removed = netns::clean_all()?;
            if removed.is_empty() {
                println!(
                    "nothing to clean: no {}* namespaces or links",
                    netns::PREFIX
                );
            }
            for name in removed {
                println!("removed {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
