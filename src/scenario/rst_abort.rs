//! `rst-abort`: ending a connection with RST instead of FIN.
//!
//! `SO_LINGER` with `l_onoff = 1, l_linger = 0` changes what close() does: instead
//! of the orderly FIN exchange, the kernel throws the connection away and sends a
//! RST. Nothing is in TIME_WAIT afterwards, on either side; anything still unsent
//! is lost; the peer's next read fails with ECONNRESET ("connection reset by peer").
//!
//! Here the client says hello, reads the answer, then aborts. Both ends go from
//! ESTABLISHED straight to CLOSED.
//!
//! (Linux also sends RST, without any SO_LINGER, when a socket is closed while
//! received data is still unread — a common surprise in hand-written servers.)

use std::io;
use std::net::SocketAddr;

use nix::sys::socket::{setsockopt, sockopt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{
    answer_request, connect, step, text, ClientReport, ConnOutcome, ConnectionExpectation, Counted,
    Expectation, Log, ScenarioError,
};

/// What the client says.
pub const HELLO: &[u8] = b"hello\n";
/// What the server answers.
pub const ANSWER: &[u8] = b"hello to you; I will wait for more\n";

/// The server's one connection (run by [`super::serve_one_session`]): answer,
/// then wait for more — and see the reset.
pub(super) async fn session(
    stream: Counted<TcpStream>,
    peer: SocketAddr,
    log: Log,
) -> Result<ConnOutcome, ScenarioError> {
    let mut stream = BufReader::new(stream);
    answer_request(&mut stream, ANSWER).await?;
    // Wait for more. An orderly close would make this read return 0; the client's
    // RST makes it fail with ECONNRESET. The accept loop logs it as `reset`.
    let mut more = Vec::new();
    match stream.read_to_end(&mut more).await {
        Ok(_) => {
            log.push(format!(
                "{peer}: orderly close (FIN), not the RST we expected"
            ));
            Ok(ConnOutcome::default())
        }
        Err(e) => Err(ScenarioError::io("wait for more", e)),
    }
}

/// The client: hello, read the answer, then close with SO_LINGER 0.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let stream = connect(server).await?;
    let counts = stream.counts();
    let mut stream = BufReader::new(stream);
    step(|| "say hello".into(), stream.write_all(HELLO)).await?;
    let mut answer = Vec::new();
    step(
        || "read the answer".into(),
        stream.read_until(b'\n', &mut answer),
    )
    .await?;
    // SO_LINGER on, 0 seconds: "on close, do not linger to deliver anything: abort".
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(stream.get_ref().get_ref(), sockopt::Linger, &linger)
        .map_err(|e| ScenarioError::io("set SO_LINGER to 0", io::Error::from(e)))?;
    // close(): with that option, the kernel sends RST and forgets the connection.
    // (A linger of 0 never blocks close(); a positive one would block this thread.)
    drop(stream);
    Ok(ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies: vec![text(&answer)],
        notes: vec![
            "SO_LINGER {on, 0 s}: close() sent RST instead of FIN; no TIME_WAIT on either side"
                .into(),
        ],
        ..ClientReport::default()
    })
}

/// Handshake, one exchange, then the client's RST: both ends CLOSED, no FIN at all.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::reset(
            Some(HELLO.len() as u64),
            Some(ANSWER.len() as u64),
        )],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "no FIN in this connection: the client's RST ends it",
            "a RST moves both ends straight to CLOSED: nobody waits in TIME_WAIT",
        ],
    }
}
