//! The options only the chat scenario has, for `protolab serve chat` and
//! `protolab client chat`, and the glue that runs them.

use crate::output::words::plural;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::chat::client::ChatClient;
use crate::chat::message::DataForm;
use crate::chat::server::{ServerConfig, ServerReport};
use crate::chat::store::{Store, StoreSpec};
use crate::chat::{menu, script};
use crate::serving::LogSink;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Chat server (serve chat)")]
pub struct ChatServeArgs {
    /// Where users and offline messages live: a redb file PATH, or redis://HOST:PORT
    /// [default: ~/.local/share/protolab/chat.redb]
    #[arg(long, value_name = "PATH|redis://…")]
    pub store: Option<String>,
    /// Largest frame accepted, in bytes; bigger frames are answered with error 413.
    #[arg(long, value_name = "SIZE", default_value_t = crate::chat::frame::DEFAULT_MAX_FRAME, value_parser = super::values::parse_max_frame, allow_hyphen_values = true)]
    pub max_frame: usize,
    /// Close connections silent for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300.0, value_parser = super::values::parse_seconds, allow_hyphen_values = true)]
    pub idle_timeout: f64,
    /// Frames queued for one client before it counts as too slow and is disconnected.
    #[arg(long, value_name = "FRAMES", default_value_t = 1024)]
    pub queue_len: usize,
}

impl ChatServeArgs {
    /// The store and config, validated.
    pub async fn open(&self) -> anyhow::Result<(StoreSpec, Store, ServerConfig)> {
        if !(self.idle_timeout > 0.0 && self.idle_timeout.is_finite()) {
            anyhow::bail!("--idle-timeout must be a positive number of seconds");
        }
        if self.max_frame < 64 || self.max_frame > u32::MAX as usize {
            anyhow::bail!("--max-frame must be between 64 and {} bytes", u32::MAX);
        }
        if self.queue_len == 0 {
            anyhow::bail!("--queue-len must be at least 1");
        }
        let spec = match &self.store {
            Some(s) => StoreSpec::parse(s),
            None => StoreSpec::Redb(StoreSpec::default_path()),
        };
        let store = Store::open(&spec).await?;
        let config = ServerConfig {
            max_frame: self.max_frame,
            idle_timeout: Duration::from_secs_f64(self.idle_timeout),
            queue_len: self.queue_len,
            ..ServerConfig::default()
        };
        Ok((spec, store, config))
    }
}

/// Serves chat on `listener` until Ctrl-C, handing each log line to `log_sink`
/// as it happens; then prints the server's totals.
/// `interrupt` is the Ctrl-C stream serve registered before it bound: a Ctrl-C (or
/// a SIGTERM serve turns into one) that comes while the store opens is still seen.
pub async fn serve(
    listener: tokio::net::TcpListener,
    args: &ChatServeArgs,
    log_sink: LogSink,
    mut interrupt: tokio::signal::unix::Signal,
) -> anyhow::Result<()> {
    let (spec, store, config) = tokio::select! {
        opened = args.open() => opened?,
        _ = interrupt.recv() => {
            eprintln!("protolab: stopped while the chat store was opening");
            return Ok(());
        }
    };
    let config = ServerConfig { log_sink, ..config };
    eprintln!("protolab: chat store: {spec}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(crate::chat::server::run(listener, store, config, stop_rx));
    interrupt.recv().await;
    let _ = stop_tx.send(true);
    eprintln!("{}", totals(&server.await?));
    Ok(())
}

/// The chat server's totals, one line.
fn totals(report: &ServerReport) -> String {
    format!(
        "{}, {}, {} in, at most {} online, {} dropped as too slow",
        plural(report.connections, "connection", "connections"),
        plural(report.logins, "login", "logins"),
        plural(report.frames_in, "frame", "frames"),
        report.peak_online,
        report.overflowed
    )
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Chat client (client chat)")]
pub struct ChatClientArgs {
    /// Run the commands of FILE instead of the menu ('-' reads standard input).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Log in as this user id before the menu starts (with --password).
    #[arg(long, value_name = "ID", requires = "password")]
    pub user: Option<u32>,
    /// Password for --user.
    #[arg(long, value_name = "PW", requires = "user")]
    pub password: Option<String>,
    /// Save files other users send into DIR.
    #[arg(long, value_name = "DIR")]
    pub save_files: Option<PathBuf>,
    /// Run the lab's N scripted clients (as `protolab run chat --clients N` does).
    #[arg(long)]
    pub lab: bool,
    /// How messages carry `data`: `string`, a JSON string as the notes marshal
    /// it, or `object`, nested JSON (easier to read in a capture). The server
    /// answers in the form the client uses.
    #[arg(long, value_enum, value_name = "FORM", default_value = "string")]
    pub data_form: DataForm,
}

impl ChatClientArgs {
    /// Runs the script or the menu against `addr`. A script whose requests were
    /// answered with an error code exits 1 (after running to its end).
    pub async fn run(&self, addr: SocketAddr) -> anyhow::Result<ExitCode> {
        // Parse the script before connecting: a typo costs nothing.
        let commands = match &self.script {
            Some(path) => {
                let text = if path.as_os_str() == "-" {
                    std::io::read_to_string(std::io::stdin())?
                } else {
                    std::fs::read_to_string(path).map_err(|e| {
                        anyhow::anyhow!("cannot read the script {}: {e}", path.display())
                    })?
                };
                Some(script::parse(&text)?)
            }
            None => None,
        };
        let mut client = ChatClient::connect(addr).await?;
        client.set_form(self.data_form);
        if let Some(dir) = &self.save_files {
            client.save_files_to(dir);
        }
        let mut out = std::io::stdout();
        if let Some(commands) = commands {
            if let (Some(id), Some(pw)) = (self.user, &self.password) {
                let res = client.login(id, pw).await?;
                if res.code != crate::chat::message::code::OK {
                    anyhow::bail!("login {id}: {} {}", res.code, res.error);
                }
            }
            let outcome = script::run(client, &commands, &mut out).await?;
            if let Some(summary) = outcome.failure_summary() {
                eprintln!("protolab: {summary}");
                return Ok(ExitCode::from(1));
            }
        } else {
            let login = self.user.zip(self.password.clone());
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
            menu::run(client, stdin, &mut out, login, terminal).await?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
