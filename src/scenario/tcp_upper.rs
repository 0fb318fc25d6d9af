//! `tcp-upper`: the first server of every socket course — read a line, write it
//! back in upper case — made concurrent with one task per connection.
//!
//! What it teaches:
//! - the three-way handshake happens inside `connect()` and `accept()`;
//! - a TCP connection is a byte stream: the *lines* are our protocol, not TCP's;
//! - a read of 0 bytes means the peer closed its sending direction (its FIN arrived);
//! - whoever closes first does the active close. Our client closes first, so it ends
//!   in TIME_WAIT while the server passes through CLOSE_WAIT and LAST_ACK.
//!
//! Try it by hand: `protolab serve tcp-upper`, then `nc 127.0.0.1 8001` or
//! `telnet 127.0.0.1 8001`, type lines, and type `exit` (or press Ctrl-D with nc).
//! `exit` ends the session from the server's side: it answers `BYE` and closes first.
//!
//! Against the notes' programs (their concurrent server and client, port 8001):
//! - the bytes are the same: a line goes out as typed (`\n`, or `\r\n` from
//!   Windows or telnet), the answer is the same bytes in ASCII upper case;
//! - `BYE` is protolab's own: the notes' server closes on `exit` without a word.
//!   The notes' client just prints `BYE` before it sees the close; protolab's client
//!   accepts either ending;
//! - the notes' server answers whatever one `Read` returned, and takes `exit` only
//!   when a read holds exactly `exit\n` or `exit\r\n`. protolab's server answers
//!   whole lines: a piece typed without Enter (Ctrl-D in the middle of a line) is
//!   answered once its line is complete or the client closes. protolab's client
//!   waits for each answer before it sends the next line, so every line reaches a
//!   notes server in a read of its own, and `exit` is recognised. (The notes' first
//!   `HandleConn` wants `exit\r\n` only; it answers our `exit\n` with `EXIT`, and
//!   then protolab's client closes first, as without `exit`);
//! - the end of stream is the same: each server closes when a read returns 0 (the
//!   client's FIN). The notes' client never sends a FIN of its own while it runs
//!   (its keyboard loop only ends with the process); it stops when a read returns 0.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{
    connect, handler, read_to_eof, run_clients, serve_tcp, step, text, ClientReport, ConnOutcome,
    ConnectionExpectation, Counted, Expectation, Log, Params, ScenarioError, ServerReport,
    Shutdown,
};

/// The line that ends a session.
pub const EXIT: &str = "exit";
/// The server's answer to [`EXIT`], before it closes.
pub const BYE: &[u8] = b"BYE";

/// The server: every connection gets its own task, so one slow client never blocks another.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let limit = params.limit(params.clients);
    Ok(serve_tcp(listener, limit, shutdown, params.log(), handler(session)).await)
}

/// One client's session: upper-case each line until EOF or `exit`.
async fn session(
    stream: Counted<TcpStream>,
    _peer: SocketAddr,
    _log: Log,
) -> Result<ConnOutcome, ScenarioError> {
    let mut stream = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // read_until blocks until a whole line arrived. It returns 0 when the client
        // closed its direction: its FIN arrived, we are now in CLOSE_WAIT. A last line
        // without '\n' (Ctrl-D in nc) is answered too.
        let n = stream
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| ScenarioError::io("read a line", e))?;
        if n == 0 {
            break;
        }
        let (body, ending) = split_line_ending(&line);
        if body == EXIT.as_bytes() {
            // The session ends on the server's initiative: answer, then close first.
            // Our FIN goes out now; the kernel finishes the close (FIN_WAIT_2, then
            // TIME_WAIT) after we drop the socket.
            let reply = [BYE, ending].concat();
            stream
                .write_all(&reply)
                .await
                .map_err(|e| ScenarioError::io("write BYE", e))?;
            stream
                .shutdown()
                .await
                .map_err(|e| ScenarioError::io("shutdown", e))?;
            return Ok(ConnOutcome::default());
        }
        // ASCII upper case keeps the byte count (and the line ending) unchanged.
        let reply = line.to_ascii_uppercase();
        stream
            .write_all(&reply)
            .await
            .map_err(|e| ScenarioError::io("write the reply", e))?;
    }
    // The client has closed. Dropping the stream is close(): our FIN, LAST_ACK, and
    // CLOSED once the client's kernel acknowledges it.
    drop(stream);
    Ok(ConnOutcome::default())
}

/// `(line without its ending, the ending: "\r\n", "\n" or "")`.
fn split_line_ending(line: &[u8]) -> (&[u8], &[u8]) {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    line.split_at(body.len())
}

/// The lines one client sends: up to and including the first `exit`.
fn session_lines(params: &Params) -> (&[String], bool) {
    match params.lines.iter().position(|l| l == EXIT) {
        Some(i) => (&params.lines[..=i], true),
        None => (&params.lines[..], false),
    }
}

