//! `protolab serve SCENARIO`: only the server side, on any address, until Ctrl-C —
//! so the lab runs across two machines, or against `nc` / `telnet` as the client.
//! Beside the server's log it prints the kernel's own record of its connections'
//! TCP states as they change, and a capture ends with the commands that look at it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;

use crate::capture::{LiveCapture, LiveConfig};
use crate::lab::kernel::{KernelError, PortWatch, POLL_EVERY};
use crate::output::words::plural;
use crate::scenario::{self, Listener, LogSink, Params, ScenarioName, ServerReport, Transport};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(value_enum)]
    pub scenario: ScenarioName,
    /// Address to listen on: IP:PORT, HOST:PORT (localhost:8001), or :PORT for 127.0.0.1:PORT (default 127.0.0.1 and the scenario's port).
    #[arg(long, value_name = "ADDR", value_parser = super::values::parse_addr)]
    pub listen: Option<SocketAddr>,
    /// simultaneous-open, syn-received-close, syn-received-abort: the client's
    /// address, which this side connects to while the client connects here (nobody
    /// listens): IP:PORT, the client's fixed port (the scenario's own, e.g.
    /// 192.0.2.7:8021).
    #[arg(long, value_name = "ADDR", value_parser = super::values::parse_addr)]
    pub peer: Option<SocketAddr>,
    /// Capture this side's traffic into FILE (pcap) while serving.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// Interface for --capture ("any" sees every interface).
    #[arg(short = 'i', long, default_value = "any")]
    pub interface: String,
    /// Where file-transfer saves received files.
    #[arg(long, value_name = "DIR", default_value = "received")]
    pub recv_dir: PathBuf,
    /// Do not print the kernel's TCP state changes of the server's connections
    /// (the `kernel: …` lines: the tracepoint with root, else the polled socket table).
    #[arg(long)]
    pub no_kernel: bool,
    #[command(flatten)]
    pub chat: super::chat_args::ChatServeArgs,
    #[command(flatten)]
    pub watch: super::watch::WatchFlag,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let info = scenario::info(args.scenario);
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], info.default_port)));
    if args.scenario.opens_simultaneously() && args.peer.is_none() {
        anyhow::bail!(
            "{} has no listener: this side connects to the client while the client \
             connects here, so it needs the client's address: give --peer IP:{}",
            info.id,
            info.default_port
        );
    }
    // The capture filter is set before the server binds, so it needs the port.
    if args.capture.is_some() && addr.port() == 0 {
        anyhow::bail!(
            "--capture needs a fixed port to filter on: give --listen one \
             (e.g. --listen 127.0.0.1:{})",
            info.default_port
        );
    }
    let capture = match &args.capture {
        Some(path) => {
            let proto = if info.transport == Transport::Tcp {
                "tcp"
            } else {
                "udp"
            };
            let mut config =
                LiveConfig::new(&args.interface, &format!("{proto} port {}", addr.port()));
            config.write_to = Some(path.clone());
            Some(LiveCapture::start(config, None)?)
        }
        None => None,
    };
    // The page is up (its URL the first line on stdout) before a client can come.
    let watch = if args.watch.watch {
        if addr.port() == 0 || !addr.ip().is_loopback() {
            anyhow::bail!(
                "--watch follows a fixed port on loopback: give --listen one (e.g. --listen 127.0.0.1:{})",
                info.default_port
            );
        }
        args.watch.start(addr.port(), &info.transport.to_string())?
    } else {
        None
    };
    // A stand-alone server serves until Ctrl-C, however many clients come, and
    // prints its log as it goes: a user trying it with `nc` sees each connection.
    let params = Params {
        serve_forever: true,
        recv_dir: args.recv_dir.clone(),
        log_sink: print_log(),
        peer: args.peer,
        ..Params::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let terminated = Arc::new(AtomicBool::new(false));
    let result = runtime.block_on(async {
        // Both signals are registered before the server can take a connection.
        let mut interrupt = super::interrupt_signal()?;
        forward_sigterm(Arc::clone(&terminated))?;
        // The bound address, not the asked one: `--listen 127.0.0.1:0` picks a port.
        let (listener, local) = bind(args.scenario, info.transport, addr).await?;
        // Watching starts before the "serving" line: a client that comes once the
        // user has read it is surely seen.
        let kernel = if args.no_kernel {
            KernelLines::Off
        } else {
            KernelLines::start(info.transport, local.port())
        };
        if args.scenario == ScenarioName::Chat {
            let Listener::Tcp(listener) = listener else {
                unreachable!("chat is served over TCP");
            };
            eprintln!("protolab: serving chat on {local}; Ctrl-C to stop");
            kernel.announce(local.port());
            // The chat server has options of its own (--store, --max-frame, …) and
            // waits for Ctrl-C itself, on the stream registered above.
            let served =
                super::chat_args::serve(listener, &args.chat, params.log_sink, interrupt).await;
            // The tracer's tracefs instance is removed even when the store failed.
            kernel.stop();
            served?;
            return anyhow::Ok(true);
        }
        eprintln!(
            "protolab: serving {} on {local} ({}); Ctrl-C to stop",
            info.id, info.teaches
        );
        kernel.announce(local.port());
        // The notes' exercise: any client will do. `-N`: Debian's OpenBSD nc sends
        // its FIN at the end of input only when told, so the close can be watched.
        let nc = match info.transport {
            Transport::Tcp => "nc -N",
            Transport::Udp => "nc -u",
        };
        if args.scenario.crosses() {
            // Only protolab's own client crosses its segments with ours.
            eprintln!(
                "protolab: try it: protolab client {} --connect {local} (the segments cross \
                 only if both sides act within one one-way delay: `protolab run {}` makes sure)",
                info.id, info.id
            );
        } else {
            eprintln!("protolab: try it: {nc} {} {}", local.ip(), local.port());
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut server = tokio::spawn({
            let params = params.clone();
            let name = args.scenario;
            async move { scenario::serve(name, listener, &params, stop_rx).await }
        });
        let (report, interrupted) = tokio::select! {
            _ = interrupt.recv() => {
                let _ = stop_tx.send(true);
                (server.await??, true)
            }
            // A one-shot scenario (time-wait) ends on its own: say what it saw now.
            done = &mut server => (done??, false),
        };
        // The kernel's last lines (the server's closes) before the summary.
        kernel.stop();
        print_summary(&report);
        anyhow::Ok(interrupted)
    });
    if let Some(session) = watch {
        super::watch::finish(session)?;
    }
    if let (Some(capture), Some(path)) = (capture, &args.capture) {
        let stats = capture.stop()?;
        eprintln!(
            "protolab: {} written to {} ({} dropped)",
            plural(stats.frames, "frame", "frames"),
            path.display(),
            stats.dropped
        );
        if stats.frames > 0 {
            eprint!("{}", next_steps(path, info.transport));
        }
    }
    Ok(match result? {
        // The shell's codes for a process ended by SIGTERM / SIGINT.
        true if terminated.load(Ordering::SeqCst) => ExitCode::from(143),
        true => ExitCode::from(130),
        false => ExitCode::SUCCESS,
    })
}

/// Binds the scenario's socket on `addr`; returns it and the address it got.
async fn bind(
    scenario: ScenarioName,
    transport: Transport,
    addr: SocketAddr,
) -> anyhow::Result<(Listener, SocketAddr)> {
    if scenario.opens_simultaneously() {
        // Bound, not listening: this side connects from here to --peer.
        let socket = scenario::bound_socket(addr).map_err(|e| bind_error(addr, e))?;
        let local = socket.local_addr()?.as_socket().unwrap_or(addr);
        return Ok((Listener::Fixed(socket), local));
    }
    Ok(match transport {
        Transport::Tcp => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| bind_error(addr, e))?;
            let local = l.local_addr()?;
            (Listener::Tcp(l), local)
        }
        Transport::Udp => {
            let s = tokio::net::UdpSocket::bind(addr)
                .await
                .map_err(|e| bind_error(addr, e))?;
            let local = s.local_addr()?;
            (Listener::Udp(s), local)
        }
    })
}

