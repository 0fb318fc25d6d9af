//! `protolab serve` as a user runs it, the real binary against a plain
//! `std::net::TcpStream` client (what `nc` does): the log appears while the server
//! runs, Ctrl-C ends it with 130 (SIGTERM with 143, as cleanly), a one-shot
//! scenario says what it saw, a capture ends with the commands that look at it, and
//! the kernel's own record of the connections' TCP states is printed as it changes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// Longest any one step may take.
const LIMIT: Duration = Duration::from_secs(10);

/// A running `protolab serve`, its output read line by line as it comes.
struct Serve {
    child: Child,
    addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Stdout lines read by [`Serve::stdout_until`] so far.
    seen: Vec<String>,
}

/// Sends every line of `pipe` to the returned channel, from a thread of its own.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Serve {
    /// Starts `protolab serve SCENARIO` on a port the kernel picks, and waits for
    /// its "serving … on ADDR" line (it is listening from then on).
    fn start(scenario: &str) -> Serve {
        Serve::start_with(scenario, &["--listen", "127.0.0.1:0"])
    }

    /// [`Serve::start`] with these arguments after the scenario (which must
    /// include `--listen`).
    fn start_with(scenario: &str, args: &[&str]) -> Serve {
        Serve::spawn(Command::new(env!("CARGO_BIN_EXE_protolab")), scenario, args)
    }

    /// [`Serve::start_with`] through `command` (the binary, run as another user say).
    fn spawn(mut command: Command, scenario: &str, args: &[&str]) -> Serve {
        let mut child = command
            .args(["serve", scenario])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        let first = stderr.recv_timeout(LIMIT).expect("the serving line");
        let prefix = format!("protolab: serving {scenario} on ");
        let addr = first
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|a| a.trim_end_matches(';'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Serve {
            child,
            addr,
            stdout,
            stderr,
            seen: Vec::new(),
        }
    }

    /// The next stdout line, within [`LIMIT`].
    fn next_stdout(&self) -> String {
        self.stdout
            .recv_timeout(LIMIT)
            .expect("a log line while the server runs")
    }

    /// The next line of the server's log (the kernel's lines skipped), within [`LIMIT`].
    fn next_log(&self) -> String {
        std::iter::repeat_with(|| self.next_stdout())
            .find(|line| !line.starts_with("kernel: "))
            .unwrap()
    }

    /// Reads stdout until `done` holds for all its lines so far, within [`LIMIT`];
    /// fails with every line read, saying it waited for `what`.
    fn stdout_until(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "waited {LIMIT:?} in vain for {what}; stdout:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends `signal` to the server (SIGINT is Ctrl-C).
    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits for the exit; returns the code and the rest of stderr.
    fn wait(self) -> (Option<i32>, String) {
        let (code, stderr, _) = self.wait_with_stdout();
        (code, stderr)
    }

    /// [`Serve::wait`], and the whole of stdout.
    fn wait_with_stdout(mut self) -> (Option<i32>, String, Vec<String>) {
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.stderr.iter().collect();
        let mut stdout = std::mem::take(&mut self.seen);
        stdout.extend(self.stdout.iter());
        (status.code(), rest.join("\n"), stdout)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bug: `serve tcp-upper` printed nothing until Ctrl-C.
#[test]
fn serve_prints_each_log_line_as_it_happens() {
    let server = Serve::start("tcp-upper");
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let me = stream.local_addr().unwrap();
    stream.write_all(b"hello\n").unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    assert_eq!(answer, "HELLO\n");
    // The server is still running, and our connection is still open.
    assert_eq!(server.next_log(), format!("connect {me}"));

    stream.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert_eq!(server.next_log(), format!("close {me}"));

    let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let (code, stderr) = server.wait();
    assert_eq!(code, Some(130), "Ctrl-C exits with 130\n{stderr}");
    assert!(
        stderr.contains("protolab: 1 connection, 6 bytes in, 6 bytes out"),
        "{stderr}"
    );
}

/// Bug: `serve time-wait` never showed the re-bind attempts it exists for.
#[test]
fn serve_time_wait_prints_the_rebind_attempts() {
    let server = Serve::start("time-wait");
    let addr = server.addr;
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.write_all(b"hello\n").unwrap();
    // The server answers and closes first; our close is the second FIN.
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    drop(stream);

    // One connection is all time-wait serves: it ends on its own, with its notes.
    let (code, stderr) = server.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let without = stderr
        .find(&format!(
            "note: bind {addr} without SO_REUSEADDR: EADDRINUSE"
        ))
        .unwrap_or_else(|| panic!("no EADDRINUSE note\n{stderr}"));
    let with = stderr
        .find(&format!("note: bind + listen {addr} with SO_REUSEADDR: ok"))
        .unwrap_or_else(|| panic!("no re-bind note\n{stderr}"));
    assert!(without < with, "{stderr}");
    assert!(stderr.contains("in TIME_WAIT"), "{stderr}");
}

/// A port free right now, for options that need a fixed one (`--capture` filters
/// on the port before the server binds).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One line to the server and its answer, then a close from our side first (the
/// client's FIN leaves first, as `nc` does at the end of its input); returns our
/// address.
fn one_exchange(addr: SocketAddr) -> SocketAddr {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let me = stream.local_addr().unwrap();
    stream.write_all(b"hello\n").unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    assert_eq!(answer, "HELLO\n");
    stream.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    me
}

/// The kernel's lines without their times: `kernel: +0.412345s  SOCKET  OLD -> NEW`
/// becomes `SOCKET  OLD -> NEW`.
fn kernel_lines(stdout: &[String]) -> Vec<String> {
    stdout
        .iter()
        .filter_map(|line| line.strip_prefix("kernel: +"))
        .map(|rest| {
            rest.split_once("s  ")
                .expect("a time, then the socket")
                .1
                .to_string()
        })
        .collect()
}

/// Whether `lines` holds `wanted` in this order (other lines may come between).
fn in_order(lines: &[String], wanted: &[String]) -> bool {
    let mut lines = lines.iter();
    wanted.iter().all(|w| lines.any(|l| l == w))
}

/// The tracefs instances of process `pid` (`plab-<pid>-<n>`).
fn tracing_instances_of(pid: u32) -> Vec<String> {
    let root = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .into_iter()
        .find(|r| std::path::Path::new(r).join("instances").is_dir())
        .expect("tracefs mounted");
    std::fs::read_dir(format!("{root}/instances"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&format!("plab-{pid}-")))
        .collect()
}

/// Bugs: `serve tcp-upper --capture f.pcap` ended with "10 frames written to …" and
/// no word on what to do with the file; and nothing showed the kernel's states of
/// the connection (the notes' `netstat -an` step) as they happened.
#[test]
fn serve_prints_the_kernels_states_and_ends_with_the_commands_that_look_at_the_capture() {
    if !common::require_root("serve --capture tests", "libpcap capture, kernel tracing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A space, so the path must be quoted to be pasted into a shell.
    let pcap = dir.path().join("my capture.pcap");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Serve::start_with(
        "tcp-upper",
        &["--listen", &listen, "--capture", pcap.to_str().unwrap()],
    );
    let pid = server.child.id();
    assert_eq!(
        tracing_instances_of(pid).len(),
        1,
        "serve traces in an instance of its own"
    );
    let me = one_exchange(server.addr);

    // Root: the tracepoint is the witness, and sees every change. The client closes
    // first (its FIN leaves first): the kernel must record the client's
    // ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> CLOSED, handing over to a TIME_WAIT
    // socket, and the server's ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED.
    let server_side = format!("127.0.0.1:{port} <- {me}");
    let client_side = format!("{me} -> 127.0.0.1:{port}");
    let server_states = [
        "LISTEN -> SYN_RECEIVED",
        "SYN_RECEIVED -> ESTABLISHED",
        "ESTABLISHED -> CLOSE_WAIT",
        "CLOSE_WAIT -> LAST_ACK",
        "LAST_ACK -> CLOSED",
    ]
    .map(|s| format!("{server_side}  {s}"));
    let client_states = [
        "SYN_SENT -> ESTABLISHED",
        "ESTABLISHED -> FIN_WAIT_1",
        "FIN_WAIT_1 -> FIN_WAIT_2",
        "FIN_WAIT_2 -> CLOSED  (TIME_WAIT goes on in a socket of its own: `ss -tan` lists it for 60 s)",
    ]
    .map(|s| format!("{client_side}  {s}"));
    // Printed as they happen: seen while the server still runs.
    server.stdout_until(
        "the kernel's states of both ends of the connection",
        |out| {
            let kernel = kernel_lines(out);
            in_order(&kernel, &server_states) && in_order(&kernel, &client_states)
        },
    );

    // SIGTERM stops serve as Ctrl-C does: summary, capture, tracing instance removed.
    server.signal(nix::sys::signal::Signal::SIGTERM);
    let (code, stderr) = server.wait();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(tracing_instances_of(pid), [] as [String; 0], "{stderr}");
    assert!(
        stderr.contains(&format!(
            "protolab: kernel: the TCP states of port {port}'s connections, from the \
             tracepoint sock:inet_sock_set_state, as they happen"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("protolab: 1 connection,"), "{stderr}");
    let quoted = format!("'{}'", pcap.display());
    for step in ["flows", "inspect", "report"] {
        let command = format!("  protolab {step} {quoted}  ");
        assert!(
            stderr.contains(&command),
            "no {command:?} after the capture\n{stderr}"
        );
    }
    let written = stderr.find("frames written to").expect(&stderr);
    assert!(
        written < stderr.find("next steps:").expect(&stderr),
        "{stderr}"
    );
}

/// `--no-kernel`: the log alone, not a word from the kernel.
#[test]
fn serve_no_kernel_prints_no_kernel_lines() {
    let mut server = Serve::start_with("tcp-upper", &["--listen", "127.0.0.1:0", "--no-kernel"]);
    let me = one_exchange(server.addr);
    let close = format!("close {me}");
    server.stdout_until("the server's close", |out| out.contains(&close));
    server.signal(nix::sys::signal::Signal::SIGINT);
    // The whole of stdout: serve stops its kernel watch before it exits.
    let (code, stderr, stdout) = server.wait_with_stdout();
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(stdout, [format!("connect {me}"), close], "{stderr}");
    assert!(!stderr.contains("kernel"), "{stderr}");
}

/// Bug (UDP runs said the same with an empty kernel section): UDP has no connection
/// state, which is the notes' own point; serve says so, once, and nothing more.
#[test]
fn serve_udp_says_there_is_no_connection_state_to_show() {
    let server = Serve::start("udp-daytime");
    let said = server
        .stderr
        .recv_timeout(LIMIT)
        .expect("a line after the serving line");
    assert!(
        said.starts_with("protolab: kernel: UDP has no connection state"),
        "{said}"
    );
    // And how to try it by hand, as the notes do with nc.
    let hint = server.stderr.recv_timeout(LIMIT).expect("the try-it line");
    assert_eq!(
        hint,
        format!("protolab: try it: nc -u 127.0.0.1 {}", server.addr.port())
    );
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(LIMIT)).unwrap();
    socket.send_to(b"time?", server.addr).unwrap();
    let mut buf = [0u8; 512];
    socket.recv_from(&mut buf).expect("the time");
    server.signal(nix::sys::signal::Signal::SIGINT);
    let (code, stderr, stdout) = server.wait_with_stdout();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stdout.iter().all(|l| !l.starts_with("kernel:")),
        "{stdout:?}"
    );
}

/// Bug: a SIGTERM (or Ctrl-C) that came while `serve chat` was still opening its
/// store was lost (the chat server listened for Ctrl-C only once the store was
/// open), so serve never stopped. Here the store is a "Redis" that accepts and
/// never answers: serve must stop at once, with 143.
#[test]
fn serve_chat_stops_on_sigterm_while_its_store_is_opening() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store = format!("redis://{}", silent.local_addr().unwrap());
    let server = Serve::start_with(
        "chat",
        &["--listen", "127.0.0.1:0", "--store", &store, "--no-kernel"],
    );
    server.signal(nix::sys::signal::Signal::SIGTERM);
    let mut server = server;
    let status = common::wait::wait_for(LIMIT, "serve exits after SIGTERM", || {
        server.child.try_wait().unwrap()
    });
    assert_eq!(status.code(), Some(143));
    let rest: Vec<String> = server.stderr.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("stopped while the chat store was opening")),
        "{rest:#?}"
    );
    drop(silent);
}

/// Without root the tracepoint is out of reach: serve polls the socket table
/// (sock_diag, else /proc/net/tcp), says so and what polling can miss, and still
/// prints the states that last: here as user `nobody`, the connection's
/// ESTABLISHED (held until it is printed) and the client's TIME_WAIT (60 s).
#[test]
fn serve_without_root_polls_the_socket_table_and_says_so() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !common::require_root("serve as another user", "setuid to nobody") {
        return;
    }
    // A copy nobody may run, wherever the checkout lives.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.path().join("protolab");
    std::fs::copy(env!("CARGO_BIN_EXE_protolab"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = Command::new(&binary);
    command.uid(65534).gid(65534).current_dir(dir.path());
    let mut server = Serve::spawn(command, "tcp-upper", &["--listen", "127.0.0.1:0"]);
    let port = server.addr.port();
    let said = server.stderr.recv_timeout(LIMIT).expect("the kernel line");
    assert!(said.contains("polled every 10 ms"), "{said}");
    let said = server
        .stderr
        .recv_timeout(LIMIT)
        .expect("what polling misses");
    assert!(
        said.contains("polled changes may miss short states"),
        "{said}"
    );

    let mut stream = TcpStream::connect(server.addr).unwrap();
    let me = stream.local_addr().unwrap();
    let client_side = format!("{me} -> 127.0.0.1:{port}");
    server.stdout_until("the client's ESTABLISHED, polled", |lines| {
        lines
            .iter()
            .any(|l| l.contains(&client_side) && l.ends_with("-> ESTABLISHED"))
    });
    stream.write_all(b"bye\n").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.read_to_end(&mut rest).unwrap();
    drop(stream);
    server.stdout_until("the client's TIME_WAIT, polled", |lines| {
        lines
            .iter()
            .any(|l| l.contains(&client_side) && l.ends_with("-> TIME_WAIT"))
    });
    server.signal(nix::sys::signal::Signal::SIGINT);
    let (code, _) = server.wait();
    assert_eq!(code, Some(130));
}
