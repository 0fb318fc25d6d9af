//! `chat`: the notes' instant-messaging system (海量用户即时通讯系统) as a lab
//! experiment. The server is [`crate::chat::server`]; here are the lab's
//! scripted clients and what the capture must show.
//!
//! With `--clients N` every client registers; all but the last log in, send a
//! broadcast (`SmsMes`), a private message to the next one and a private
//! message to the last user, who is still offline, so the server stores it.
//! Then the last user logs in and receives those offline messages in order.
//! Everyone logs out and closes first (client TIME_WAIT), after reading
//! whatever the server still sends, so no close turns into a RST.
//!
//! What it teaches: an application protocol needs its own message boundaries
//! on top of TCP's byte stream (the 4-byte length), and one TCP segment may
//! carry several messages or a part of one — the inspector reassembles them.

use crate::output::words::plural;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Barrier;

use super::{
    ClientReport, ConnectionExpectation, Expectation, Params, ScenarioError, ServerReport, Shutdown,
};
use crate::chat::client::{ChatClient, ClientError};
use crate::chat::message::{code, Message};
use crate::chat::server::{self, ServerConfig};
use crate::chat::store::{Store, StoreSpec};

/// The first user id the lab's clients use (client i is `FIRST_ID + i`).
pub const FIRST_ID: u32 = 1001;

/// Clients of a run without `--clients`: the fewest that show everything the
/// description promises. With one, nobody receives a broadcast and nobody is
/// offline; with two, the only talker has nobody online to message privately.
/// Three give a broadcast, a private message between two online users, and
/// offline messages for the last one.
pub const DEFAULT_CLIENTS: usize = 3;

fn password(id: u32) -> String {
    format!("lab-pass-{id}")
}

fn protocol(e: ClientError) -> ScenarioError {
    ScenarioError::Protocol(e.to_string())
}

/// The server on `listener`, with a redb store in the run's receive folder.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let spec = StoreSpec::Redb(params.recv_dir.join("chat.redb"));
    let store = Store::open(&spec)
        .await
        .map_err(|e| ScenarioError::InvalidParams(e.to_string()))?;
    let config = ServerConfig {
        max_connections: params.limit(params.clients),
        log_sink: params.log_sink.clone(),
        ..ServerConfig::default()
    };
    let report = server::run(listener, store, config, shutdown).await;
    Ok(ServerReport {
        connections: report.connections,
        log: report.log,
        notes: vec![format!(
            "{}, {} received, at most {} online at once",
            plural(report.logins, "login", "logins"),
            plural(report.frames_in, "frame", "frames"),
            plural(report.peak_online, "user", "users")
        )],
        ..ServerReport::default()
    })
}

/// `--clients N` scripted clients (see the module text).
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let n = params.clients.max(1);
    let barrier = Arc::new(Barrier::new(n));
    super::run_clients(n, |i| {
        let barrier = Arc::clone(&barrier);
        async move { one_client(server, i, n, barrier).await }
    })
    .await
}

async fn one_client(
    server: SocketAddr,
    i: usize,
    n: usize,
    barrier: Arc<Barrier>,
) -> Result<ClientReport, ScenarioError> {
    let id = FIRST_ID + i as u32;
    let name = format!("user{}", i + 1);
    let late_id = FIRST_ID + n as u32 - 1;
    let late = n >= 2 && id == late_id;
    let talkers = if n >= 2 { n - 1 } else { 1 };
    let mut report = ClientReport::default();
    let mut c = ChatClient::connect(server).await.map_err(protocol)?;

    let res = c
        .register(id, &name, &password(id))
        .await
        .map_err(protocol)?;
    if res.code != code::OK && res.code != code::CONFLICT {
        return Err(ScenarioError::Protocol(format!(
            "register {id}: {} {}",
            res.code, res.error
        )));
    }
    report
        .replies
        .push(format!("{id}: RegisterResMes {}", res.code));
    barrier.wait().await;

    if !late {
        login(&mut c, id, &mut report).await?;
    }
    barrier.wait().await;

    if !late {
        c.broadcast(&format!("hello from {name}"))
            .await
            .map_err(protocol)?;
        if talkers >= 2 {
            let next = FIRST_ID + ((i + 1) % talkers) as u32;
            let res = c
                .private(next, &format!("{name} to user{}", next - FIRST_ID + 1))
                .await
                .map_err(protocol)?;
            report
                .replies
                .push(format!("{id}: PrivateResMes {} to {next}", res.code));
        }
        if n >= 2 {
            let res = c
                .private(late_id, &format!("{name}: see you later"))
                .await
                .map_err(protocol)?;
            report
                .replies
                .push(format!("{id}: PrivateResMes {} to {late_id}", res.code));
            if res.code != code::STORED {
                return Err(ScenarioError::Protocol(format!(
                    "a message to offline user {late_id} was answered {} instead of 202",
                    res.code
                )));
            }
        }
        // Every other talker's broadcast, and the private message from the previous one.
        let mut smses = 0;
        let mut privates = 0;
        let want_private = usize::from(talkers >= 2);
        while smses < talkers - 1 || privates < want_private {
            match c.recv().await.map_err(protocol)? {
                Message::SmsMes(_) => smses += 1,
                Message::PrivateMes(_) => privates += 1,
                _ => {}
            }
        }
        report.replies.push(format!(
            "{id}: got {}, {}",
            plural(smses, "broadcast", "broadcasts"),
            plural(privates, "private message", "private messages")
        ));
    }
    barrier.wait().await;

    if late {
        let got = login(&mut c, id, &mut report).await?;
        if got != talkers {
            return Err(ScenarioError::Protocol(format!(
                "user {id} got {}, expected {talkers}",
                plural(got, "offline message", "offline messages")
            )));
        }
    }
    barrier.wait().await;

    let res = c.logout().await.map_err(protocol)?;
    report
        .replies
        .push(format!("{id}: LogoutResMes {}", res.code));
    barrier.wait().await;
    c.close().await.map_err(protocol)?;
    Ok(report)
}

/// Logs in, checks the answer, returns how many offline messages came.
async fn login(
    c: &mut ChatClient,
    id: u32,
    report: &mut ClientReport,
) -> Result<usize, ScenarioError> {
    let res = c.login(id, &password(id)).await.map_err(protocol)?;
    if res.code != code::OK {
        return Err(ScenarioError::Protocol(format!(
            "login {id}: {} {} (a server with another password for this id? use a fresh store)",
            res.code, res.error
        )));
    }
    report.replies.push(format!(
        "{id}: LoginResMes 200, online {:?}, {}",
        res.users_id,
        plural(res.offline, "offline message", "offline messages")
    ));
    for m in &c.offline {
        report.replies.push(format!(
            "{id}: OfflineMes from {}: {}",
            m.user.user_id, m.content
        ));
    }
    Ok(c.offline.len())
}

/// Every client's connection: handshake, the chat, and the client closes first.
pub fn expectation(params: &Params) -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::client_closes_first(None, None); params.clients],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "every message is a 4-byte big-endian length and a JSON object \
             {\"type\": \"LoginMes\", \"data\": {…}}: the application's own boundaries",
            "one TCP segment may carry several chat frames, and one frame may span segments",
            "offline messages are stored by the server and sent right after the LoginResMes",
            "each client logs out and closes first: client TIME_WAIT, server CLOSE_WAIT → LAST_ACK",
        ],
    }
}
