//! `protolab capture` as a user runs it on loopback (root: libpcap on `lo`): a
//! connection the test makes itself, then the flows table with both endpoints'
//! states at the end (of `--duration`, of `-c`, or at Ctrl-C), the per-frame lines
//! kept with `-w` and dropped with `-q`, a capture file `flows` can read after a
//! Ctrl-C, and lines fitted to `COLUMNS`. Also: `completions` into a closed pipe.
//!
//! Every capture filters on the port of a listener of the test's own, so other
//! tests' loopback traffic never shows up in it.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::require_root;
use common::wait::wait_until;

const LIMIT: Duration = Duration::from_secs(30);

/// A running `protolab capture`, its stdout and stderr collected as they come.
struct Capture {
    child: Option<Child>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// What a finished capture printed.
struct Printed {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Capture {
    /// Starts `protolab capture -i lo -f "tcp port PORT" ARGS` and waits until it
    /// says it is capturing (the filter is installed by then: nothing is missed).
    fn start(port: u16, args: &[&str], columns: Option<&str>) -> Capture {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_protolab"));
        cmd.args(["capture", "-i", "lo", "-f", &format!("tcp port {port}")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match columns {
            Some(c) => cmd.env("COLUMNS", c),
            None => cmd.env_remove("COLUMNS"),
        };
        let mut child = cmd.spawn().expect("run protolab capture");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        let capture = Capture {
            child: Some(child),
            stdout,
            stderr,
            readers,
        };
        capture.wait_for_stderr("protolab: capturing on lo");
        capture
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn wait_for_stdout(&self, what: &str) {
        wait_until(LIMIT, &format!("capture prints {what:?}"), || {
            self.stdout().contains(what)
        });
    }

    fn wait_for_stderr(&self, what: &str) {
        wait_until(LIMIT, &format!("capture says {what:?}"), || {
            self.stderr.lock().unwrap().contains(what)
        });
    }

    /// Ctrl-C, as a terminal sends it.
    fn interrupt(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.as_ref().unwrap().id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    }

    /// Waits for the capture to end by itself (or after [`Capture::interrupt`]).
    fn finish(mut self) -> Printed {
        let status = self.child.take().unwrap().wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        Printed {
            status,
            stdout: self.stdout(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

/// A listener on a free loopback port; its port is what the capture filters on.
fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// One whole connection: handshake, 5 bytes, and the client closes first, so it
/// ends in TIME_WAIT and the server, after its own FIN is acknowledged, in CLOSED.
fn one_connection(listener: &TcpListener) {
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    server.set_read_timeout(Some(LIMIT)).unwrap();
    client.write_all(b"hello").unwrap();
    let mut got = [0u8; 5];
    server.read_exact(&mut got).unwrap();
    drop(client);
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).unwrap();
    drop(server);
}

/// The state paths of the flows table, e.g. "client: CLOSED > SYN_SENT > …".
fn state_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("client: ") || l.starts_with("server: "))
        .collect()
}

/// The whole connection's paths, as the flows table prints them.
fn assert_whole_connection(stdout: &str) {
    assert!(
        stdout.contains(" flow proto client"),
        "no flows table:\n{stdout}"
    );
    let paths = state_lines(stdout);
    assert_eq!(paths.len(), 2, "one flow, two endpoints:\n{stdout}");
    assert!(
        paths[0].starts_with("client: CLOSED > SYN_SENT > ESTABLISHED >")
            && paths[0].ends_with("> TIME_WAIT"),
        "{stdout}"
    );
    assert!(
        paths[1].starts_with("server: LISTEN > SYN_RECEIVED > ESTABLISHED >")
            && paths[1].ends_with("> LAST_ACK > CLOSED"),
        "{stdout}"
    );
}

/// The per-frame lines: a frame number, then a timestamp in seconds (a table row
/// has the protocol there).
fn frame_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            words.next().is_some_and(|n| n.parse::<u64>().is_ok())
                && words.next().is_some_and(|t| t.parse::<f64>().is_ok())
        })
        .collect()
}

#[test]
fn a_capture_with_a_duration_ends_with_the_flows_table() {
    if !require_root("capture tests", "libpcap on lo") {
        return;
    }
    let (listener, port) = listener();
    // Long enough for one loopback connection many times over, on a loaded machine.
    let capture = Capture::start(port, &["--duration", "4"], None);
    one_connection(&listener);
    let out = capture.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stderr.contains("(for 4 s, or Ctrl-C to stop)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("(Ctrl-C to stop)"), "{}", out.stderr);
    assert!(out.stderr.contains(" captured, "), "{}", out.stderr);
    assert!(
        frame_lines(&out.stdout).len() >= 7,
        "a line per frame:\n{}",
        out.stdout
    );
    assert_whole_connection(&out.stdout);
}

#[test]
fn ctrl_c_with_w_keeps_the_lines_prints_the_table_and_leaves_a_valid_file() {
    if !require_root("capture tests", "libpcap on lo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.pcap");
    let (listener, port) = listener();
    let capture = Capture::start(port, &["-w", file.to_str().unwrap()], None);
    assert!(capture.stderr.lock().unwrap().contains("(Ctrl-C to stop)"));
    one_connection(&listener);
    // The last frame's line: the server's final ACK closes it.
    capture.wait_for_stdout("server LAST_ACK -> CLOSED");
    capture.interrupt();
    let out = capture.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("written to {}", file.display())),
        "{}",
        out.stderr
    );
    assert!(frame_lines(&out.stdout).len() >= 7, "{}", out.stdout);
    assert_whole_connection(&out.stdout);
    // The file is whole: `flows` reads it and finds the same connection.
    let flows = flows_of(&file);
    assert_whole_connection(&flows);
    assert_eq!(state_lines(&flows), state_lines(&out.stdout));
}

#[test]
fn quiet_prints_no_frame_lines_but_the_table() {
    if !require_root("capture tests", "libpcap on lo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.pcap");
    let (listener, port) = listener();
    // The handshake is three frames, whatever the rest of the connection does.
    let capture = Capture::start(port, &["-q", "-w", file.to_str().unwrap(), "-c", "3"], None);
    assert!(capture
        .stderr
        .lock()
        .unwrap()
        .contains("(until 3 frames, or Ctrl-C to stop)"),);
    one_connection(&listener);
    let out = capture.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(frame_lines(&out.stdout).is_empty(), "{}", out.stdout);
    assert!(!out.stdout.contains(" -> "), "{}", out.stdout);
    assert_eq!(
        state_lines(&out.stdout),
        [
            "client: CLOSED > SYN_SENT > ESTABLISHED",
            "server: LISTEN > SYN_RECEIVED > ESTABLISHED"
        ],
        "{}",
        out.stdout
    );
    // `-c 3` holds for the file and the count too, not only for what is shown.
    assert!(
        out.stderr.contains("protolab: 3 frames captured"),
        "{}",
        out.stderr
    );
    let inspect = common::protolab(&["inspect", file.to_str().unwrap()]);
    assert!(inspect.status.success());
    assert_eq!(
        frame_lines(&String::from_utf8_lossy(&inspect.stdout)).len(),
        3
    );
    assert!(flows_of(&file).contains(" flow proto client"));
}

#[test]
fn lines_fit_columns_and_are_whole_without_it() {
    if !require_root("capture tests", "libpcap on lo") {
        return;
    }
    for columns in [Some("60"), None] {
        let (listener, port) = listener();
        let capture = Capture::start(port, &["-c", "3"], columns);
        one_connection(&listener);
        let out = capture.finish();
        assert!(out.status.success(), "{}", out.stderr);
        let lines = frame_lines(&out.stdout);
        assert_eq!(lines.len(), 3, "{}", out.stdout);
        for line in &lines {
            let width = line.chars().count();
            match columns {
                Some(_) => assert!(
                    width <= 60 && line.contains('…'),
                    "cut to 60 columns: {line:?}"
                ),
                // The SYN's line with its options is far wider than 60.
                None => assert!(width > 60 && !line.contains('…'), "whole: {line:?}"),
            }
        }
        let all: Vec<&str> = out.stdout.lines().collect();
        let syn = all.iter().position(|l| *l == lines[0]).unwrap();
        match columns {
            // The cut falls in the packet's details: the SYN's state change, which
            // does not fit beside the addresses in 60 columns, is on the next line,
            // whole, and no line is wider than the terminal.
            Some(_) => {
                assert_eq!(
                    all[syn + 1].trim_start(),
                    "| client CLOSED -> SYN_SENT",
                    "{}",
                    out.stdout
                );
                assert!(
                    all.iter()
                        .take_while(|l| !l.contains(" flow proto "))
                        .all(|l| l.chars().count() <= 60),
                    "{}",
                    out.stdout
                );
            }
            None => assert!(
                lines[0].ends_with("  | client CLOSED -> SYN_SENT"),
                "{}",
                lines[0]
            ),
        }
    }
}

fn flows_of(file: &Path) -> String {
    let out = common::protolab(&["flows", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "flows {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Bug: `protolab completions bash | head -1` panicked ("failed to write
/// completion file: Broken pipe") when head had gone before the script was written.
#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    // The reading end is closed before the process starts: its first write fails.
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["completions", "bash"])
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
}

/// Bug: `capture` showed chat traffic as bare TCP while `inspect` of the same
/// frames tags each message (`[chat LoginMes …]`). Both dissect it now, with the
/// password kept off the screen.
#[test]
fn capture_tags_chat_messages_as_inspect_does() {
    if !require_root("capture tests", "libpcap on lo") {
        return;
    }
    let (listener, port) = listener();
    let capture = Capture::start(
        port,
        &["-c", "4", "--chat-port", &port.to_string()],
        Some("400"),
    );
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let body =
        br#"{"type":"LoginMes","data":{"userId":100,"userPwd":"pw-on-the-wire","userName":""}}"#;
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    client.write_all(&frame).unwrap();
    let mut got = vec![0u8; frame.len()];
    server.set_read_timeout(Some(LIMIT)).unwrap();
    server.read_exact(&mut got).unwrap();
    let out = capture.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("[chat LoginMes"),
        "no chat note:\n{}",
        out.stdout
    );
    assert!(!out.stdout.contains("pw-on-the-wire"), "{}", out.stdout);
    drop((client, server));
}
