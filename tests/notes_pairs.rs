//! The course notes' programs against protolab, pair by pair (issue 14, part 3):
//! for tcp-upper, udp-daytime, file-transfer and http-hello, a client written as
//! the notes' Go client is (the same writes, the same reads and buffer sizes, the
//! same end-of-stream rule) talks to protolab's real server, and protolab's real
//! client talks to a server written as the notes' Go server is. Each test checks
//! the bytes each side received. Where protolab differs on purpose, the scenario's
//! module documentation says how and why; the tests pin that the pair still works.
//!
//! Everything runs on loopback without privileges; nothing sleeps for a guess.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protolab::scenario::{
    self, http_hello, udp_daytime, ClientReport, Listener, Params, ScenarioError, ScenarioName,
    ServerReport, Shutdown,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// Longest any one exchange may take here (a limit for a hang, not a timing guess).
const LIMIT: Duration = Duration::from_secs(10);

type ServerTask = JoinHandle<Result<ServerReport, ScenarioError>>;

/// protolab's real server for `name` on a fresh loopback port.
async fn protolab_server(name: ScenarioName, params: Params) -> (SocketAddr, ServerTask) {
    let (listener, addr) = match scenario::info(name).transport {
        scenario::Transport::Tcp => {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            (Listener::Tcp(l), addr)
        }
        scenario::Transport::Udp => {
            let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = s.local_addr().unwrap();
            (Listener::Udp(s), addr)
        }
    };
    let server =
        tokio::spawn(
            async move { scenario::serve(name, listener, &params, Shutdown::never()).await },
        );
    (addr, server)
}

/// The report of a server that must return on its own (its expected clients are done).
async fn server_report(server: ServerTask) -> ServerReport {
    tokio::time::timeout(LIMIT, server)
        .await
        .expect("the server returns once its clients are done")
        .unwrap()
        .unwrap()
}

async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {LIMIT:?}"))
}

/// One Go `conn.Read(buf)` with `buf := make([]byte, size)`.
async fn go_read(conn: &mut TcpStream, size: usize) -> Vec<u8> {
    let mut buf = vec![0u8; size];
    let n = within("conn.Read", conn.read(&mut buf)).await.unwrap();
    buf.truncate(n);
    buf
}

/// Go reads of `size` bytes until `want` bytes have come (the notes print each read
/// as it comes; how TCP splits an answer is not theirs to choose, nor ours to test).
async fn go_reads(conn: &mut TcpStream, size: usize, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        let read = go_read(conn, size).await;
        assert!(
            !read.is_empty(),
            "closed after {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend(read);
    }
    got
}

/// Go reads of `size` bytes until one returns 0 (the peer's FIN): what came before.
async fn go_reads_to_zero(conn: &mut TcpStream, size: usize) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        let read = go_read(conn, size).await;
        if read.is_empty() {
            return got;
        }
        got.extend(read);
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------
// tcp-upper: the notes' concurrent server (HandlerConnect) and client, port 8001
// ---------------------------------------------------------------------------

/// The notes' client: each stdin read (a typed line, with its `\n`) goes out as it
/// is; a 4096-byte read loop prints answers until a read returns 0. It sends no FIN
/// of its own: it ends when the server closes, or when the student's Ctrl-C ends
/// the process (the kernel closes the socket).
#[tokio::test]
async fn tcp_upper_notes_clients_against_protolab_server() {
    let params = Params {
        clients: 2,
        ..Params::default()
    };
    let (addr, server) = protolab_server(ScenarioName::TcpUpper, params).await;

    // A student who types a line, then `exit`.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"hello world\n").await.unwrap();
    assert_eq!(go_reads(&mut conn, 4096, 12).await, b"HELLO WORLD\n");
    conn.write_all(b"exit\n").await.unwrap();
    // The notes' server would close without a word; protolab's says BYE first
    // (documented in tcp_upper.rs). Either way the client's loop ends on a 0 read.
    assert_eq!(go_reads_to_zero(&mut conn, 4096).await, b"BYE\n");
    drop(conn);

    // A student on Windows (`\r\n`) who ends with Ctrl-C instead.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"Go is fun\r\n").await.unwrap();
    assert_eq!(go_reads(&mut conn, 4096, 11).await, b"GO IS FUN\r\n");
    drop(conn);

    let report = server_report(server).await;
    assert_eq!(report.connections, 2);
    assert_eq!(report.bytes_in, (12 + 5 + 11) as u64);
    assert_eq!(report.bytes_out, (12 + 4 + 11) as u64);
    let closes = report
        .log
        .iter()
        .filter(|l| l.starts_with("close "))
        .count();
    assert_eq!(closes, 2, "{:?}", report.log);
}

