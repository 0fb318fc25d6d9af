//! Command-line interface: clap definitions, one file per subcommand.
//!
//! Exit codes: 0 success, 1 the command ran and found a failed
//! expectation, 2 usage or environment error (bad file, missing privilege).

mod capture;
mod chart;
mod chat_args;
mod chat_ports;
mod choices;
mod client;
mod compare;
mod completions;
mod flows;
mod inspect;
mod lab;
mod link_args;
mod progress;
mod report;
mod run;
mod scenario_args;
mod scenarios;
mod serve;
mod values;
mod watch;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for usage and environment errors.
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "protolab",
    version,
    about = "A protocol lab: decode captures, infer both TCP endpoints' states, explain every packet",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode every frame of a capture, one line each, with state changes inline.
    Inspect(inspect::InspectArgs),
    /// One record per TCP connection or UDP stream, with both endpoints' states.
    Flows(flows::FlowsArgs),
    /// Run a scenario on loopback (or --netns through the impairing bridge) while capturing;
    /// the kernel's states beside the inferred ones.
    Run(run::RunArgs),
    /// TCP vs UDP through the same lossy link at several loss levels, with a report (root).
    Compare(compare::CompareArgs),
    /// List the scenarios and what each teaches.
    Scenarios(scenarios::ScenariosArgs),
    /// Only the server side of a scenario, on any address (works with nc / telnet).
    Serve(serve::ServeArgs),
    /// Only the client side of a scenario, against any server.
    Client(client::ClientArgs),
    /// Live capture on an interface: decoded lines and state changes as they happen.
    Capture(capture::CaptureArgs),
    /// Draw one chart of a capture: ladder, states, seq, throughput, rtt or layers (SVG or PNG).
    Chart(chart::ChartArgs),
    /// The full lab report for a capture or a run folder: HTML, Markdown, JSON and charts.
    Report(report::ReportArgs),
    /// Lab housekeeping: `protolab lab clean` removes leftover plab- namespaces and links.
    Lab(lab::LabArgs),
    /// Live page in the browser: connections, growing ladders, the state diagram lit,
    /// the kernel's socket table beside the inferred states.
    Watch(watch::WatchArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
}

/// Parses the process arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Flows(args) => flows::run(args),
        Command::Capture(args) => capture::run(args),
        Command::Run(args) => run::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Scenarios(args) => scenarios::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Client(args) => client::run(args),
        Command::Chart(args) => chart::run(args),
        Command::Report(args) => report::run(args),
        Command::Lab(args) => lab::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Completions(args) => completions::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`protolab inspect big.pcap | head`) is not an error.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "protolab: {}", error_text(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Ctrl-C (SIGINT) for a server, registered now, before the server can take a
/// connection: `tokio::signal::ctrl_c()` registers only when first polled, and a
/// Ctrl-C before that would kill the process without its summary.
fn interrupt_signal() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

/// The error and its causes, as `{:#}` would print them, but without a cause whose
/// text the message before it already says (most of our messages quote their OS
/// error: "cannot open X: No such file or directory (os error 2)").
fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PROTOLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour codes only for a terminal: in a log file or a pipe they are noise.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_quotes_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let quoted = crate::capture::CaptureError::Open {
            path: "/x.pcap".into(),
            source: io,
        };
        assert_eq!(
            error_text(&anyhow::Error::new(quoted)),
            "cannot open /x.pcap: No such file"
        );
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let wrapped = anyhow::Error::new(io).context("loading the store");
        assert_eq!(error_text(&wrapped), "loading the store: No such file");
    }
}
