//! The socket programs of the course notes, run as experiments: each scenario
//! has a server side, a client side, and the expectations it teaches — which
//! TCP states each endpoint must pass through and how many bytes each side sends.
//!
//! One file per scenario; this file only holds the shared types, dispatches by
//! [`ScenarioName`], and keeps the few socket helpers every scenario uses.
//!
//! The lab runner owns the sockets' lifecycle around a scenario: it starts the
//! packet capture, *then* creates the listening socket and hands it to
//! [`serve`] (mini-redis style: the server takes a bound listener and a
//! [`Shutdown`] signal), then runs [`client`], and finally compares the capture
//! with [`expectation`].
//!
//! Close order is what the state lists hinge on, so every scenario makes it
//! deterministic: exactly one side closes first, and the other side closes only
//! after it has read end-of-file (the first side's FIN). Two sides closing "at the
//! same time" would sometimes cross their FINs (simultaneous close, CLOSING) and
//! sometimes not, and the expectation could not be stated.
//!
//! # Layout
//!
//! - [`tcp_upper`] — concurrent upper-case echo server, N clients, the client closes first.
//! - [`udp_daytime`] — UDP daytime: datagrams both ways, no handshake, no close.
//! - [`file_transfer`] — the notes' file protocol (name → ok → bytes) and its sized variant.
//! - [`http_hello`] — an axum server answering `Hello World!`, a hyper client.
//! - [`half_close`] — the client shuts down writing; the server keeps sending.
//! - [`server_close`] — the server closes first and ends in TIME_WAIT.
//! - [`rst_abort`] — SO_LINGER 0: close() sends RST instead of FIN.
//! - [`refused`] — nobody listens: the kernel answers the SYN with RST.
//! - [`time_wait`] — the server's TIME_WAIT keeps its port from being re-bound.
//! - [`chat`] — the notes' instant-messaging system: length-prefixed JSON, N users.

pub mod chat;
pub mod file_transfer;
pub mod half_close;
pub mod http_hello;
pub mod refused;
pub mod rst_abort;
pub mod server_close;
pub mod tcp_upper;
pub mod time_wait;
pub mod udp_daytime;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf,
};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::analyze::TcpState;

// ---------------------------------------------------------------------------
// Names and the catalogue
// ---------------------------------------------------------------------------

/// The scenarios, as the command line spells them (`tcp-upper`, `udp-daytime`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ScenarioName {
    TcpUpper,
    UdpDaytime,
    FileTransfer,
    HttpHello,
    HalfClose,
    ServerClose,
    RstAbort,
    Refused,
    TimeWait,
    Chat,
}

impl ScenarioName {
    /// Every scenario, in catalogue order.
    pub fn all() -> &'static [ScenarioName] {
        <ScenarioName as clap::ValueEnum>::value_variants()
    }

    /// The scenario's catalogue entry.
    pub fn info(self) -> &'static ScenarioInfo {
        info(self)
    }

    /// The command-line id, e.g. `tcp-upper`.
    pub fn id(self) -> &'static str {
        info(self).id
    }

    /// Parses a command-line id.
    pub fn from_id(id: &str) -> Option<ScenarioName> {
        all().iter().find(|i| i.id == id).map(|i| i.name)
    }

    /// Whether `serve` needs a listening socket (every scenario but `refused`).
    pub fn listens(self) -> bool {
        self != ScenarioName::Refused
    }
}

impl fmt::Display for ScenarioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The transport a scenario runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One scenario's catalogue entry (`protolab scenarios` prints these).
#[derive(Debug)]
pub struct ScenarioInfo {
    pub name: ScenarioName,
    /// The command-line id, e.g. `tcp-upper`.
    pub id: &'static str,
    pub transport: Transport,
    /// The port `serve` listens on when none is given; distinct per scenario.
    pub default_port: u16,
    /// What the scenario teaches, one sentence.
    pub teaches: &'static str,
    /// The same in Chinese, for `--lang zh`.
    pub teaches_zh: &'static str,
}

