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
    /// connect-timeout: how many times the client sends its SYN again (TCP_SYNCNT,
    /// 1-127) before connect() gives up; the gaps double from 1 s, so 2 takes about
    /// 7 s (1+2+4) and Linux's default 6 about 127 s.
    #[arg(long, value_name = "N", default_value_t = crate::scenario::connect_timeout::DEFAULT_SYN_RETRIES, value_parser = clap::value_parser!(u8).range(1..=127))]
    pub syn_retries: u8,
    /// file-transfer: the client's congestion control (TCP_CONGESTION), e.g. cubic
    /// or reno, whose ssthresh the window chart draws (BBR never sets one); default:
    /// the system's (sysctl net.ipv4.tcp_congestion_control).
    #[arg(long = "cc", value_name = "ALGO", value_parser = super::values::parse_congestion)]
    pub congestion_control: Option<String>,
}

impl ScenarioArgs {
    /// `scenario`'s parameters; everything not given keeps its default.
    pub fn params(&self, scenario: ScenarioName) -> Params {
        Params {
            clients: self.clients.unwrap_or(default_clients(scenario)),
            file: self.file.clone(),
            bytes: self.bytes,
            protocol: self.protocol,
            syn_retries: self.syn_retries,
            congestion_control: self.congestion_control.clone(),
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
