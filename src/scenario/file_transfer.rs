//! `file-transfer`: the notes' file protocol, an application protocol on top of
//! TCP's byte stream.
//!
//! Simple variant (the notes' first version):
//!
//! ```text
//! client → server   file name (no path)
//! server → client   "ok"
//! client → server   the file's bytes …
//! client            close: end of file is the client's FIN (read returns 0)
//! ```
//!
//! Sized variant (protolab's own, `--protocol sized`; the notes send name, `ok`,
//! bytes and close only):
//! name → `ok` → size (decimal text) → `ok` → bytes → `ok`, then the client closes.
//! The receiver knows how many bytes to expect, so it can tell a complete file from
//! a connection that broke off, and says so before the close.
//!
//! What it teaches:
//! - TCP keeps no message boundaries. The protocol works because each side waits for
//!   the other's answer before writing again, so each message arrives alone;
//! - in the simple variant the only "end of file" marker is the FIN, so a transfer cut
//!   short cannot be told from a complete one — the sized variant can;
//! - a server must never trust a name from the network: it refuses names with `/`,
//!   `..`, control characters (NUL included), empty names and names over 255 bytes,
//!   and it never writes outside its receive directory.
//!
//! Both sides compute SHA-256 of the bytes: equal hashes mean the file arrived intact.
//!
//! Against the notes' programs (their sender and receiver, port 8008), in the
//! simple variant:
//! - the bytes are the same: the name alone (no path, no line ending), `ok`, the
//!   file's bytes, nothing after them;
//! - the order is the same: the sender writes the name and reads once for the
//!   answer (the notes read into 16 bytes and compare with `ok`), then streams;
//! - the end of stream is the same: the sender closes after the last byte, and the
//!   receiver reads until a read returns 0 (the sender's FIN), then closes too.
//!   The notes' sender calls `Close()` at once; protolab's shuts down its sending
//!   direction and waits for the receiver's FIN, which puts the same FIN, ACK, FIN,
//!   ACK on the wire;
//! - what the receiver does with the name differs. The notes' receiver saves every
//!   file as `bb.txt`, whatever the name; protolab's saves it under the name it
//!   received, once the name has passed the checks above, in its receive directory.
//!
//! The sized variant needs a protolab receiver: a notes receiver would take the size
//! for file content and never answer it, and protolab's sender gives up after
//! [`crate::scenario::IO_TIMEOUT`].

use crate::output::words::plural;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{
    congestion, connect, handler, read_message_within, read_to_eof, read_to_eof_within, serve_tcp,
    step, step_within, tcp_info, text, ClientReport, ConnOutcome, ConnectionExpectation, Counted,
    Expectation, FileProtocol, Log, Params, ScenarioError, ServerReport, Shutdown, IO_TIMEOUT,
};

/// The receiver's "go on".
pub const OK: &[u8] = b"ok";
/// Longest file name accepted (Linux's NAME_MAX).
pub const NAME_MAX: usize = 255;
/// Longest message read in one go; a longer name is refused by the client itself.
const MESSAGE_MAX: usize = 1024;
/// Size of the copy buffer.
const CHUNK: usize = 64 * 1024;

/// Why a name is refused; `Display` is the text after `error: invalid file name: `.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty")]
    Empty,
    #[error("longer than {NAME_MAX} bytes")]
    TooLong,
    #[error("not UTF-8")]
    NotUtf8,
    #[error("contains '/' or '\\'")]
    Separator,
    #[error("is '.' or '..'")]
    Dots,
    #[error("contains a control character (NUL included)")]
    Control,
}

/// The server's refusal of a name, as sent to the client.
pub fn refusal(e: NameError) -> String {
    format!("error: invalid file name: {e}")
}