static ALL: [ScenarioInfo; 10] = [
    ScenarioInfo {
        name: ScenarioName::TcpUpper,
        id: "tcp-upper",
        transport: Transport::Tcp,
        default_port: 8001,
        teaches: "A concurrent TCP server (one task per connection) echoes lines in upper case; \
                  each client closes first, so the client ends in TIME_WAIT and the server passes \
                  through CLOSE_WAIT and LAST_ACK.",
        teaches_zh: "并发 TCP 服务器（每个连接一个任务）把收到的每一行转成大写回写；客户端先关闭，\
                     所以客户端最后处于 TIME_WAIT，服务器经过 CLOSE_WAIT 和 LAST_ACK。",
    },
    ScenarioInfo {
        name: ScenarioName::UdpDaytime,
        id: "udp-daytime",
        transport: Transport::Udp,
        default_port: 8002,
        teaches: "A UDP server answers every datagram with the current time: no handshake, no \
                  close, no connection state — each datagram stands alone.",
        teaches_zh: "UDP 服务器对每个数据报回复当前时间：没有握手，没有挥手，没有连接状态——\
                     每个数据报都是独立的。",
    },
    ScenarioInfo {
        name: ScenarioName::FileTransfer,
        id: "file-transfer",
        transport: Transport::Tcp,
        default_port: 8003,
        teaches: "The notes' file protocol (name → ok → bytes, then close; or name → ok → size → \
                  ok → bytes → ok): an application protocol on top of a byte stream, where \
                  end-of-file is the sender's FIN.",
        teaches_zh: "笔记中的文件传输协议（文件名 → ok → 文件内容，然后关闭；或 文件名 → ok → \
                     大小 → ok → 内容 → ok）：建立在字节流上的应用层协议，文件结束就是发送端的 FIN。",
    },
    ScenarioInfo {
        name: ScenarioName::HttpHello,
        id: "http-hello",
        transport: Transport::Tcp,
        default_port: 8004,
        teaches: "HTTP/1.1 is a TCP conversation: one request, one response; with \
                  `Connection: close` the server closes first and keeps the TIME_WAIT.",
        teaches_zh: "HTTP/1.1 就是一次 TCP 对话：一个请求，一个响应；请求带 `Connection: close` \
                     时服务器先关闭，TIME_WAIT 留在服务器一侧。",
    },
    ScenarioInfo {
        name: ScenarioName::HalfClose,
        id: "half-close",
        transport: Transport::Tcp,
        default_port: 8005,
        teaches: "shutdown(Write) closes only one direction: the client sits in FIN_WAIT_2 and \
                  the server in CLOSE_WAIT while the server keeps sending.",
        teaches_zh: "shutdown(Write) 只关闭一个方向：服务器继续发送数据时，客户端处于 FIN_WAIT_2，\
                     服务器处于 CLOSE_WAIT（半关闭）。",
    },
    ScenarioInfo {
        name: ScenarioName::ServerClose,
        id: "server-close",
        transport: Transport::Tcp,
        default_port: 8006,
        teaches: "Whoever closes first does the active close: here the server sends the first \
                  FIN and ends in TIME_WAIT, the client passes through CLOSE_WAIT and LAST_ACK.",
        teaches_zh: "先关闭的一方是主动关闭方：这里服务器先发 FIN，最后处于 TIME_WAIT；\
                     客户端经过 CLOSE_WAIT 和 LAST_ACK。",
    },
    ScenarioInfo {
        name: ScenarioName::RstAbort,
        id: "rst-abort",
        transport: Transport::Tcp,
        default_port: 8007,
        teaches: "With SO_LINGER set to 0 s, close() aborts the connection with RST instead of \
                  FIN: both ends go straight to CLOSED, no TIME_WAIT, the peer reads \
                  \"connection reset\".",
        teaches_zh: "把 SO_LINGER 设为 0 秒后，close() 用 RST 而不是 FIN 中止连接：两端直接进入 \
                     CLOSED，没有 TIME_WAIT，对端读到 \"connection reset\"。",
    },
    ScenarioInfo {
        name: ScenarioName::Refused,
        id: "refused",
        transport: Transport::Tcp,
        default_port: 8008,
        teaches: "Connecting to a port where nobody listens: the kernel answers the SYN with \
                  RST and connect() fails with ECONNREFUSED.",
        teaches_zh: "连接一个没有人监听的端口：内核用 RST 回答 SYN，connect() 返回 ECONNREFUSED。",
    },
    ScenarioInfo {
        name: ScenarioName::TimeWait,
        id: "time-wait",
        transport: Transport::Tcp,
        default_port: 8009,
        teaches: "The side that closes first keeps a TIME_WAIT socket for 2×MSL; while it \
                  lives, the port can be bound again only with SO_REUSEADDR.",
        teaches_zh: "先关闭的一方保留一个 TIME_WAIT 套接字（2MSL）；在它存在期间，\
                     只有设置了 SO_REUSEADDR 才能再次绑定这个端口。",
    },
    ScenarioInfo {
        name: ScenarioName::Chat,
        id: "chat",
        transport: Transport::Tcp,
        default_port: 8888,
        teaches: "The notes' chat system: an application protocol on TCP needs its own message \
                  boundaries (a 4-byte length before each JSON message); N users register, log \
                  in, broadcast, chat privately and receive offline messages.",
        teaches_zh: "笔记中的海量用户即时通讯系统：TCP 之上的应用层协议需要自己的消息边界（每条 JSON \
                     消息前有 4 字节长度）；N 个用户注册、登录、群聊、私聊并接收离线留言。",
    },
];