/// SIGTERM (`kill`, a service manager, a test harness) stops serve the way Ctrl-C
/// does — connections closed, summary and capture written, the kernel tracer's
/// tracefs instance removed — instead of killing it on the spot. It is turned into
/// a SIGINT to this process, so the one Ctrl-C path (the chat server's included)
/// does the work; `terminated` records it for the exit code.
fn forward_sigterm(terminated: Arc<AtomicBool>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        while term.recv().await.is_some() {
            terminated.store(true, Ordering::SeqCst);
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT);
        }
    });
    Ok(())
}

/// The kernel's record of the server's connections, printed beside its log (the
/// `netstat -an` step of the notes, made continuous): off, impossible (UDP), or a
/// [`PortWatch`] on the listening port.
enum KernelLines {
    Off,
    /// UDP keeps no per-peer state in the kernel: there is nothing to follow.
    Udp,
    Watching(Box<PortWatch>),
    Unavailable(KernelError),
}

impl KernelLines {
    /// Starts watching the port's TCP sockets; each change is printed on stdout
    /// as `kernel: +SECONDS  SOCKET  OLD -> NEW` as it happens.
    fn start(transport: Transport, port: u16) -> KernelLines {
        if transport == Transport::Udp {
            return KernelLines::Udp;
        }
        let t0_ns = crate::lab::kernel::realtime_ns();
        match PortWatch::start(port, move |change| {
            // A closed stdout (`serve … | head`) must not stop the server.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "kernel: {}", change.line(port, t0_ns));
            let _ = out.flush();
        }) {
            Ok(watch) => KernelLines::Watching(Box::new(watch)),
            Err(e) => KernelLines::Unavailable(e),
        }
    }

