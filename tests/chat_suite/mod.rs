//! The chat server's behaviour, written once and run against each store:
//! `tests/chat.rs` (redb) and `tests/chat_redis.rs` (a real redis-server).
//! Every test starts its own server on 127.0.0.1:0.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protolab::chat::client::{hex_sha256, raw_frame, ChatClient, ClientError};
use protolab::chat::message::*;
use protolab::chat::server::{self, ServerConfig, ServerReport};
use protolab::chat::store::{HashCost, Store, StoreSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::common::wait::wait_until_async;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<ServerReport>,
}

impl Running {
    /// Stops the server (graceful shutdown) and returns its report.
    pub async fn stop(self) -> ServerReport {
        self.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops within 10 s")
            .expect("the server task does not panic")
    }
}

pub fn test_config() -> ServerConfig {
    ServerConfig {
        hash_cost: HashCost::TEST,
        ..ServerConfig::default()
    }
}

pub async fn start(spec: &StoreSpec, config: ServerConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Store::open(spec).await.expect("the store opens");
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(server::run(listener, store, config, rx));
    Running { addr, stop, task }
}

/// A connected, registered and logged-in client.
pub async fn online(addr: SocketAddr, id: u32, name: &str) -> ChatClient {
    let mut c = ChatClient::connect(addr).await.unwrap();
    let r = c.register(id, name, &format!("pw-{id}")).await.unwrap();
    assert!(r.code == 200 || r.code == 409, "register {id}: {r:?}");
    let r = c.login(id, &format!("pw-{id}")).await.unwrap();
    assert_eq!(r.code, 200, "login {id}: {r:?}");
    c
}

/// The next message that is not a status notification.
pub async fn next_chat(c: &mut ChatClient) -> Message {
    loop {
        let m = c.recv_timeout(Duration::from_secs(5)).await.unwrap();
        if !matches!(m, Message::NotifyUserStatusMes(_)) {
            return m;
        }
    }
}

/// Waits for a status notification about `user`.
pub async fn wait_status(c: &mut ChatClient, user: u32, status: u8) {
    c.wait_for(|m| match m {
        Message::NotifyUserStatusMes(n) if n.user_id == user && n.status == status => Some(()),
        _ => None,
    })
    .await
    .unwrap_or_else(|e| panic!("no status {status} for user {user}: {e}"));
}

/// Nothing arrives for a moment (only status notifications).
pub async fn assert_quiet(c: &mut ChatClient) {
    loop {
        match c.recv_timeout(Duration::from_millis(200)).await {
            Err(ClientError::Timeout(_)) => return,
            Ok(Message::NotifyUserStatusMes(_)) => continue,
            other => panic!("expected nothing, got {other:?}"),
        }
    }
}

/// Reads raw frames from a plain stream until EOF (or reset); returns the messages.
pub async fn read_until_closed(stream: &mut TcpStream) -> Vec<Message> {
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut all)).await;
    let mut out = Vec::new();
    let mut rest = &all[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            break;
        }
        out.push(Message::parse(&rest[4..4 + len]).expect("server frames parse"));
        rest = &rest[4 + len..];
    }
    out
}

/// Reads exactly one frame from a plain stream.
pub async fn read_one(stream: &mut TcpStream) -> Message {
    let mut header = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .expect("a frame within 5 s")
        .expect("a frame header");
    let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut body).await.unwrap();
    Message::parse(&body).unwrap()
}