/// Every scenario, in catalogue order.
pub fn all() -> &'static [ScenarioInfo] {
    &ALL
}

/// The catalogue entry of `name`.
pub fn info(name: ScenarioName) -> &'static ScenarioInfo {
    // The table is in declaration order; the test `catalogue_is_in_enum_order` pins it.
    &ALL[name as usize]
}

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

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
        }
    }
}

impl Params {
    /// How many connections (or UDP clients) a server waits for before it returns.
    fn limit(&self, n: usize) -> Option<usize> {
        (!self.serve_forever).then_some(n)
    }

    /// A fresh server log that also feeds [`Params::log_sink`].
    pub(crate) fn log(&self) -> Log {
        Log::new(self.log_sink.clone())
    }
}

// ---------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------

/// The active closer's path: FIN sent, FIN acknowledged, the peer's FIN received.
const ACTIVE_CLOSE: [TcpState; 3] = [TcpState::FinWait1, TcpState::FinWait2, TcpState::TimeWait];
/// The passive closer's path: FIN received, own FIN sent, own FIN acknowledged.
const PASSIVE_CLOSE: [TcpState; 3] = [TcpState::CloseWait, TcpState::LastAck, TcpState::Closed];
const CLIENT_OPEN: [TcpState; 3] = [TcpState::Closed, TcpState::SynSent, TcpState::Established];
const SERVER_OPEN: [TcpState; 3] = [
    TcpState::Listen,
    TcpState::SynReceived,
    TcpState::Established,
];

/// What the capture of one TCP connection must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionExpectation {
    /// The client's states as protolab infers them, initial state first.
    pub client_states: Vec<TcpState>,
    /// The server's states, initial state first.
    pub server_states: Vec<TcpState>,
    /// Payload bytes the client's application writes, when the scenario fixes them:
    /// each byte counted once (a retransmitted segment carries no new bytes).
    pub client_bytes: Option<u64>,
    /// Payload bytes the server's application writes, counted the same way.
    pub server_bytes: Option<u64>,
}

impl ConnectionExpectation {
    /// Handshake, data, and the client closes first: the client ends in TIME_WAIT.
    pub fn client_closes_first(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [CLIENT_OPEN, ACTIVE_CLOSE].concat(),
            server_states: [SERVER_OPEN, PASSIVE_CLOSE].concat(),
            client_bytes,
            server_bytes,
        }
    }

    /// Handshake, data, and the server closes first: the server ends in TIME_WAIT.
    pub fn server_closes_first(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [CLIENT_OPEN, PASSIVE_CLOSE].concat(),
            server_states: [SERVER_OPEN, ACTIVE_CLOSE].concat(),
            client_bytes,
            server_bytes,
        }
    }

    /// Handshake, data, then one side's RST: both go straight to CLOSED.
    pub fn reset(client_bytes: Option<u64>, server_bytes: Option<u64>) -> Self {
        ConnectionExpectation {
            client_states: [&CLIENT_OPEN[..], &[TcpState::Closed]].concat(),
            server_states: [&SERVER_OPEN[..], &[TcpState::Closed]].concat(),
            client_bytes,
            server_bytes,
        }
    }

    /// SYN answered by RST: the client is refused, the server side was CLOSED all along.
    pub fn refused() -> Self {
        ConnectionExpectation {
            client_states: vec![TcpState::Closed, TcpState::SynSent, TcpState::Closed],
            server_states: vec![TcpState::Closed],
            client_bytes: Some(0),
            server_bytes: Some(0),
        }
    }
}