    /// Says on stderr what the kernel lines are, where they come from and what
    /// they can miss.
    fn announce(&self, port: u16) {
        let text = match self {
            KernelLines::Off => return,
            KernelLines::Udp => "protolab: kernel: UDP has no connection state, so there are \
                 no state changes to show (`ss -uan` lists the one socket, UNCONN, \
                 whoever sends to it)"
                .to_string(),
            KernelLines::Watching(watch) => match watch.tracepoint_error() {
                None => format!(
                    "protolab: kernel: the TCP states of port {port}'s connections, from {}, \
                     as they happen (seconds since serve started; compare with `ss -tan`)",
                    watch.witness().describe()
                ),
                Some(e) => format!(
                    "protolab: kernel: the TCP states of port {port}'s connections, from {} \
                     polled every {} ms (seconds since serve started; compare with `ss -tan`)\n\
                     protolab: kernel: polled changes may miss short states (SYN_RECEIVED, \
                     FIN_WAIT_1, LAST_ACK); the tracepoint sock:inet_sock_set_state sees every \
                     change, but {}",
                    watch.witness().describe(),
                    POLL_EVERY.as_millis(),
                    why_no_tracepoint(e)
                ),
            },
            KernelLines::Unavailable(e) => format!(
                "protolab: kernel: no record of the TCP states can be read here ({e}); \
                 `ss -tan` shows them"
            ),
        };
        eprintln!("{text}");
    }

    /// Stops watching: every change seen is printed, the tracing instance removed.
    fn stop(self) {
        if let KernelLines::Watching(watch) = self {
            if let Err(e) = watch.stop() {
                eprintln!("protolab: kernel: {e}");
            }
        }
    }
}

/// Why the tracepoint is not used, in a user's words (the error's own text names
/// library functions as the alternative).
fn why_no_tracepoint(e: &KernelError) -> String {
    match e {
        KernelError::TracePermission { .. } | KernelError::TracefsMount { .. } => {
            "it needs root: run serve with sudo".to_string()
        }
        KernelError::NoTracepoint { .. } => {
            "this kernel does not have it (it needs Linux 4.16 or later)".to_string()
        }
        other => format!("it failed: {other}"),
    }
}

/// Prints each server log line on stdout as it happens.
fn print_log() -> LogSink {
    LogSink::new(|line| {
        // A closed stdout (`serve … | head`) must not stop the server: ignore errors.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    })
}

/// What the server saw, after it stopped: its notes and totals (the log lines
/// were printed as they happened).
fn print_summary(report: &ServerReport) {
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "protolab: {}, {} in, {} out",
        plural(report.connections, "connection", "connections"),
        plural(report.bytes_in, "byte", "bytes"),
        plural(report.bytes_out, "byte", "bytes")
    );
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        anyhow::anyhow!(
            "{addr} is in use: choose another with --listen, or see who holds it with `ss -tanp 'sport = :{}'`",
            addr.port()
        )
    } else {
        anyhow::anyhow!("cannot listen on {addr}: {e}")
    }
}

/// What to do with the capture now: the commands that look at it, ready to paste
/// (the path as the user gave it, quoted for the shell where it needs quotes).
fn next_steps(path: &Path, transport: Transport) -> String {
    let file = shell_quote(&path.to_string_lossy());
    let flows = match transport {
        Transport::Tcp => "each connection, with both ends' states",
        // UDP has no connections and no states: flows lists its streams.
        Transport::Udp => "each stream of datagrams, both ways",
    };
    let steps = [
        ("flows", flows),
        ("inspect", "every frame, state changes inline"),
        (
            "report",
            "the lab report: ladder, charts, step-through player",
        ),
    ];
    let width = steps
        .iter()
        .map(|(cmd, _)| cmd.len() + file.len())
        .max()
        .unwrap_or(0);
    let mut out = String::from("next steps:\n");
    for (cmd, what) in steps {
        let command = format!("protolab {cmd} {file}");
        // `#` comments: the lines can be pasted into a shell as they are.
        out.push_str(&format!("  {command:<w$}  # {what}\n", w = width + 10));
    }
    out
}

/// `s` as one shell word: as it is when it is plainly safe, else in single quotes
/// (a `'` inside becomes `'\''`).
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_name_the_capture_ready_to_paste() {
        assert_eq!(
            next_steps(Path::new("f.pcap"), Transport::Tcp),
            "next steps:\n  \
             protolab flows f.pcap    # each connection, with both ends' states\n  \
             protolab inspect f.pcap  # every frame, state changes inline\n  \
             protolab report f.pcap   # the lab report: ladder, charts, step-through player\n"
        );
    }

    #[test]
    fn udp_next_steps_speak_of_streams_not_connections() {
        let steps = next_steps(Path::new("u.pcap"), Transport::Udp);
        assert!(
            steps.contains("# each stream of datagrams, both ways"),
            "{steps}"
        );
        assert!(!steps.contains("connection"), "{steps}");
    }

    #[test]
    fn paths_the_shell_would_split_are_quoted() {
        assert_eq!(shell_quote("captures/run-1.pcap"), "captures/run-1.pcap");
        assert_eq!(shell_quote("my capture.pcap"), "'my capture.pcap'");
        assert_eq!(shell_quote("it's.pcap"), r"'it'\''s.pcap'");
        assert_eq!(shell_quote("$HOME.pcap"), "'$HOME.pcap'");
        assert_eq!(shell_quote(""), "''");
    }
}