/// What one connection of the notes' server saw: each read, and why it returned.
#[derive(Clone, Debug, PartialEq)]
struct UpperSession {
    reads: Vec<String>,
    ended_by: &'static str,
}

/// The notes' `HandlerConnect`, for `clients` connections, each in its own task.
async fn notes_upper_server(listener: TcpListener, clients: usize) -> Vec<UpperSession> {
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (mut conn, _) = listener.accept().await.unwrap();
        // `go HandlerConnect(conn)`; its `defer conn.Close()` is the drop of `conn`.
        tasks.push(tokio::spawn(async move {
            let mut reads = Vec::new();
            let mut buf = vec![0u8; 4096];
            loop {
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let got = &buf[..n];
                // The notes check `exit` first, then n == 0, both before answering.
                if got == b"exit\n" || got == b"exit\r\n" {
                    reads.push(String::from_utf8_lossy(got).into_owned());
                    return UpperSession {
                        reads,
                        ended_by: "exit",
                    };
                }
                if n == 0 {
                    return UpperSession {
                        reads,
                        ended_by: "read 0",
                    };
                }
                reads.push(String::from_utf8_lossy(got).into_owned());
                conn.write_all(got.to_ascii_uppercase().as_slice())
                    .await
                    .unwrap();
            }
        }));
    }
    let mut sessions = Vec::new();
    for t in tasks {
        sessions.push(within("a notes server session", t).await.unwrap());
    }
    sessions
}

#[tokio::test]
async fn tcp_upper_protolab_clients_against_notes_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(notes_upper_server(listener, 2));
    let params = Params {
        clients: 2,
        lines: vec!["hello".into(), "protolab".into()],
        ..Params::default()
    };
    let client = within(
        "protolab's clients",
        scenario::client(ScenarioName::TcpUpper, addr, &params),
    )
    .await
    .unwrap();
    assert_eq!(client.replies, ["HELLO", "PROTOLAB"].repeat(2));
    assert!(client.notes.is_empty(), "{:?}", client.notes);
    // Each line reached the notes' server in a read of its own: protolab's client
    // waits for each answer before the next line. Its FIN ends the session.
    let expected = UpperSession {
        reads: vec!["hello\n".into(), "protolab\n".into()],
        ended_by: "read 0",
    };
    let sessions = within("the notes server", server).await.unwrap();
    assert_eq!(sessions, [expected.clone(), expected]);
}

/// The notes' server closes on `exit` without answering; protolab's client must
/// take that as the end of the session, not as a server that broke off.
#[tokio::test]
async fn tcp_upper_protolab_client_exit_against_notes_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(notes_upper_server(listener, 1));
    let params = Params {
        lines: vec!["one".into(), "exit".into(), "never sent".into()],
        ..Params::default()
    };
    let client = within(
        "protolab's client",
        scenario::client(ScenarioName::TcpUpper, addr, &params),
    )
    .await
    .unwrap();
    assert_eq!(client.replies, ["ONE"]);
    assert_eq!(client.bytes_sent, ("one\n".len() + "exit\n".len()) as u64);
    assert!(
        client
            .notes
            .iter()
            .any(|n| n.contains("closed without answering")),
        "{:?}",
        client.notes
    );
    let sessions = within("the notes server", server).await.unwrap();
    assert_eq!(
        sessions,
        [UpperSession {
            reads: vec!["one\n".into(), "exit\n".into()],
            ended_by: "exit",
        }]
    );
}

/// The notes' first `HandleConn` (2048 bytes, `"exit" == string(buf[:n-2])`) was
/// written for a client that ends lines with `\r\n`: `exit\n` is three bytes of
/// `exi` to it, so it upper-cases `exit` like any line and waits for more.
/// protolab's client must then close first itself, not wait for a close that
/// never comes.
#[tokio::test]
async fn tcp_upper_protolab_client_exit_against_notes_first_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut reads = Vec::new();
        let mut buf = vec![0u8; 2048];
        loop {
            let n = match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return reads, // Go's Read: io.EOF with n == 0
                Ok(n) => n,
            };
            reads.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            if n >= 2 && &buf[..n - 2] == b"exit" {
                return reads;
            }
            conn.write_all(&buf[..n].to_ascii_uppercase())
                .await
                .unwrap();
        }
    });
    let params = Params {
        lines: vec!["one".into(), "exit".into()],
        ..Params::default()
    };
    let client = within(
        "protolab's client",
        scenario::client(ScenarioName::TcpUpper, addr, &params),
    )
    .await
    .unwrap();
    assert_eq!(client.replies, ["ONE", "EXIT"]);
    assert!(
        client
            .notes
            .iter()
            .any(|n| n.contains("the client closes first")),
        "{:?}",
        client.notes
    );
    let reads = within("the notes server", server).await.unwrap();
    assert_eq!(reads, ["one\n", "exit\n"]);
}