/// `--clients N` clients at once, each sending the lines and then closing.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    if let Some(bad) = params.lines.iter().find(|l| l.contains('\n')) {
        return Err(ScenarioError::InvalidParams(format!(
            "a line may not contain a newline: {bad:?}"
        )));
    }
    let (lines, ends_with_exit) = session_lines(params);
    let lines: Vec<String> = lines.to_vec();
    run_clients(params.clients, |_| {
        let lines = lines.clone();
        one_client(server, lines, ends_with_exit)
    })
    .await
}

async fn one_client(
    server: SocketAddr,
    lines: Vec<String>,
    ends_with_exit: bool,
) -> Result<ClientReport, ScenarioError> {
    let stream = connect(server).await?;
    let counts = stream.counts();
    let mut stream = BufReader::new(stream);
    let mut report = ClientReport::default();
    // Whether the server ends the session after our `exit` (protolab's and the
    // notes' servers do; a server that upper-cases `exit` like any line does not).
    let mut server_closes = false;
    for line in &lines {
        // One line, then wait for its answer: the server has consumed everything we
        // sent before we close, so nothing unread is left to turn our close into a RST.
        step(
            || format!("send {line:?}"),
            stream.write_all(format!("{line}\n").as_bytes()),
        )
        .await?;
        let mut reply = Vec::new();
        step(
            || format!("read the answer to {line:?}"),
            stream.read_until(b'\n', &mut reply),
        )
        .await?;
        if reply.is_empty() {
            if line == EXIT {
                // The notes' server closes on `exit` without answering.
                report
                    .notes
                    .push("sent `exit`: the server closed without answering".into());
                server_closes = true;
                break;
            }
            return Err(ScenarioError::Protocol(format!(
                "the server closed before answering {line:?}"
            )));
        }
        if line == EXIT {
            server_closes = split_line_ending(&reply).0 == BYE;
        }
        report.replies.push(text(&reply));
    }
    if server_closes {
        // After `exit` the server closes first: wait for its FIN, then close. We are
        // the passive closer (CLOSE_WAIT, LAST_ACK).
        read_to_eof(&mut stream, "after exit").await?;
        drop(stream);
        report
            .notes
            .push("sent `exit`: the server closed first (server TIME_WAIT)".into());
    } else {
        if ends_with_exit {
            report
                .notes
                .push("the server answered `exit` like any line: the client closes first".into());
        }
        // We close first: shutdown(Write) sends our FIN (FIN_WAIT_1, then FIN_WAIT_2
        // when it is acknowledged). The server reads 0 and closes too; its FIN moves
        // us to TIME_WAIT. Waiting for it makes this function return after the close.
        step(|| "send FIN".into(), stream.shutdown()).await?;
        let rest = read_to_eof(&mut stream, "close").await?;
        if !rest.is_empty() {
            report.notes.push(format!(
                "{} unexpected bytes after the last answer",
                rest.len()
            ));
        }
    }
    report.bytes_sent = counts.written();
    report.bytes_received = counts.read();
    Ok(report)
}

/// Each client: handshake, its lines, and the client closes first — unless the
/// lines contain `exit`, which makes the server close first.
pub fn expectation(params: &Params) -> Expectation {
    let (lines, ends_with_exit) = session_lines(params);
    let sent: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    let answered = if ends_with_exit {
        // "exit\n" (5 bytes) is answered by "BYE\n" (4 bytes).
        sent - (EXIT.len() - BYE.len()) as u64
    } else {
        sent
    };
    let conn = if ends_with_exit {
        ConnectionExpectation::server_closes_first(Some(sent), Some(answered))
    } else {
        ConnectionExpectation::client_closes_first(Some(sent), Some(answered))
    };
    Expectation {
        connections: vec![conn; params.clients],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "each client has its own connection (its own ephemeral port) and the server \
             serves them concurrently",
            "the side that closes first goes FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT; the other \
             CLOSE_WAIT → LAST_ACK → CLOSED",
            "every answer has the same length as its line: ASCII upper case keeps the bytes",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_are_kept() {
        assert_eq!(split_line_ending(b"exit\r\n"), (&b"exit"[..], &b"\r\n"[..]));
        assert_eq!(split_line_ending(b"exit\n"), (&b"exit"[..], &b"\n"[..]));
        assert_eq!(split_line_ending(b"exit"), (&b"exit"[..], &b""[..]));
    }

    #[test]
    fn exit_makes_the_server_close_first() {
        let params = Params {
            lines: vec!["a".into(), "exit".into(), "never sent".into()],
            ..Params::default()
        };
        let e = expectation(&params);
        let c = &e.connections[0];
        assert_eq!(c.client_bytes, Some(2 + 5));
        assert_eq!(c.server_bytes, Some(2 + 4));
        assert_eq!(
            c.server_states.last(),
            Some(&crate::analyze::TcpState::TimeWait)
        );
    }
}
