//! The scenario parameters `run` and `client` share.

use std::path::PathBuf;

use clap::Args;

use crate::scenario::{FileProtocol, Params, ScenarioName};

#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// Concurrent clients (tcp-upper, udp-daytime, chat); at least 1. Default 1; chat: 3,
    /// the fewest that show a broadcast, a private and an offline message.
    #[arg(long, value_parser = at_least_one)]
    pub clients: Option<usize>,
    /// File to send (file-transfer); generated when absent.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Size of the generated file when --file is absent (file-transfer): 64KiB, 4MiB, 1000000.
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = super::values::parse_size, allow_hyphen_values = true)]
    pub bytes: u64,
    /// file-transfer protocol: the notes' simple one or the sized variant.
    #[arg(long, value_enum, default_value = "simple")]
    pub protocol: FileProtocol,
}

impl ScenarioArgs {
    /// `scenario`'s parameters; everything not given keeps its default.
    pub fn params(&self, scenario: ScenarioName) -> Params {
        Params {
            clients: self.clients.unwrap_or(default_clients(scenario)),
            file: self.file.clone(),
            bytes: self.bytes,
            protocol: self.protocol,
            ..Params::default()
        }
    }
}

/// How many clients a scenario runs when `--clients` is not given: one, except
/// where one client cannot show what the scenario's description promises.
fn default_clients(scenario: ScenarioName) -> usize {
    match scenario {
        ScenarioName::Chat => crate::scenario::chat::DEFAULT_CLIENTS,
        _ => 1,
    }
}

/// A count of 1 or more: `--clients 0` would run nothing, so it is a usage error.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
