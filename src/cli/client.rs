//! `protolab client SCENARIO`: only the client side, against any server address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::scenario::{self, FileProtocol, Params, ScenarioName};

#[derive(Debug, Args)]
pub struct ClientArgs {
    #[arg(value_enum)]
    pub scenario: ScenarioName,
    /// Server address (default 127.0.0.1 and the scenario's port).
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<SocketAddr>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// File to send (file-transfer).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Size of the generated file when --file is absent (file-transfer).
    #[arg(long, default_value_t = 64 * 1024)]
    pub bytes: u64,
    #[arg(long, value_enum, default_value = "simple")]
    pub protocol: FileProtocol,
}

pub fn run(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let info = scenario::info(args.scenario);
    let addr = args
        .connect
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], info.default_port)));
    let params = Params {
        clients: args.clients.max(1),
        file: args.file.clone(),
        bytes: args.bytes,
        protocol: args.protocol,
        ..Params::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(scenario::client(args.scenario, addr, &params))?;
    for reply in &report.replies {
        println!("{reply}");
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "protolab: {} bytes sent, {} received{}",
        report.bytes_sent,
        report.bytes_received,
        report
            .sha256
            .as_ref()
            .map(|h| format!(", sha256 {h}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
