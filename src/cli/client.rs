//! `protolab client SCENARIO`: only the client side, against any server address.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;

use crate::scenario::{self, ScenarioName};

#[derive(Debug, Args)]
pub struct ClientArgs {
    #[arg(value_enum)]
    pub scenario: ScenarioName,
    /// Server address: IP:PORT, HOST:PORT (localhost:8001), or :PORT for 127.0.0.1:PORT (default 127.0.0.1 and the scenario's port).
    #[arg(long, value_name = "ADDR", value_parser = super::values::parse_addr)]
    pub connect: Option<SocketAddr>,
    #[command(flatten)]
    pub scenario_args: super::scenario_args::ScenarioArgs,
    #[command(flatten)]
    pub chat: super::chat_args::ChatClientArgs,
}

pub fn run(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let info = scenario::info(args.scenario);
    let addr = args
        .connect
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], info.default_port)));
    let params = args.scenario_args.params(args.scenario);
    let runtime = tokio::runtime::Runtime::new()?;
    if args.scenario == ScenarioName::Chat && !args.chat.lab {
        let code = runtime.block_on(args.chat.run(addr));
        // The menu reads stdin on one of tokio's blocking threads, which a normal
        // runtime drop waits for: the client would sit until a key is pressed
        // after the server went away. Nothing else is left running, so leave now.
        runtime.shutdown_background();
        return code;
    }
    let report = runtime.block_on(scenario::client(args.scenario, addr, &params))?;
    let mut out = std::io::stdout().lock();
    for reply in &report.replies {
        writeln!(out, "{reply}")?;
    }
    drop(out);
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "protolab: {} sent, {} received{}",
        crate::output::words::plural(report.bytes_sent, "byte", "bytes"),
        report.bytes_received,
        report
            .sha256
            .as_ref()
            .map(|h| format!(", sha256 {h}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