// ---------------------------------------------------------------------------
// udp-daytime: the notes' UDP server (one answer, or a loop) and client, port 8006
// ---------------------------------------------------------------------------

/// The notes' looping client (a few rounds instead of a million): `Dial("udp")`,
/// then write `Are you Ready?`, read one datagram into 4096 bytes, print it.
#[tokio::test]
async fn udp_daytime_notes_client_against_protolab_server() {
    let rounds = udp_daytime::REQUESTS_PER_CLIENT as usize;
    let (addr, server) = protolab_server(ScenarioName::UdpDaytime, Params::default()).await;
    let conn = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    conn.connect(addr).await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..rounds {
        conn.send(b"Are you Ready?").await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = within("conn.Read", conn.recv(&mut buf)).await.unwrap();
        answers.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for answer in &answers {
        // RFC 867's line in UTC, not Go's time.Now().String() (documented in
        // udp_daytime.rs): the notes' client prints either.
        assert!(answer.ends_with("-UTC\r\n"), "{answer:?}");
        let t = udp_daytime::parse_daytime(answer).unwrap();
        assert!(now.abs_diff(t) <= 5, "{answer:?} is not now");
    }
    let report = server_report(server).await;
    assert_eq!(report.bytes_in, 14 * rounds as u64);
    let from = report
        .log
        .iter()
        .filter(|l| l.ends_with("(14 bytes)"))
        .count();
    assert_eq!(from, rounds, "{:?}", report.log);
}

/// Go's `time.Now().String()` in UTC, monotonic reading included, as the notes'
/// server sends it.
fn go_time_string(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap();
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    // Days → civil date (H. Hinnant's algorithm), for years after 1970.
    let z = (secs / 86_400) as i64 + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = secs % 86_400;
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02}:{:02}.{nanos:09} +0000 UTC m=+0.000012345",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[test]
fn go_time_string_looks_like_go() {
    let t = UNIX_EPOCH + Duration::new(1_796_595_460, 123_456_789);
    assert_eq!(
        go_time_string(t),
        "2026-12-06 22:17:40.123456789 +0000 UTC m=+0.000012345"
    );
}

/// The notes' looping server: ReadFromUDP into 4096 bytes, answer from a goroutine
/// with `time.Now().String() + "\n"`. Returns what it read, after `datagrams`.
async fn notes_daytime_server_loop(conn: UdpSocket, datagrams: usize) -> Vec<String> {
    let conn = std::sync::Arc::new(conn);
    let mut read = Vec::new();
    let mut buf = vec![0u8; 4096];
    for _ in 0..datagrams {
        let (n, clt) = conn.recv_from(&mut buf).await.unwrap();
        read.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        let conn = std::sync::Arc::clone(&conn);
        tokio::spawn(async move {
            let daytime = go_time_string(SystemTime::now()) + "\n";
            conn.send_to(daytime.as_bytes(), clt).await.unwrap();
        });
    }
    read
}

#[tokio::test]
async fn udp_daytime_protolab_client_against_notes_looping_server() {
    let conn = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = conn.local_addr().unwrap();
    let rounds = udp_daytime::REQUESTS_PER_CLIENT as usize;
    let server = tokio::spawn(notes_daytime_server_loop(conn, rounds));
    let client = within(
        "protolab's client",
        scenario::client(ScenarioName::UdpDaytime, addr, &Params::default()),
    )
    .await
    .unwrap();
    assert!(client.notes.is_empty(), "{:?}", client.notes);
    assert_eq!(client.replies.len(), rounds, "{client:?}");
    for reply in &client.replies {
        assert!(reply.ends_with(" +0000 UTC m=+0.000012345"), "{reply:?}");
    }
    let read = within("the notes server", server).await.unwrap();
    assert_eq!(read, vec![udp_daytime::REQUEST; rounds]);
    assert_eq!(udp_daytime::REQUEST, "Are you Ready?");
    assert_eq!(client.bytes_sent, (14 * rounds) as u64);
}

/// The notes' first server answers one datagram (`time.Now().String()`, no line
/// ending) and exits. protolab's client gets that answer and reports its later
/// datagrams as unanswered: that is the server's design, not a failure.
#[tokio::test]
async fn udp_daytime_protolab_client_against_notes_one_shot_server() {
    let conn = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = conn.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let (n, clt) = conn.recv_from(&mut buf).await.unwrap();
        let daytime = go_time_string(SystemTime::now());
        conn.send_to(daytime.as_bytes(), clt).await.unwrap();
        (String::from_utf8_lossy(&buf[..n]).into_owned(), daytime)
        // `defer udpConn.Close()`: the socket closes as the task ends.
    });
    let client = within(
        "protolab's client",
        scenario::client(ScenarioName::UdpDaytime, addr, &Params::default()),
    )
    .await
    .unwrap();
    let (read, sent) = within("the notes server", server).await.unwrap();
    assert_eq!(read, "Are you Ready?");
    assert_eq!(client.replies, [sent]);
    let later = udp_daytime::REQUESTS_PER_CLIENT as usize - 1;
    assert_eq!(client.notes.len(), later, "{:?}", client.notes);
    for (note, k) in client.notes.iter().zip(2..) {
        assert!(note.starts_with(&format!("datagram {k}: ")), "{note}");
    }
}

