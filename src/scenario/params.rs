//! What a scenario is asked to do: one [`Params`] for every scenario, each reading
//! only the fields it needs (the number of clients, the lines to send, the file to
//! transfer, whether to serve until shutdown, where the log lines go).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::Gate;

use crate::serving::{Log, LogSink};

/// Which variant of the file-transfer protocol to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FileProtocol {
    /// name → `ok` → bytes, then the sender closes (end of file = FIN).
    #[default]
    Simple,
    /// name → `ok` → size → `ok` → bytes → `ok`: the receiver can verify the size.
    Sized,
}

/// What the scenarios are asked to do. Each scenario reads only the fields it needs.
#[derive(Clone, Debug)]
pub struct Params {
    /// Concurrent clients (`tcp-upper`, `udp-daytime`); the other scenarios use one connection.
    pub clients: usize,
    /// The lines each `tcp-upper` client sends. A line `exit` ends the session there:
    /// the server answers `BYE` and closes first.
    pub lines: Vec<String>,
    /// `file-transfer`: the file to send; without one, `bytes` of generated content.
    pub file: Option<PathBuf>,
    /// `file-transfer`: the name to announce instead of the file's own name
    /// (to try the server's checks, e.g. `../etc/passwd`).
    pub name: Option<String>,
    /// `file-transfer`: size of the generated content when `file` is `None`.
    pub bytes: u64,
    /// `file-transfer`: protocol variant.
    pub protocol: FileProtocol,
    /// `file-transfer`: where the server saves what it receives (created if missing).
    pub recv_dir: PathBuf,
    /// Keep serving until shutdown (`protolab serve`), instead of returning once the
    /// expected clients are done (`protolab run`). `time-wait` is always one-shot.
    pub serve_forever: bool,
    /// Also gets each server log line as it happens (`protolab serve` prints them,
    /// so a user trying the server with `nc` sees it work); the report keeps them
    /// either way.
    pub log_sink: LogSink,
    /// The crossing scenarios that open simultaneously (`simultaneous-open`,
    /// `syn-received-close`): the address the server side connects to — the
    /// client's own address and fixed port, from which the client connects too.
    pub peer: Option<SocketAddr>,
    /// The crossing scenarios: lets the second side act once the first side's SYN
    /// or FIN has left (the lab runner sets one; stand-alone there is none).
    pub gate: Gate,
    /// `connect-timeout`: the client's `TCP_SYNCNT`, how many times its SYN is sent
    /// again before connect() gives up.
    pub syn_retries: u8,
    /// `file-transfer`: the client's congestion control (`TCP_CONGESTION`, e.g.
    /// `cubic`); `None` keeps the system's default.
    pub congestion_control: Option<String>,
    /// `file-transfer`: how long the client waits for a stalled transfer to
    /// move (a write, the receiver's answer, its FIN). A lab run gives it the
    /// run's whole `--timeout`: through a lossy link TCP backs off for seconds
    /// between resends (200 ms, 400 ms, … doubling), which is no reason to give
    /// up.
    pub transfer_stall: Duration,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            clients: 1,
            lines: vec!["hello".into(), "protolab".into()],
            file: None,
            name: None,
            bytes: 64 * 1024,
            protocol: FileProtocol::Simple,
            recv_dir: PathBuf::from("received"),
            serve_forever: false,
            log_sink: LogSink::default(),
            peer: None,
            gate: Gate::default(),
            syn_retries: super::connect_timeout::DEFAULT_SYN_RETRIES,
            congestion_control: None,
            transfer_stall: super::IO_TIMEOUT,
        }
    }
}

impl Params {
    /// How many connections (or UDP clients) a server waits for before it returns.
    pub(super) fn limit(&self, n: usize) -> Option<usize> {
        (!self.serve_forever).then_some(n)
    }

    /// A fresh server log that also feeds [`Params::log_sink`].
    pub(crate) fn log(&self) -> Log {
        Log::new(self.log_sink.clone())
    }
}
