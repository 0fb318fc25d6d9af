//! `protolab serve` as a user runs it, the real binary against a plain
//! `std::net::TcpStream` client (what `nc` does): the log appears while the server
//! runs, Ctrl-C ends it with 130, a one-shot scenario says what it saw, and a
//! capture ends with the commands that look at it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// Longest any one step may take.
const LIMIT: Duration = Duration::from_secs(10);

/// A running `protolab serve`, its output read line by line as it comes.
struct Serve {
    child: Child,
    addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
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
        let mut child = Command::new(env!("CARGO_BIN_EXE_protolab"))
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
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Serve {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// The next stdout line, within [`LIMIT`].
    fn next_stdout(&self) -> String {
        self.stdout
            .recv_timeout(LIMIT)
            .expect("a log line while the server runs")
    }

    /// Sends `signal` to the server (SIGINT is Ctrl-C).
    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits for the exit; returns the code and the rest of stderr.
    fn wait(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.stderr.iter().collect();
        (status.code(), rest.join("\n"))
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
    assert_eq!(server.next_stdout(), format!("connect {me}"));

    stream.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert_eq!(server.next_stdout(), format!("close {me}"));

    let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let (code, stderr) = server.wait();
    assert_eq!(code, Some(130), "Ctrl-C exits with 130\n{stderr}");
    assert!(
        stderr.contains("protolab: 1 connections, 6 bytes in, 6 bytes out"),
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

/// Bug: `serve tcp-upper --capture f.pcap` ended with "10 frames written to …" and
/// no word on what to do with the file.
#[test]
fn serve_with_a_capture_ends_with_the_commands_that_look_at_it() {
    if !common::require_root("serve --capture tests", "libpcap capture") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A space, so the path must be quoted to be pasted into a shell.
    let pcap = dir.path().join("my capture.pcap");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Serve::start_with(
        "tcp-upper",
        &["--listen", &listen, "--capture", pcap.to_str().unwrap()],
    );
    one_exchange(server.addr);
    // The close is logged once the server has seen it: the capture has it too.
    let close =
        std::iter::from_fn(|| Some(server.next_stdout())).find(|line| line.starts_with("close "));
    assert!(close.is_some());

    server.signal(nix::sys::signal::Signal::SIGINT);
    let (code, stderr) = server.wait();
    assert_eq!(code, Some(130), "{stderr}");
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