/// What a scenario's capture must show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectation {
    /// One entry per expected TCP connection, in the order the clients open them.
    pub connections: Vec<ConnectionExpectation>,
    /// UDP only: at least this many datagrams client → server and server → client.
    pub udp_datagrams: Option<(u64, u64)>,
    /// What to look at in the capture, for the report.
    pub notes: Vec<&'static str>,
}

// ---------------------------------------------------------------------------
// Reports and errors
// ---------------------------------------------------------------------------

/// What the server side saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerReport {
    /// TCP connections accepted (0 for UDP: it has none).
    pub connections: u64,
    /// Payload bytes read from clients.
    pub bytes_in: u64,
    /// Payload bytes written to clients.
    pub bytes_out: u64,
    /// One line per event, in order: `connect 127.0.0.1:40123`, `close 127.0.0.1:40123`, …
    pub log: Vec<String>,
    /// `file-transfer`: where the received file was saved.
    pub saved: Option<PathBuf>,
    /// `file-transfer`: SHA-256 (hex) of the received bytes.
    pub sha256: Option<String>,
    /// Observations worth a line in the report (e.g. `time-wait`'s re-bind attempts).
    pub notes: Vec<String>,
}

/// What the client side saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientReport {
    /// Payload bytes written, all clients together.
    pub bytes_sent: u64,
    /// Payload bytes read, all clients together.
    pub bytes_received: u64,
    /// The server's answers, one per line or message, client by client.
    pub replies: Vec<String>,
    /// `file-transfer`: SHA-256 (hex) of the bytes sent.
    pub sha256: Option<String>,
    /// Observations worth a line in the report.
    pub notes: Vec<String>,
}

/// Why a scenario could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{what}: nothing happened within {after:?}")]
    Timeout { what: String, after: Duration },
    #[error("scenario {scenario} needs {expected}, but was given {given}")]
    WrongListener {
        scenario: &'static str,
        expected: &'static str,
        given: &'static str,
    },
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the server refused: {reply}")]
    Refused { reply: String },
    #[error("expected {addr} to refuse the connection, but something accepted it")]
    NotRefused { addr: SocketAddr },
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
}

impl ScenarioError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        ScenarioError::Io {
            what: what.into(),
            source,
        }
    }

    /// The peer aborted the connection with RST.
    pub fn is_reset(&self) -> bool {
        matches!(self, ScenarioError::Io { source, .. }
            if source.kind() == io::ErrorKind::ConnectionReset)
    }
}

// ---------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------

/// Tells a server to stop: it stops accepting, closes its connections and returns.
///
/// Built on a `watch` channel: the server stops when the value becomes `true`
/// or when the sender is dropped.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: Option<watch::Receiver<bool>>,
}

impl Shutdown {
    /// A sender (send `true` to stop) and the signal to hand to [`serve`].
    pub fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown { rx: Some(rx) })
    }

    /// A signal that never fires.
    pub fn never() -> Shutdown {
        Shutdown { rx: None }
    }

    /// Whether shutdown was requested already.
    pub fn is_requested(&self) -> bool {
        self.rx
            .as_ref()
            .is_some_and(|rx| *rx.borrow() || rx.has_changed().is_err())
    }

    /// Resolves once shutdown is requested.
    pub async fn requested(&mut self) {
        match &mut self.rx {
            // An error means the sender is gone: nobody can ever tell us to go on.
            Some(rx) => drop(rx.wait_for(|stop| *stop).await),
            None => std::future::pending().await,
        }
    }
}

impl From<watch::Receiver<bool>> for Shutdown {
    fn from(rx: watch::Receiver<bool>) -> Self {
        Shutdown { rx: Some(rx) }
    }
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

/// The socket a server runs on; the lab runner creates it (after starting the capture).
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Udp(UdpSocket),
    /// `refused`: nobody listens, on purpose.
    None,
}

impl Listener {
    fn kind(&self) -> &'static str {
        match self {
            Listener::Tcp(_) => "a TCP listener",
            Listener::Udp(_) => "a UDP socket",
            Listener::None => "no socket",
        }
    }

    fn tcp(self, name: ScenarioName) -> Result<TcpListener, ScenarioError> {
        match self {
            Listener::Tcp(l) => Ok(l),
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "a TCP listener",
                given: other.kind(),
            }),
        }
    }
}