fn error_code(m: &Message) -> u16 {
    match m {
        Message::ErrorMes(e) => e.code,
        other => panic!("expected ErrorMes, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Users: register, login, online list, notifications, logout
// ---------------------------------------------------------------------------

pub async fn register_and_login_codes(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut a = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(a.register(100, "alice", "123456").await.unwrap().code, 200);
    let dup = a.register(100, "mallory", "x").await.unwrap();
    assert_eq!(dup.code, 409, "{dup:?}");
    assert!(dup.error.contains("taken"), "{dup:?}");
    let bad = a.register(0, "", "").await.unwrap();
    assert_eq!(bad.code, 400);
    assert_eq!(a.login(100, "wrong").await.unwrap().code, 403);
    assert_eq!(a.login(999, "123456").await.unwrap().code, 404);
    let ok = a.login(100, "123456").await.unwrap();
    assert_eq!(ok.code, 200, "{ok:?}");
    assert_eq!(ok.users_id, vec![100]);
    assert_eq!(ok.user_name, "alice");

    // A second login of the same user elsewhere: already online.
    let mut again = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(again.login(100, "123456").await.unwrap().code, 409);

    // Bob logs in: Alice hears of it, Bob sees both online.
    let mut b = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(b.register(200, "bob", "pw").await.unwrap().code, 200);
    let res = b.login(200, "pw").await.unwrap();
    assert_eq!(res.users_id, vec![100, 200]);
    wait_status(&mut a, 200, status::ONLINE).await;
    assert_eq!(a.online.get(&200).map(String::as_str), Some("bob"));

    // Bob logs out: Alice hears it; Bob's connection stays usable.
    assert_eq!(b.logout().await.unwrap().code, 200);
    wait_status(&mut a, 200, status::OFFLINE).await;
    assert_eq!(b.login(200, "pw").await.unwrap().code, 200);
    wait_status(&mut a, 200, status::ONLINE).await;

    // Bob disconnects without logging out: removed and notified all the same.
    b.close().await.unwrap();
    wait_status(&mut a, 200, status::OFFLINE).await;
    assert!(!a.online.contains_key(&200));
    let report = server.stop().await;
    assert!(report.logins >= 3, "{report:?}");
}

pub async fn messages_need_a_login(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut c = ChatClient::connect(server.addr).await.unwrap();
    c.broadcast("hello?").await.unwrap();
    let m = c.recv_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(error_code(&m), 401);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Broadcast, private, offline
// ---------------------------------------------------------------------------

pub async fn broadcast_and_private(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut a = online(server.addr, 1, "a").await;
    let mut b = online(server.addr, 2, "b").await;
    let mut c = online(server.addr, 3, "c").await;
    a.broadcast("hello all").await.unwrap();
    for r in [&mut b, &mut c] {
        match next_chat(r).await {
            Message::SmsMes(m) => {
                assert_eq!(m.content, "hello all");
                assert_eq!(m.user.unwrap().user_id, 1, "the server names the sender");
            }
            other => panic!("expected SmsMes, got {other:?}"),
        }
    }
    let res = a.private(2, "just for b").await.unwrap();
    assert_eq!(res.code, 200, "{res:?}");
    match next_chat(&mut b).await {
        Message::PrivateMes(m) => {
            assert_eq!(m.content, "just for b");
            assert_eq!(m.user.unwrap().user_name, "a");
        }
        other => panic!("expected PrivateMes, got {other:?}"),
    }
    assert_quiet(&mut c).await;
    assert_quiet(&mut a).await;
    assert_eq!(a.private(77, "nobody").await.unwrap().code, 404);
    server.stop().await;
}

pub async fn offline_messages_in_order(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut bob = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(bob.register(20, "bob", "pw").await.unwrap().code, 200);
    let mut a = online(server.addr, 10, "alice").await;
    for i in 0..5 {
        let res = a.private(20, &format!("msg {i}")).await.unwrap();
        assert_eq!(res.code, 202, "stored for later: {res:?}");
    }
    let res = bob.login(20, "pw").await.unwrap();
    assert_eq!(res.offline, 5);
    let got: Vec<&str> = bob.offline.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(got, ["msg 0", "msg 1", "msg 2", "msg 3", "msg 4"]);
    assert!(bob.offline.iter().all(|m| m.user.user_id == 10));
    // Delivered once: the next login finds nothing.
    bob.logout().await.unwrap();
    assert_eq!(bob.login(20, "pw").await.unwrap().offline, 0);
    server.stop().await;
}

pub async fn restart_keeps_users_and_offline_messages(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut bob = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(bob.register(2, "bob", "pw").await.unwrap().code, 200);
    let mut a = online(server.addr, 1, "alice").await;
    assert_eq!(a.private(2, "before restart").await.unwrap().code, 202);
    drop((a, bob));
    server.stop().await;

    let server = start(&spec, test_config()).await;
    let mut bob = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(bob.login(2, "wrong").await.unwrap().code, 403);
    let res = bob.login(2, "pw").await.unwrap();
    assert_eq!(res.code, 200);
    assert_eq!(bob.offline.len(), 1);
    assert_eq!(bob.offline[0].content, "before restart");
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

pub async fn file_transfer_checked(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut a = online(server.addr, 1, "a").await;
    let mut b = online(server.addr, 2, "b").await;
    let dir = tempfile::tempdir().unwrap();
    b.save_files_to(dir.path());
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // b must be reading for the chunks to flow: run it alongside.
    let receiver = tokio::spawn(async move {
        loop {
            b.recv_timeout(Duration::from_secs(5)).await.unwrap();
            if !b.received_files.is_empty() {
                return b;
            }
        }
    });
    let res = a.send_file(2, "../../etc/data.bin", &bytes).await.unwrap();
    assert_eq!(res.code, 200, "{res:?}");
    let b = receiver.await.unwrap();
    let got = &b.received_files[0];
    assert!(got.ok);
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.from.user_id, 1);
    let saved = got.saved.clone().expect("saved");
    assert_eq!(saved, dir.path().join("data.bin"), "no ../ escape");
    assert_eq!(std::fs::read(saved).unwrap(), bytes);

    // To someone offline: 404 from the server.
    assert_eq!(a.send_file(99, "x", b"abc").await.unwrap().code, 404);
    server.stop().await;
}

pub async fn file_with_wrong_checksum_is_refused(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut a = online(server.addr, 1, "a").await;
    let mut b = online(server.addr, 2, "b").await;
    a.send(&Message::FileOfferMes(FileOfferMes {
        to_user_id: 2,
        file_id: 9,
        file_name: "f".into(),
        size: 3,
        sha256: hex_sha256(b"abd"),
        user: None,
    }))
    .await
    .unwrap();
    a.send(&Message::FileChunkMes(FileChunkMes {
        to_user_id: 2,
        file_id: 9,
        seq: 0,
        data: "YWJj".into(), // "abc"
        user: None,
    }))
    .await
    .unwrap();
    a.send(&Message::FileDoneMes(FileDoneMes {
        to_user_id: 2,
        file_id: 9,
        user: None,
    }))
    .await
    .unwrap();
    // b reads the three messages and answers by itself.
    for _ in 0..3 {
        next_chat(&mut b).await;
    }
    assert!(!b.received_files[0].ok);
    let res = a
        .wait_for(|m| match m {
            Message::FileResMes(r) => Some(r.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(res.code, 422);
    assert!(res.error.contains("sha256"), "{res:?}");
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Hostile input while others chat
// ---------------------------------------------------------------------------

/// Two users exchanging private messages until told to stop, counting the round
/// trips in `rounds` as they go (so the test can wait for progress).
fn chatter(
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
    rounds: Arc<AtomicU32>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut a = online(addr, 501, "ping").await;
        let mut b = online(addr, 502, "pong").await;
        while !*stop.borrow() {
            let n = rounds.load(Ordering::SeqCst);
            let res = a.private(502, &format!("ping {n}")).await.unwrap();
            assert_eq!(res.code, 200);
            match next_chat(&mut b).await {
                Message::PrivateMes(m) => assert_eq!(m.content, format!("ping {n}")),
                other => panic!("chat disturbed: {other:?}"),
            }
            rounds.fetch_add(1, Ordering::SeqCst);
        }
    })
}

pub async fn hostile_input_answered_while_others_chat(spec: StoreSpec) {
    let config = ServerConfig {
        max_frame: 1024,
        ..test_config()
    };
    let server = start(&spec, config).await;
    // The flood below guesses the password of a registered user.
    let mut first = ChatClient::connect(server.addr).await.unwrap();
    assert_eq!(
        first.register(501, "ping", "pw-501").await.unwrap().code,
        200
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let rounds = Arc::new(AtomicU32::new(0));
    let chat = chatter(server.addr, stop_rx, Arc::clone(&rounds));
    let addr = server.addr;

    // Oversize but plausible: skipped, 413, and the connection goes on.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&raw_frame(&vec![b' '; 5000])).await.unwrap();
    assert_eq!(error_code(&read_one(&mut s).await), 413);
    // Invalid UTF-8, invalid JSON, JSON that is no message, unknown type.
    s.write_all(&raw_frame(b"\xff\xfe\xfd")).await.unwrap();
    assert_eq!(error_code(&read_one(&mut s).await), 400);
    s.write_all(&raw_frame(b"{\"type\":")).await.unwrap();
    assert_eq!(error_code(&read_one(&mut s).await), 400);
    s.write_all(&raw_frame(b"[1,2,3]")).await.unwrap();
    assert_eq!(error_code(&read_one(&mut s).await), 400);
    s.write_all(&raw_frame(br#"{"type":"DropTablesMes","data":{}}"#))
        .await
        .unwrap();
    let m = read_one(&mut s).await;
    assert_eq!(error_code(&m), 501);
    // Several frames in one write, one frame in many writes: both understood.
    let two = [
        raw_frame(br#"{"type":"SmsMes","data":{"content":"x"}}"#),
        raw_frame(br#"{"type":"SmsMes","data":{"content":"y"}}"#),
    ]
    .concat();
    s.write_all(&two).await.unwrap();
    assert_eq!(error_code(&read_one(&mut s).await), 401);
    assert_eq!(error_code(&read_one(&mut s).await), 401);
    let one = raw_frame(br#"{"type":"LogoutMes"}"#);
    for b in one.iter() {
        s.write_all(&[*b]).await.unwrap();
        // The pause makes separate segments likely: the behaviour under test. The
        // answer must be the same however the bytes arrive, so no timing decides it.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(error_code(&read_one(&mut s).await), 401);

    // Implausible length: broken framing, an error frame, then the server closes.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let got = read_until_closed(&mut s).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(error_code(&got[0]), 400);

    // A truncated frame: the server just closes when we do.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&raw_frame(br#"{"type":"SmsMes","data":{}}"#)[..10])
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    assert!(read_until_closed(&mut s).await.is_empty());

    // Login flood: many connections guessing passwords at once.
    let mut flood = Vec::new();
    for i in 0..20u32 {
        flood.push(tokio::spawn(async move {
            let mut c = ChatClient::connect(addr).await.unwrap();
            let mut codes = Vec::new();
            for _ in 0..5 {
                codes.push(c.login(501, &format!("guess {i}")).await.unwrap().code);
            }
            // The fifth failure closes the connection with 429.
            let last = c.recv_timeout(Duration::from_secs(5)).await.unwrap();
            (codes, error_code(&last))
        }));
    }
    for f in flood {
        let (codes, last) = f.await.unwrap();
        assert_eq!(codes, [403; 5]);
        assert_eq!(last, 429);
    }

    // The two chatting users never noticed (a disturbed message fails the chatter),
    // and they chat on after the attack.
    let after_attack = rounds.load(Ordering::SeqCst);
    wait_until_async(
        Duration::from_secs(10),
        "the two users chat on after the attack",
        || rounds.load(Ordering::SeqCst) >= after_attack + 5,
    )
    .await;
    stop_tx.send_replace(true);
    chat.await.unwrap();
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Slow consumers, idle clients, shutdown
// ---------------------------------------------------------------------------

pub async fn slow_consumer_is_dropped_others_get_everything(spec: StoreSpec) {
    let config = ServerConfig {
        queue_len: 16,
        ..test_config()
    };
    let server = start(&spec, config).await;
    let mut a = online(server.addr, 1, "talker").await;
    let b = online(server.addr, 2, "reader").await;
    let mut slow = online(server.addr, 3, "sleeper").await;
    wait_status(&mut a, 3, status::ONLINE).await;
    // Lock-step: b reads each message before the next is sent, so b never lags;
    // the sleeper reads nothing, and its socket buffers, then its queue, fill up.
    let mut b = b;
    let big = "x".repeat(60 * 1024);
    for i in 0..400 {
        a.broadcast(&big).await.unwrap();
        match next_chat(&mut b).await {
            Message::SmsMes(m) => assert_eq!(m.content.len(), big.len(), "message {i}"),
            other => panic!("message {i}: {other:?}"),
        }
    }
    // The sleeper was dropped: everyone is told it went offline.
    wait_status(&mut a, 3, status::OFFLINE).await;
    // When it finally reads, its connection ends (after whatever was queued).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match slow.recv().await {
                Ok(Message::ErrorMes(e)) => return Some(e),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    })
    .await
    .expect("the slow client's connection ends");
    if let Some(e) = ended {
        assert_eq!(e.code, 503);
        assert!(e.error.contains("too slowly"), "{e:?}");
    }
    let report = server.stop().await;
    assert!(report.overflowed >= 1, "{report:?}");
}

pub async fn idle_clients_are_closed(spec: StoreSpec) {
    let config = ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..test_config()
    };
    let server = start(&spec, config).await;
    // Started before connecting, so the server's idle clock cannot have run longer.
    let started = Instant::now();
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let got = read_until_closed(&mut s).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(error_code(&got[0]), 408);
    assert!(started.elapsed() >= Duration::from_millis(250));
    server.stop().await;
}

pub async fn shutdown_tells_clients(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut c = online(server.addr, 1, "a").await;
    let report = server.stop().await;
    assert_eq!(report.connections, 1);
    let m = c.recv_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(error_code(&m), 503);
    assert!(matches!(c.recv().await, Err(ClientError::Closed)));
}

pub async fn notes_style_string_data(spec: StoreSpec) {
    let server = start(&spec, test_config()).await;
    let mut c = ChatClient::connect(server.addr).await.unwrap();
    c.register(100, "notes", "123456").await.unwrap();
    // The Go notes marshal data into a string: {"type":"LoginMes","data":"{\"userId\":100,…}"}
    c.send_raw(&raw_frame(
        br#"{"type":"LoginMes","data":"{\"userId\":100,\"userPwd\":\"123456\",\"userName\":\"\"}"}"#,
    ))
    .await
    .unwrap();
    match c.recv_timeout(Duration::from_secs(5)).await.unwrap() {
        Message::LoginResMes(r) => assert_eq!(r.code, 200, "{r:?}"),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}