/// Checks a name as received. One trailing line ending is dropped first, so that
/// `echo name | nc` works; everything else must be a plain file name.
pub fn check_name(raw: &[u8]) -> Result<&str, NameError> {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.is_empty() {
        return Err(NameError::Empty);
    }
    if raw.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    let name = std::str::from_utf8(raw).map_err(|_| NameError::NotUtf8)?;
    if name.contains(['/', '\\']) {
        return Err(NameError::Separator);
    }
    // Only `.` and `..` themselves lead elsewhere: with no separator in the name,
    // `v1..2.txt` is an ordinary file name (the notes' client sends any it is given).
    if name == "." || name == ".." {
        return Err(NameError::Dots);
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(name)
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/// The receiver: saves each file under `params.recv_dir`.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let dir = params.recv_dir.clone();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ScenarioError::io(format!("create {}", dir.display()), e))?;
    let dir = Arc::new(dir);
    let protocol = params.protocol;
    let handler =
        handler(move |stream, peer, log| receive(stream, peer, log, Arc::clone(&dir), protocol));
    Ok(serve_tcp(listener, params.limit(1), shutdown, params.log(), handler).await)
}

async fn receive(
    mut stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
    dir: Arc<PathBuf>,
    protocol: FileProtocol,
) -> Result<ConnOutcome, ScenarioError> {
    let mut outcome = ConnOutcome::default();
    // 1. The name: one read, because the client sends it alone and waits for "ok".
    let mut buf = vec![0u8; CHUNK];
    let n = stream
        .read(&mut buf[..MESSAGE_MAX])
        .await
        .map_err(|e| ScenarioError::io("read the file name", e))?;
    if n == 0 {
        log.push(format!("{peer} closed without sending a name"));
        return Ok(outcome);
    }
    let name = match check_name(&buf[..n]) {
        Ok(name) => name.to_string(),
        Err(e) => {
            // Refuse, and close first: nothing else will be read from this client.
            let reply = refusal(e);
            log.push(format!("{peer}: refused name {:?}: {e}", text(&buf[..n])));
            reply_to(&mut stream, reply.as_bytes()).await?;
            stream
                .shutdown()
                .await
                .map_err(|e| ScenarioError::io("shutdown", e))?;
            outcome.notes.push(reply);
            return Ok(outcome);
        }
    };
    reply_to(&mut stream, OK).await?;

    // 2. Sized variant: the size, as decimal text.
    let size = match protocol {
        FileProtocol::Simple => None,
        FileProtocol::Sized => {
            let n = stream
                .read(&mut buf[..MESSAGE_MAX])
                .await
                .map_err(|e| ScenarioError::io("read the size", e))?;
            match text(&buf[..n]).trim().parse::<u64>() {
                Ok(size) => {
                    reply_to(&mut stream, OK).await?;
                    Some(size)
                }
                Err(_) => {
                    let reply = "error: invalid size";
                    reply_to(&mut stream, reply.as_bytes()).await?;
                    return Err(ScenarioError::Protocol(format!(
                        "{peer} sent {:?} as the size",
                        text(&buf[..n])
                    )));
                }
            }
        }
    };

    // 3. The bytes, into a file that can only be inside `dir`: the name has no
    // separator and is not "." or "..", and O_NOFOLLOW refuses to write through a symlink.
    let path = dir.join(&name);
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .await
        .map_err(|e| ScenarioError::io(format!("create {}", path.display()), e))?;
    let copied = copy_hashing(&mut stream, &mut file, size, &mut buf).await;
    let flushed = file.flush().await;
    drop(file);
    let (received, sha256) = match (copied, flushed) {
        (Ok(done), Ok(())) => done,
        (Err(e), _) => {
            remove_partial(&path, &log).await;
            return Err(e);
        }
        (_, Err(e)) => {
            remove_partial(&path, &log).await;
            return Err(ScenarioError::io(format!("write {}", path.display()), e));
        }
    };
    if let Some(size) = size {
        if received != size {
            // The client closed (or broke off) early: say so, keep nothing.
            remove_partial(&path, &log).await;
            let reply = format!(
                "error: received {received} of {}",
                plural(size, "byte", "bytes")
            );
            let _ = reply_to(&mut stream, reply.as_bytes()).await;
            return Err(ScenarioError::Protocol(reply));
        }
        reply_to(&mut stream, OK).await?;
        // The client closes first; anything but its FIN here is a protocol error.
        let extra = read_rest(&mut stream).await?;
        if extra > 0 {
            outcome.notes.push(format!(
                "{} arrived after the announced {size}",
                plural(extra, "byte", "bytes")
            ));
        }
    }
    log.push(format!(
        "{peer}: saved {} ({}, sha256 {sha256})",
        path.display(),
        plural(received, "byte", "bytes")
    ));
    outcome.saved = Some(path);
    outcome.sha256 = Some(sha256);
    // Simple variant: the client's FIN ended the file, we are in CLOSE_WAIT.
    // Sized variant: we read its FIN just above. Either way, close now: LAST_ACK.
    drop(stream);
    Ok(outcome)
}

/// Copies to `file` until EOF (simple) or `size` bytes (sized); returns count and SHA-256.
async fn copy_hashing<R: AsyncRead + Unpin>(
    stream: &mut R,
    file: &mut tokio::fs::File,
    size: Option<u64>,
    buf: &mut [u8],
) -> Result<(u64, String), ScenarioError> {
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    loop {
        let want = match size {
            Some(size) if received >= size => break,
            Some(size) => buf.len().min((size - received) as usize),
            None => buf.len(),
        };
        // "Read as much as arrived, write as much as was read" (读多少、写多少).
        let n = stream.read(&mut buf[..want]).await.map_err(|e| {
            let after = plural(received, "byte", "bytes");
            ScenarioError::io(format!("receive after {after}"), e)
        })?;
        if n == 0 {
            break; // the sender's FIN
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .await
            .map_err(|e| ScenarioError::io("write the file", e))?;
        received += n as u64;
    }
    Ok((received, format!("{:x}", hasher.finalize())))
}

async fn reply_to(stream: &mut Counted<TcpStream>, reply: &[u8]) -> Result<(), ScenarioError> {
    stream
        .write_all(reply)
        .await
        .map_err(|e| ScenarioError::io(format!("answer {:?}", text(reply)), e))
}

/// Reads until the peer's FIN; returns how many bytes came before it.
async fn read_rest(stream: &mut Counted<TcpStream>) -> Result<u64, ScenarioError> {
    let mut sink = Vec::new();
    stream
        .read_to_end(&mut sink)
        .await
        .map_err(|e| ScenarioError::io("wait for the client's FIN", e))?;
    Ok(sink.len() as u64)
}

async fn remove_partial(path: &Path, log: &Log) {
    if tokio::fs::remove_file(path).await.is_ok() {
        log.push(format!("removed the partial file {}", path.display()));
    }
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/// What the client will send.
struct Plan {
    name: String,
    source: Source,
}

enum Source {
    File(PathBuf),
    Generated(u64),
}

fn plan(params: &Params) -> Plan {
    let (source, own_name) = match &params.file {
        Some(path) => (
            Source::File(path.clone()),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        None => (
            Source::Generated(params.bytes),
            format!("protolab-{}.bin", params.bytes),
        ),
    };
    Plan {
        name: params.name.clone().unwrap_or(own_name),
        source,
    }
}

impl Plan {
    /// The file's size, when it can be known before sending.
    fn size(&self) -> Option<u64> {
        match &self.source {
            Source::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Source::Generated(n) => Some(*n),
        }
    }
}

/// The sender: announces the name (the file's own name, without its path), then streams.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let plan = plan(params);
    if plan.name.is_empty() {
        // write() of 0 bytes sends nothing at all: an empty name cannot be announced.
        return Err(ScenarioError::InvalidParams(
            "the file name is empty (TCP cannot carry an empty message)".into(),
        ));
    }
    if plan.name.len() > MESSAGE_MAX {
        return Err(ScenarioError::InvalidParams(format!(
            "the file name has {} bytes; at most {MESSAGE_MAX} are sent",
            plan.name.len()
        )));
    }
    // Open the file before connecting, so a missing file fails without any traffic.
    let mut file = match &plan.source {
        Source::File(path) => Some(
            tokio::fs::File::open(path)
                .await
                .map_err(|e| ScenarioError::io(format!("open {}", path.display()), e))?,
        ),
        Source::Generated(_) => None,
    };
    let size = match &file {
        Some(f) => f
            .metadata()
            .await
            .map_err(|e| ScenarioError::io("read the file's size", e))?
            .len(),
        None => params.bytes,
    };

    let mut stream = connect(server).await?;
    let counts = stream.counts();
    let ends = tcp_info::ends(stream.get_ref()).map_err(|e| ScenarioError::io("getpeername", e))?;
    if let Some(name) = &params.congestion_control {
        // Before any data: the whole transfer runs under the algorithm asked for.
        congestion::set(stream.get_ref(), name).map_err(ScenarioError::InvalidParams)?;
    }
    let mut report = ClientReport::default();

    // 1. The name, alone, then wait for "ok".
    step(
        || "send the file name".into(),
        stream.write_all(plan.name.as_bytes()),
    )
    .await?;
    expect_ok(&mut stream, "the name", IO_TIMEOUT, &mut report).await?;
    // 2. Sized variant: the size, then wait for "ok".
    if params.protocol == FileProtocol::Sized {
        step(
            || "send the size".into(),
            stream.write_all(size.to_string().as_bytes()),
        )
        .await?;
        expect_ok(&mut stream, "the size", IO_TIMEOUT, &mut report).await?;
    }
    // 3. The bytes.
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    loop {
        let n = match &mut file {
            Some(f) => step(|| "read the file".into(), f.read(&mut buf)).await?,
            None => {
                let n = buf.len().min((size - sent) as usize);
                generated_content(sent, &mut buf[..n]);
                n
            }
        };
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        step_within(
            params.transfer_stall,
            || format!("send the file after {}", plural(sent, "byte", "bytes")),
            stream.write_all(&buf[..n]),
        )
        .await?;
        sent += n as u64;
    }
    // 4. The end. Simple: our FIN is the end of the file. Sized: the receiver confirms
    // first. Either way we close first (FIN_WAIT_1 → FIN_WAIT_2), and wait for the
    // server's FIN (→ TIME_WAIT) so that the transfer is over when we return.
    if params.protocol == FileProtocol::Sized {
        expect_ok(&mut stream, "the bytes", params.transfer_stall, &mut report).await?;
    }
    step(|| "send FIN".into(), stream.shutdown()).await?;
    read_to_eof_within(params.transfer_stall, &mut stream, "close").await?;
    // The server's FIN came after all our data and our FIN were acknowledged:
    // the socket resends nothing more, and its count is final.
    report
        .tcp_info
        .extend(tcp_info::counters(stream.get_ref(), ends));
    drop(stream);

    let sha256 = format!("{:x}", hasher.finalize());
    report.notes.push(format!(
        "sent {:?}: {}, sha256 {sha256}",
        plan.name,
        plural(sent, "byte", "bytes")
    ));
    report.sha256 = Some(sha256);
    report.bytes_sent = counts.written();
    report.bytes_received = counts.read();
    Ok(report)
}

/// Reads the server's answer to `what`; anything but `ok` ends the transfer.
async fn expect_ok(
    stream: &mut Counted<TcpStream>,
    what: &str,
    limit: Duration,
    report: &mut ClientReport,
) -> Result<(), ScenarioError> {
    let reply =
        read_message_within(limit, stream, &format!("wait for the answer to {what}")).await?;
    report.replies.push(text(&reply));
    if reply == OK {
        return Ok(());
    }
    if reply.starts_with(b"error") {
        // The server closes after an error: wait for its FIN, then close too.
        read_to_eof(stream, "after the refusal").await?;
        return Err(ScenarioError::Refused {
            reply: text(&reply),
        });
    }
    Err(ScenarioError::Protocol(if reply.is_empty() {
        format!("the server closed instead of answering {what}")
    } else {
        format!("expected \"ok\" after {what}, got {:?}", text(&reply))
    }))
}

/// The generated file's content at `offset`: deterministic, incompressible-looking
/// bytes (SplitMix64 of each 8-byte block number).
pub fn generated_content(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        let pos = offset + i as u64;
        let mut z = (pos / 8)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        *b = z.to_le_bytes()[(pos % 8) as usize];
    }
}

/// One connection. A good name: the client closes first. A refused name: the
/// server answers `error: …` and closes first.
pub fn expectation(params: &Params) -> Expectation {
    let plan = plan(params);
    let name_len = plan.name.len() as u64;
    if plan.name.is_empty() || plan.name.len() > MESSAGE_MAX {
        return Expectation {
            connections: Vec::new(),
            udp_datagrams: None,
            kernel_confirms: false,
            notes: vec!["the client refuses to announce this name: it does not connect at all"],
        };
    }
    let mut notes = vec![
        "the name, the answers and the bytes are separate messages only because each side \
         waits for the other: TCP itself keeps no boundaries",
    ];
    let conn = match check_name(plan.name.as_bytes()) {
        Err(e) => {
            notes.push("the name is refused: the server answers with an error and closes first");
            ConnectionExpectation::server_closes_first(
                Some(name_len),
                Some(refusal(e).len() as u64),
            )
        }
        Ok(_) => {
            let size = plan.size();
            match params.protocol {
                FileProtocol::Simple => {
                    notes.push("end of file is the client's FIN: the client closes first");
                    ConnectionExpectation::client_closes_first(
                        size.map(|s| name_len + s),
                        Some(OK.len() as u64),
                    )
                }
                FileProtocol::Sized => {
                    notes.push("name → ok → size → ok → bytes → ok, then the client closes first");
                    ConnectionExpectation::client_closes_first(
                        size.map(|s| name_len + s.to_string().len() as u64 + s),
                        Some(3 * OK.len() as u64),
                    )
                }
            }
        }
    };
    Expectation {
        connections: vec![conn],
        udp_datagrams: None,
        kernel_confirms: false,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_are_refused() {
        assert_eq!(check_name(b"report.pdf"), Ok("report.pdf"));
        assert_eq!(check_name(b"report.pdf\r\n"), Ok("report.pdf"));
        assert_eq!(check_name(b".hidden"), Ok(".hidden"));
        assert_eq!(check_name(b""), Err(NameError::Empty));
        assert_eq!(check_name(b"\n"), Err(NameError::Empty));
        assert_eq!(check_name(b"../etc/passwd"), Err(NameError::Separator));
        assert_eq!(check_name(b".."), Err(NameError::Dots));
        assert_eq!(check_name(b"."), Err(NameError::Dots));
        assert!(
            check_name(b"v1..2.txt").is_ok(),
            "dots inside a name are no path"
        );
        assert_eq!(check_name(b"."), Err(NameError::Dots));
        assert_eq!(check_name(b"a\\b"), Err(NameError::Separator));
        assert_eq!(check_name(b"a\0b"), Err(NameError::Control));
        assert_eq!(check_name(b"\xff"), Err(NameError::NotUtf8));
        assert_eq!(check_name(&[b'a'; 255]).map(str::len), Ok(255));
        assert_eq!(check_name(&[b'a'; 256]), Err(NameError::TooLong));
        assert_eq!(
            refusal(NameError::Separator),
            "error: invalid file name: contains '/' or '\\'"
        );
    }

    #[test]
    fn generated_content_does_not_depend_on_chunking() {
        let mut whole = vec![0u8; 100];
        generated_content(0, &mut whole);
        let mut parts = vec![0u8; 100];
        generated_content(0, &mut parts[..37]);
        generated_content(37, &mut parts[37..]);
        assert_eq!(whole, parts);
        assert_ne!(whole[..8], whole[8..16]);
    }
}