/// Runs the server side of `name` on `listener`.
///
/// Returns once its work is done (the expected clients have finished; see
/// [`Params::serve_forever`]) or when `shutdown` fires. `shutdown` is a [`Shutdown`]
/// or a `tokio::sync::watch::Receiver<bool>` (stop when it turns `true`).
pub async fn serve(
    name: ScenarioName,
    listener: Listener,
    params: &Params,
    shutdown: impl Into<Shutdown>,
) -> Result<ServerReport, ScenarioError> {
    let shutdown = shutdown.into();
    match name {
        ScenarioName::UdpDaytime => match listener {
            Listener::Udp(socket) => udp_daytime::serve(socket, params, shutdown).await,
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "a UDP socket",
                given: other.kind(),
            }),
        },
        ScenarioName::Refused => match listener {
            Listener::None => Ok(refused::serve()),
            other => Err(ScenarioError::WrongListener {
                scenario: name.id(),
                expected: "no socket (nobody may listen)",
                given: other.kind(),
            }),
        },
        ScenarioName::TcpUpper => tcp_upper::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::FileTransfer => {
            file_transfer::serve(listener.tcp(name)?, params, shutdown).await
        }
        ScenarioName::HttpHello => http_hello::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::HalfClose => {
            let session = handler(half_close::session);
            serve_one_session(listener.tcp(name)?, params, shutdown, session).await
        }
        ScenarioName::ServerClose => {
            let session = handler(server_close::session);
            serve_one_session(listener.tcp(name)?, params, shutdown, session).await
        }
        ScenarioName::RstAbort => {
            let session = handler(rst_abort::session);
            serve_one_session(listener.tcp(name)?, params, shutdown, session).await
        }
        ScenarioName::TimeWait => time_wait::serve(listener.tcp(name)?, params, shutdown).await,
        ScenarioName::Chat => chat::serve(listener.tcp(name)?, params, shutdown).await,
    }
}

/// Runs the client side of `name` against `server`.
pub async fn client(
    name: ScenarioName,
    server: SocketAddr,
    params: &Params,
) -> Result<ClientReport, ScenarioError> {
    match name {
        ScenarioName::TcpUpper => tcp_upper::client(server, params).await,
        ScenarioName::UdpDaytime => udp_daytime::client(server, params).await,
        ScenarioName::FileTransfer => file_transfer::client(server, params).await,
        ScenarioName::HttpHello => http_hello::client(server).await,
        ScenarioName::HalfClose => half_close::client(server).await,
        ScenarioName::ServerClose => server_close::client(server).await,
        ScenarioName::RstAbort => rst_abort::client(server).await,
        ScenarioName::Refused => refused::client(server).await,
        ScenarioName::TimeWait => time_wait::client(server).await,
        ScenarioName::Chat => chat::client(server, params).await,
    }
}

/// What a loopback capture of `name`, run with `params`, must show.
pub fn expectation(name: ScenarioName, params: &Params) -> Expectation {
    match name {
        ScenarioName::TcpUpper => tcp_upper::expectation(params),
        ScenarioName::UdpDaytime => udp_daytime::expectation(params),
        ScenarioName::FileTransfer => file_transfer::expectation(params),
        ScenarioName::HttpHello => http_hello::expectation(),
        ScenarioName::HalfClose => half_close::expectation(),
        ScenarioName::ServerClose => server_close::expectation(),
        ScenarioName::RstAbort => rst_abort::expectation(),
        ScenarioName::Refused => refused::expectation(),
        ScenarioName::TimeWait => time_wait::expectation(),
        ScenarioName::Chat => chat::expectation(params),
    }
}

// ---------------------------------------------------------------------------
// Helpers shared by the scenarios
// ---------------------------------------------------------------------------

/// How long a client waits for any one step (connect, a reply, the peer's FIN).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Most log lines a server keeps (a `serve_forever` server would otherwise grow without bound).
const LOG_LIMIT: usize = 10_000;

/// Where a server's log lines go as they happen, besides its report: nowhere by
/// default (`protolab run` prints the log at its end), stdout for `protolab serve`.
#[derive(Clone, Default)]
pub struct LogSink(Option<Arc<LineFn>>);

/// What a [`LogSink`] calls with each line.
type LineFn = dyn Fn(&str) + Send + Sync;

impl LogSink {
    /// Hands every line to `f`, in the order the log keeps them.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        LogSink(Some(Arc::new(f)))
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "LogSink(on)"
        } else {
            "LogSink(off)"
        })
    }
}

/// A server's event log, shared by its connection tasks.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    sink: LogSink,
}