// ---------------------------------------------------------------------------
// file-transfer: the notes' sender and receiver (name, ok, bytes, close), port 8008
// ---------------------------------------------------------------------------

/// The notes' sender: write the name (os.Stat's Name(), no path), one read into
/// 16 bytes that must be exactly `ok`, then the file in 4096-byte reads and writes,
/// then `defer conn.Close()`.
async fn notes_send_file(addr: SocketAddr, path: &Path) -> Vec<u8> {
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(name.as_bytes()).await.unwrap();
    let answer = go_read(&mut conn, 16).await;
    if answer == b"ok" {
        let mut f = tokio::fs::File::open(path).await.unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                break; // io.EOF: "发送文件完成"
            }
            conn.write_all(&buf[..n]).await.unwrap();
        }
    }
    drop(conn);
    answer
}

#[tokio::test]
async fn file_transfer_notes_client_against_protolab_server() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    // A size that is no multiple of the notes' 4096-byte chunks, and an empty file.
    for (name, size) in [("aa.txt", 10_000usize), ("empty.txt", 0)] {
        let src = dir.path().join(name);
        let content: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&src, &content).unwrap();
        let params = Params {
            recv_dir: inbox.clone(),
            ..Params::default()
        };
        let (addr, server) = protolab_server(ScenarioName::FileTransfer, params).await;
        let answer = within("the notes sender", notes_send_file(addr, &src)).await;
        assert_eq!(answer, b"ok");
        let report = server_report(server).await;
        let saved = inbox.join(name);
        assert_eq!(report.saved.as_deref(), Some(saved.as_path()));
        assert_eq!(std::fs::read(&saved).unwrap(), content, "{name}");
        assert_eq!(report.sha256, Some(sha256(&content)));
        assert_eq!(report.bytes_in, (name.len() + size) as u64);
        assert_eq!(report.bytes_out, 2, "only \"ok\"");
    }
}

/// What the notes' receiver got: the name as read, and the bytes it would have
/// written to `bb.txt`.
struct Received {
    name: Vec<u8>,
    bytes: Vec<u8>,
}

/// The notes' receiver: one connection; the name in one 4096-byte read; `ok`; then
/// 4096-byte reads into the file until a read returns 0; then close.
async fn notes_receive_file(listener: TcpListener) -> Received {
    let (mut conn, _) = listener.accept().await.unwrap();
    let name = go_read(&mut conn, 4096).await;
    conn.write_all(b"ok").await.unwrap();
    let mut bytes = Vec::new();
    loop {
        // `n, _ := conn.Read(buf)`: an error counts as the end too.
        let mut buf = vec![0u8; 4096];
        let n = conn.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break; // "接收文件完成。"
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    drop(conn);
    Received { name, bytes }
}

#[tokio::test]
async fn file_transfer_protolab_client_against_notes_server() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("notes.txt");
    let content: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&src, &content).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(notes_receive_file(listener));
    let params = Params {
        file: Some(src),
        ..Params::default()
    };
    let client: ClientReport = within(
        "protolab's client",
        scenario::client(ScenarioName::FileTransfer, addr, &params),
    )
    .await
    .unwrap();
    assert_eq!(client.replies, ["ok"]);
    assert_eq!(client.sha256, Some(sha256(&content)));
    let received = within("the notes receiver", server).await.unwrap();
    assert_eq!(
        received.name, b"notes.txt",
        "the name alone, no line ending"
    );
    assert_eq!(received.bytes.len(), content.len());
    assert!(
        received.bytes == content,
        "the file's bytes and nothing else"
    );
}