impl Log {
    pub(crate) fn new(sink: LogSink) -> Self {
        Log {
            lines: Arc::default(),
            sink,
        }
    }

    pub(crate) fn push(&self, line: impl Into<String>) {
        let line = line.into();
        tracing::info!("{line}");
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        // Under the lock, so the sink sees the lines in the report's order even when
        // several connection tasks log at once.
        if let Some(sink) = &self.sink.0 {
            sink(&line);
        }
        if lines.len() < LOG_LIMIT {
            lines.push(line);
        } else if lines.len() == LOG_LIMIT {
            lines.push("… (later lines not kept)".into());
        }
    }

    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Byte counters of one stream, readable after the stream is gone.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    read: AtomicU64,
    written: AtomicU64,
}

impl Counts {
    pub(crate) fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// A stream that counts the payload bytes going through it.
#[derive(Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S> Counted<S> {
    pub(crate) fn new(inner: S) -> Self {
        Counted {
            inner,
            counts: Arc::default(),
        }
    }

    pub(crate) fn counts(&self) -> Arc<Counts> {
        Arc::clone(&self.counts)
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.counts.read.fetch_add(n, Ordering::Relaxed);
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.counts.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Runs one client step with [`IO_TIMEOUT`], naming the step in the error.
pub(crate) async fn step<T>(
    what: impl Fn() -> String,
    fut: impl Future<Output = io::Result<T>>,
) -> Result<T, ScenarioError> {
    match tokio::time::timeout(IO_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ScenarioError::io(what(), e)),
        Err(_) => Err(ScenarioError::Timeout {
            what: what(),
            after: IO_TIMEOUT,
        }),
    }
}

/// Connects to `server`, within [`IO_TIMEOUT`].
pub(crate) async fn connect(server: SocketAddr) -> Result<Counted<TcpStream>, ScenarioError> {
    // connect() sends the SYN and returns once the SYN-ACK has arrived and our ACK
    // is on its way: the three-way handshake is done, we are ESTABLISHED.
    let stream = step(
        || format!("connect to {server}"),
        TcpStream::connect(server),
    )
    .await?;
    Ok(Counted::new(stream))
}

/// Reads until the peer's FIN (read returns 0), keeping what arrives.
pub(crate) async fn read_to_eof<S: AsyncRead + Unpin>(
    stream: &mut S,
    what: &str,
) -> Result<Vec<u8>, ScenarioError> {
    let mut rest = Vec::new();
    step(
        || format!("{what}: waiting for the peer's FIN"),
        stream.read_to_end(&mut rest),
    )
    .await?;
    Ok(rest)
}

/// Reads one reply message with a single read: the request/response protocols of
/// the notes rely on each message arriving alone, because each side waits for the
/// other's answer before writing again.
pub(crate) async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    what: &str,
) -> Result<Vec<u8>, ScenarioError> {
    let mut buf = vec![0u8; 1024];
    let n = step(|| what.to_string(), stream.read(&mut buf)).await?;
    buf.truncate(n);
    Ok(buf)
}

/// What one server connection produced.
#[derive(Debug, Default)]
pub(crate) struct ConnOutcome {
    pub saved: Option<PathBuf>,
    pub sha256: Option<String>,
    pub notes: Vec<String>,
}

/// A per-connection handler: the stream (counting bytes), the peer, the server log.
pub(crate) type Handler = Arc<
    dyn Fn(
            Counted<TcpStream>,
            SocketAddr,
            Log,
        ) -> Pin<Box<dyn Future<Output = Result<ConnOutcome, ScenarioError>> + Send>>
        + Send
        + Sync,
>;

/// The accept loop every TCP scenario shares: a task per connection (so clients are
/// served concurrently), `connect`/`close` lines in the log, and a clean stop.
///
/// With `limit`, the loop stops accepting after that many connections, drops the
/// listener (the port stops listening) and returns when they have finished.
/// On shutdown it stops accepting and closes the connections still open.
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    limit: Option<usize>,
    mut shutdown: Shutdown,
    log: Log,
    handler: Handler,
) -> ServerReport {
    let mut report = ServerReport::default();
    let mut tasks = JoinSet::new();
    let mut counts = Vec::new();
    while limit.is_none_or(|n| counts.len() < n) && !shutdown.is_requested() {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.requested() => break,
        };
        // accept() hands over a connection whose handshake the kernel has already
        // completed; the listening socket itself stays in LISTEN for the next one.
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // E.g. too many open files: wait a moment instead of spinning.
                log.push(format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        log.push(format!("connect {peer}"));
        let stream = Counted::new(stream);
        counts.push(stream.counts());
        let work = handler(stream, peer, log.clone());
        let mut stop = shutdown.clone();
        let log = log.clone();
        tasks.spawn(async move {
            tokio::select! {
                outcome = work => {
                    match &outcome {
                        Ok(_) => log.push(format!("close {peer}")),
                        Err(e) if e.is_reset() => {
                            log.push(format!("reset {peer}: the peer aborted the connection (RST)"))
                        }
                        Err(e) => log.push(format!("error {peer}: {e}")),
                    }
                    outcome.ok()
                }
                // Dropping `work` drops the stream: close() sends our FIN.
                () = stop.requested() => {
                    log.push(format!("shutdown: closed {peer}"));
                    None
                }
            }
        });
    }
    // With a limit reached (or on shutdown) nobody else may connect: close the
    // listening socket now, not when the last connection is done.
    drop(listener);
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Some(outcome)) = joined {
            report.saved = outcome.saved.or(report.saved);
            report.sha256 = outcome.sha256.or(report.sha256);
            report.notes.extend(outcome.notes);
        }
    }
    report.connections = counts.len() as u64;
    report.bytes_in = counts.iter().map(|c| c.read()).sum();
    report.bytes_out = counts.iter().map(|c| c.written()).sum();
    report.log = log.take();
    report
}

/// The server of a scenario that teaches one connection: serves one connection
/// with `session` (every connection when `params` says to serve forever), then
/// reports.
async fn serve_one_session(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
    session: Handler,
) -> Result<ServerReport, ScenarioError> {
    Ok(serve_tcp(listener, params.limit(1), shutdown, params.log(), session).await)
}

/// Reads the client's one-line request and writes `answer`: how the one-connection
/// scenarios open, before each ends the connection its own way.
async fn answer_request(
    stream: &mut BufReader<Counted<TcpStream>>,
    answer: &[u8],
) -> Result<(), ScenarioError> {
    let mut line = Vec::new();
    stream
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| ScenarioError::io("read the request", e))?;
    stream
        .write_all(answer)
        .await
        .map_err(|e| ScenarioError::io("answer", e))
}

/// Boxes a per-connection handler for [`serve_tcp`].
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Counted<TcpStream>, SocketAddr, Log) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ConnOutcome, ScenarioError>> + Send + 'static,
{
    Arc::new(move |stream, peer, log| Box::pin(f(stream, peer, log)))
}

/// Runs `n` clients concurrently and merges their reports in client order.
pub(crate) async fn run_clients<F, Fut>(n: usize, one: F) -> Result<ClientReport, ScenarioError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<ClientReport, ScenarioError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let fut = one(i);
        tasks.spawn(async move { (i, fut.await) });
    }
    let mut done = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => done.push(pair),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    done.sort_by_key(|(i, _)| *i);
    let mut report = ClientReport::default();
    for (_, one) in done {
        let one = one?;
        report.bytes_sent += one.bytes_sent;
        report.bytes_received += one.bytes_received;
        report.replies.extend(one.replies);
        report.notes.extend(one.notes);
        report.sha256 = one.sha256.or(report.sha256);
    }
    Ok(report)
}

/// Lossy text of a message, without a trailing line ending.
pub(crate) fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    s.trim_end_matches(['\r', '\n']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn catalogue_is_in_enum_order() {
        for v in ScenarioName::value_variants() {
            assert_eq!(info(*v).name, *v);
            let clap_id = v.to_possible_value().map(|p| p.get_name().to_string());
            assert_eq!(clap_id.as_deref(), Some(info(*v).id));
            assert_eq!(ScenarioName::from_id(v.id()), Some(*v));
        }
        let mut ports: Vec<u16> = all().iter().map(|i| i.default_port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), all().len(), "default ports must be distinct");
    }

    #[test]
    fn shutdown_fires_on_send_and_on_drop() {
        let (tx, sd) = Shutdown::channel();
        assert!(!sd.is_requested());
        tx.send_replace(true);
        assert!(sd.is_requested());
        let (tx, sd) = Shutdown::channel();
        drop(tx);
        assert!(sd.is_requested());
        assert!(!Shutdown::never().is_requested());
    }
}