// ---------------------------------------------------------------------------
// http-hello: the notes' Go net/http server (HandleFunc("/"), "Hello World!"),
// port 8080, and what a Go client (http.Get) sends
// ---------------------------------------------------------------------------

/// An HTTP/1.1 head and the body after it, read the way Go's client reads a
/// response: the head up to the blank line, then Content-Length bytes. (It does
/// not wait for the close: the connection is kept alive.)
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A header's value, the name compared without case as HTTP wants.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_response(conn: &mut TcpStream) -> Response {
    let mut got = Vec::new();
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let read = go_read(conn, 4096).await;
        assert!(!read.is_empty(), "closed before the end of the head");
        got.extend(read);
    };
    let head = String::from_utf8(got[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_string(), v.to_string())
        })
        .collect();
    let mut response = Response {
        status,
        headers,
        body: got[head_end + 4..].to_vec(),
    };
    let len: usize = response.header("Content-Length").unwrap().parse().unwrap();
    while response.body.len() < len {
        let read = go_read(conn, 4096).await;
        assert!(!read.is_empty(), "closed inside the body");
        response.body.extend(read);
    }
    response
}

/// `http.Get("http://127.0.0.1:8080/")` sends exactly this (Go's default
/// transport), and keeps the connection for the next request until the program
/// exits.
#[tokio::test]
async fn http_hello_go_http_get_against_protolab_server() {
    let (addr, server) = protolab_server(ScenarioName::HttpHello, Params::default()).await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Go-http-client/1.1\r\n\
         Accept-Encoding: gzip\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let response = read_response(&mut conn).await;
    assert_eq!(response.status, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"Hello World!");
    assert_eq!(response.header("Content-Length"), Some("12"));
    // What Go's server sniffs for "Hello World!", and what a Go client reads back.
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(response.header("Date").is_some(), "{:?}", response.headers);
    // The response is not gzip'd (a Go client would undo it anyway) and keeps the
    // connection alive, as Go's server does for this request.
    assert_eq!(response.header("Content-Encoding"), None);
    assert_eq!(response.header("Connection"), None);
    // The Go program exits: its kernel closes the idle connection.
    drop(conn);
    let report = server_report(server).await;
    assert_eq!(report.connections, 1);
    assert_eq!(report.bytes_in, request.len() as u64);
}

/// The notes' server, as Go's net/http answers a request with `Connection: close`:
/// Go's header order and case, then `closeWriteAndWait` (FIN first, then wait for
/// the client's close). Returns the request head it read.
async fn notes_http_server(listener: TcpListener) -> String {
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = go_read(&mut conn, 4096).await;
        assert!(!read.is_empty(), "closed before the end of the request");
        got.extend(read);
    }
    let body = http_hello::HELLO;
    let response = format!(
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Dec 2026 22:17:40 GMT\r\nContent-Length: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes()).await.unwrap();
    conn.shutdown().await.unwrap();
    assert_eq!(go_reads_to_zero(&mut conn, 4096).await, b"");
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn http_hello_protolab_client_against_notes_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(notes_http_server(listener));
    let client = within(
        "protolab's client",
        scenario::client(ScenarioName::HttpHello, addr, &Params::default()),
    )
    .await
    .unwrap();
    assert_eq!(client.replies, ["HTTP/1.1 200 OK", http_hello::HELLO]);
    assert!(client.notes.is_empty(), "{:?}", client.notes);
    let request = within("the notes server", server).await.unwrap();
    // Go's server reads header names without case: hyper writes them in lower case.
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    assert!(
        lower.contains(&format!("\r\nhost: {addr}\r\n")),
        "{request}"
    );
    assert!(lower.contains("\r\nconnection: close\r\n"), "{request}");
    assert!(request.ends_with("\r\n\r\n"), "no body: {request}");
}
