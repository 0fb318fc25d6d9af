//! The chat server: the notes' `process(conn)` goroutine per client, made
//! robust enough to hold ten thousand clients.
//!
//! Each connection gets two tasks. The *session* reads frames, parses them and
//! acts; the *writer* owns the socket's sending half and drains a bounded queue
//! of ready-made frames. Everything sent to a client — replies, broadcasts,
//! notifications — goes through that queue with `try_send`, so a broadcast never
//! waits for a slow reader: when a client's queue is full, the client is
//! disconnected with a reason, and everyone else carries on.
//!
//! What the server answers (see docs/chat-protocol.md): bad frames and bad
//! messages get an `ErrorMes` and the connection goes on; only broken framing,
//! the idle timeout, an overflowing queue, too many failed logins or shutdown
//! close it. Password hashing (Argon2, deliberately slow) runs on the blocking
//! pool behind a semaphore, so a login flood cannot starve the chat.
//!
//! Each client is answered in the form of `data` it uses itself: the notes'
//! JSON string, or a nested object (see [`DataForm`]). The form is the one of
//! the client's latest message, the notes' form until it has sent one; a
//! broadcast is encoded once per form, not once per receiver.
//!
//! Offline messages keep their order: storing a private message for an offline
//! user and a login's "go online, deliver what was stored" both happen under
//! one delivery lock, so no message can slip in between.

use crate::output::words::plural;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;

use super::frame::{Frame, FrameCodec, FrameError, DEFAULT_MAX_FRAME};
use super::message::*;
use super::store::{hash_password, verify_password, ChatStore, HashCost, Store, StoredUser};
use crate::serving::{Log, LogSink, Shutdown};

/// Online users listed with their names in a `LoginResMes` (all are in `usersId`).
pub const MAX_NAMED_USERS: usize = 1000;

/// How the server behaves; every limit has a default that suits a lab.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest frame body accepted (bytes).
    pub max_frame: usize,
    /// A client silent for this long is disconnected.
    pub idle_timeout: Duration,
    /// Frames waiting to be written to one client before it counts as too slow.
    pub queue_len: usize,
    /// Argon2 cost for new registrations.
    pub hash_cost: HashCost,
    /// Failed logins allowed on one connection before it is closed.
    pub max_login_failures: u32,
    /// Stop accepting after this many connections and return when they are done
    /// (a lab run); `None` serves until shutdown.
    pub max_connections: Option<usize>,
    /// Also gets each log line as it happens (`protolab serve chat` prints them).
    pub log_sink: LogSink,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame: DEFAULT_MAX_FRAME,
            idle_timeout: Duration::from_secs(300),
            queue_len: 1024,
            hash_cost: HashCost::default(),
            max_login_failures: 5,
            max_connections: None,
            log_sink: LogSink::default(),
        }
    }
}

/// What a server run did.
#[derive(Debug, Default, Clone)]
pub struct ServerReport {
    pub connections: u64,
    pub logins: u64,
    pub frames_in: u64,
    pub peak_online: u64,
    /// Clients dropped because their queue overflowed.
    pub overflowed: u64,
    pub log: Vec<String>,
}

/// A disconnect request for one session, with its reason (the first one wins).
#[derive(Default)]
struct Kick {
    notify: Notify,
    reason: OnceLock<String>,
}

impl Kick {
    fn kick(&self, reason: String) {
        if self.reason.set(reason).is_ok() {
            // notify_one keeps a permit if the session is busy right now.
            self.notify.notify_one();
        }
    }
}

/// The form of `data` a client uses: its session sets it from each message it
/// reads, and the client's online-list entry reads it for broadcasts.
#[derive(Default)]
struct ClientForm {
    object: AtomicBool,
}

impl ClientForm {
    fn get(&self) -> DataForm {
        if self.object.load(Ordering::Relaxed) {
            DataForm::Object
        } else {
            DataForm::String
        }
    }

    fn set(&self, form: DataForm) {
        self.object
            .store(form == DataForm::Object, Ordering::Relaxed);
    }
}

/// One message encoded at most once per form, for sending it to many clients.
struct Encoded<'a> {
    message: &'a Message,
    frames: [Option<Bytes>; 2],
}

impl<'a> Encoded<'a> {
    fn new(message: &'a Message) -> Self {
        Encoded {
            message,
            frames: [None, None],
        }
    }

    fn frame(&mut self, form: DataForm) -> Bytes {
        let slot = &mut self.frames[form as usize];
        slot.get_or_insert_with(|| self.message.to_frame_in(form))
            .clone()
    }
}

/// An online user, as other sessions reach them.
struct Peer {
    name: String,
    tx: mpsc::Sender<Bytes>,
    kick: Arc<Kick>,
    form: Arc<ClientForm>,
}

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    logins: AtomicU64,
    frames_in: AtomicU64,
    peak_online: AtomicU64,
    overflowed: AtomicU64,
}

struct Shared {
    store: Store,
    config: ServerConfig,
    online: Mutex<HashMap<u32, Peer>>,
    /// Held while storing for an offline user, and while a login goes online
    /// and delivers stored messages (see the module text).
    delivery: tokio::sync::Mutex<()>,
    /// At most this many password hashes at once (one per core).
    hashing: Semaphore,
    stats: Stats,
    log: Log,
}

impl Shared {
    fn online(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Peer>> {
        self.online.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `frame` to `peer`; a full queue disconnects the peer.
    fn offer(&self, peer: &Peer, frame: Bytes) -> bool {
        match peer.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.overflowed.fetch_add(1, Ordering::Relaxed);
                peer.kick.kick(format!(
                    "disconnected: {} waiting for you (the limit): you read too slowly",
                    waiting(self.config.queue_len)
                ));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Sends `message` to every online user but `except`, each in its form.
    fn broadcast(&self, message: &Message, except: Option<u32>) -> usize {
        let mut encoded = Encoded::new(message);
        let online = self.online();
        let mut sent = 0;
        for (id, peer) in online.iter() {
            if Some(*id) != except && self.offer(peer, encoded.frame(peer.form.get())) {
                sent += 1;
            }
        }
        sent
    }

    /// The online users, sorted by id.
    fn online_users(&self) -> Vec<UserInfo> {
        let mut users: Vec<UserInfo> = self
            .online()
            .iter()
            .map(|(id, p)| UserInfo {
                user_id: *id,
                user_name: p.name.clone(),
            })
            .collect();
        users.sort_by_key(|u| u.user_id);
        users
    }

    /// Runs a password hash on the blocking pool, a few at a time.
    async fn hashing<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let _permit = self.hashing.acquire().await;
        match tokio::task::spawn_blocking(f).await {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down and drops this task anyway.
            Err(_) => std::future::pending().await,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Serves chat clients on `listener` until `shutdown` fires (or, with
/// [`ServerConfig::max_connections`], until that many clients have come and gone).
pub async fn run(
    listener: TcpListener,
    store: Store,
    config: ServerConfig,
    shutdown: impl Into<Shutdown>,
) -> ServerReport {
    let mut shutdown = shutdown.into();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let shared = Arc::new(Shared {
        store,
        hashing: Semaphore::new(cores),
        log: Log::new(config.log_sink.clone()),
        config,
        online: Mutex::default(),
        delivery: tokio::sync::Mutex::new(()),
        stats: Stats::default(),
    });
    let limit = shared.config.max_connections;
    let mut tasks = JoinSet::new();
    let mut accepted = 0usize;
    while limit.is_none_or(|n| accepted < n) && !shutdown.is_requested() {
        let next = tokio::select! {
            next = listener.accept() => next,
            () = shutdown.requested() => break,
        };
        let (stream, peer) = match next {
            Ok(pair) => pair,
            Err(e) => {
                // E.g. too many open files: wait a moment instead of spinning.
                shared.log.push(format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        accepted += 1;
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::clone(&shared);
        let stop = shutdown.clone();
        tasks.spawn(session(stream, peer, shared, stop));
        // Reap finished sessions so a long-running server does not keep them.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
    let stats = &shared.stats;
    ServerReport {
        connections: stats.connections.load(Ordering::Relaxed),
        logins: stats.logins.load(Ordering::Relaxed),
        frames_in: stats.frames_in.load(Ordering::Relaxed),
        peak_online: stats.peak_online.load(Ordering::Relaxed),
        overflowed: stats.overflowed.load(Ordering::Relaxed),
        log: shared.log.take(),
    }
}

/// What the session loop decided after one message.
enum Flow {
    Continue,
    /// Close with this last frame.
    Close(Message),
}

/// One connection's state.
struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tx: mpsc::Sender<Bytes>,
    kick: Arc<Kick>,
    /// The form this client's messages use; replies use it too.
    form: Arc<ClientForm>,
    /// The logged-in user (id, name).
    user: Option<UserInfo>,
    failures: u32,
}

async fn session(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, mut shutdown: Shutdown) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let mut frames = FramedRead::new(rd, FrameCodec::new(shared.config.max_frame));
    let (tx, rx) = mpsc::channel(shared.config.queue_len);
    let (last_tx, last_rx) = oneshot::channel();
    let mut writer = tokio::spawn(write_loop(wr, rx, last_rx));
    let idle = shared.config.idle_timeout;
    let mut s = Session {
        shared: Arc::clone(&shared),
        peer,
        tx,
        kick: Arc::default(),
        form: Arc::default(),
        user: None,
        failures: 0,
    };
    let kick = Arc::clone(&s.kick);
    let last: Option<Message> = loop {
        let next = tokio::select! {
            biased;
            () = shutdown.requested() => {
                break Some(Message::error(code::GOING_AWAY, "the server is shutting down"));
            }
            () = kick.notify.notified() => {
                let reason = kick.reason.get().cloned().unwrap_or_default();
                shared.log.push(format!("{peer}: {reason}"));
                break Some(Message::error(code::GOING_AWAY, reason));
            }
            next = tokio::time::timeout(idle, frames.next()) => next,
        };
        let frame = match next {
            Err(_) => {
                break Some(Message::error(
                    code::IDLE,
                    format!(
                        "idle for {}s: closing (send a frame now and then to stay)",
                        idle.as_secs_f64()
                    ),
                ))
            }
            Ok(None) => break None,
            Ok(Some(Err(e @ FrameError::Implausible { .. }))) => {
                shared.log.push(format!("{peer}: broken framing: {e}"));
                break Some(Message::error(code::BAD_REQUEST, e.to_string()));
            }
            Ok(Some(Err(e))) => {
                shared.log.push(format!("{peer}: {e}"));
                break None;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        shared.stats.frames_in.fetch_add(1, Ordering::Relaxed);
        let flow = match frame {
            Frame::Oversize { len, limit } => s.reply(Message::error(
                code::TOO_LARGE,
                format!("frame of {len} bytes is over the {limit}-byte limit; it was skipped"),
            )),
            Frame::Body(body) => match Message::parse_with_form(&body) {
                Ok((message, form)) => {
                    if let Some(form) = form {
                        s.form.set(form);
                    }
                    s.handle(message).await
                }
                Err(e) => s.reply(Message::error(e.code(), e.to_string())),
            },
        };
        if let Flow::Close(last) = flow {
            break Some(last);
        }
    };
    s.go_offline();
    let we_close = last.is_some();
    if let Some(last) = last {
        let _ = last_tx.send(last.to_frame_in(s.form.get()));
    }
    drop(s);
    // The writer ends once every queue sender is gone (ours just now, the online
    // map's at go_offline). A client that does not read may keep it blocked in a
    // write: give it a moment, then drop the socket.
    if tokio::time::timeout(Duration::from_secs(2), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    if we_close {
        // Our FIN is out. Read (and drop) what the client still sends until its
        // FIN: closing with unread bytes would answer them with a RST, and a RST
        // can destroy our last frame before the client reads it.
        let mut rd = frames.into_inner();
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// Writes queued frames, batching whatever is ready into one flush; then the
/// last frame (a reason), then FIN.
async fn write_loop(
    wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Bytes>,
    mut last: oneshot::Receiver<Bytes>,
) {
    let mut wr = BufWriter::with_capacity(16 * 1024, wr);
    loop {
        tokio::select! {
            biased;
            frame = &mut last => {
                if let Ok(frame) = frame {
                    // What was queued before the last word goes first (e.g. the
                    // fifth 403 before the 429), as far as the client reads.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Ok(queued) = rx.try_recv() {
                            wr.write_all(&queued).await?;
                        }
                        wr.write_all(&frame).await?;
                        wr.flush().await
                    })
                    .await;
                }
                break;
            }
            frame = rx.recv() => {
                let Some(frame) = frame else {
                    if let Ok(frame) = last.try_recv() {
                        let _ = wr.write_all(&frame).await;
                    }
                    break;
                };
                let mut batch = wr.write_all(&frame).await;
                while batch.is_ok() {
                    match rx.try_recv() {
                        Ok(more) => batch = wr.write_all(&more).await,
                        Err(_) => break,
                    }
                }
                if batch.is_err() || wr.flush().await.is_err() {
                    // The client is gone; the session notices on its side.
                    return;
                }
            }
        }
    }
    let _ = wr.flush().await;
    // shutdown() sends our FIN after everything queued.
    let _ = wr.shutdown().await;
}

impl Session {
    /// Queues a reply to this client.
    fn reply(&self, message: Message) -> Flow {
        if self
            .tx
            .try_send(message.to_frame_in(self.form.get()))
            .is_err()
        {
            return Flow::Close(Message::error(
                code::GOING_AWAY,
                format!(
                    "disconnected: {} waiting for you (the limit): you read too slowly",
                    waiting(self.shared.config.queue_len)
                ),
            ));
        }
        Flow::Continue
    }

    fn me(&self) -> Result<&UserInfo, Flow> {
        self.user.as_ref().ok_or_else(|| {
            self.reply(Message::error(
                code::NOT_LOGGED_IN,
                "log in first (LoginMes), or register (RegisterMes) if you have no account",
            ))
        })
    }

    async fn handle(&mut self, message: Message) -> Flow {
        match message {
            Message::LoginMes(m) => self.login(m).await,
            Message::RegisterMes(m) => self.register(m.user).await,
            Message::SmsMes(m) => self.sms(m),
            Message::PrivateMes(m) => self.private(m).await,
            Message::LogoutMes(_) => {
                if let Err(flow) = self.me() {
                    return flow;
                }
                self.go_offline();
                self.reply(Message::LogoutResMes(LogoutResMes { code: code::OK }))
            }
            m @ (Message::FileOfferMes(_)
            | Message::FileChunkMes(_)
            | Message::FileDoneMes(_)
            | Message::FileResMes(_)) => self.relay_file(m).await,
            other => self.reply(Message::error(
                code::BAD_REQUEST,
                format!("{} is sent by the server, not to it", other.type_name()),
            )),
        }
    }

    /// Passes a file message to its receiver with the sender filled in; an offer
    /// to someone offline is answered `FileResMes` 404.
    async fn relay_file(&mut self, mut m: Message) -> Flow {
        let me = match self.me() {
            Ok(me) => me.clone(),
            Err(flow) => return flow,
        };
        let Some((to, file_id)) = m.stamp_file_sender(me) else {
            return Flow::Continue;
        };
        let is_offer = matches!(m, Message::FileOfferMes(_));
        if self.forward(to, m).await || !is_offer {
            return Flow::Continue;
        }
        self.reply(Message::FileResMes(FileResMes {
            to_user_id: to,
            file_id,
            code: code::UNKNOWN_USER,
            error: format!("user {to} is not online: files go to online users only"),
            user: None,
        }))
    }

    async fn register(&mut self, user: NewUser) -> Flow {
        let res = |code, error: String| Message::RegisterResMes(RegisterResMes { code, error });
        let name_ok = !user.user_name.trim().is_empty() && user.user_name.chars().count() <= 64;
        if user.user_id == 0 || !name_ok || user.user_pwd.is_empty() || user.user_pwd.len() > 1024 {
            return self.reply(res(
                code::BAD_REQUEST,
                "register needs userId > 0, a userName of 1-64 characters and a userPwd of \
                 1-1024 bytes"
                    .into(),
            ));
        }
        let cost = self.shared.config.hash_cost;
        let password = user.user_pwd.clone();
        let hash = match self
            .shared
            .hashing(move || hash_password(&password, cost))
            .await
        {
            Ok(hash) => hash,
            Err(e) => return self.reply(res(code::STORE_FAILED, e)),
        };
        let stored = StoredUser {
            user_id: user.user_id,
            user_name: user.user_name.clone(),
            password_hash: hash,
        };
        match self.shared.store.register(stored).await {
            Ok(true) => {
                self.shared.log.push(format!(
                    "{}: registered user {} ({})",
                    self.peer, user.user_id, user.user_name
                ));
                self.reply(res(code::OK, String::new()))
            }
            Ok(false) => self.reply(res(
                code::CONFLICT,
                format!("user id {} is taken: choose another", user.user_id),
            )),
            Err(e) => self.reply(res(code::STORE_FAILED, e.to_string())),
        }
    }

    async fn login(&mut self, m: LoginMes) -> Flow {
        let res = |code, error: String| {
            Message::LoginResMes(LoginResMes {
                code,
                users_id: vec![],
                users: vec![],
                user_name: String::new(),
                offline: 0,
                error,
            })
        };
        if let Some(me) = &self.user {
            let error = format!("this connection is logged in as {} already", me.user_id);
            return self.reply(res(code::CONFLICT, error));
        }
        let stored = match self.shared.store.user(m.user_id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                let error = format!("user {} is not registered: register first", m.user_id);
                return self.failed_login(res(code::UNKNOWN_USER, error));
            }
            Err(e) => return self.reply(res(code::STORE_FAILED, e.to_string())),
        };
        let password = m.user_pwd;
        let hash = stored.password_hash.clone();
        let ok = self
            .shared
            .hashing(move || verify_password(&password, &hash))
            .await;
        if !ok {
            return self.failed_login(res(code::BAD_PASSWORD, "wrong password".into()));
        }
        let me = UserInfo {
            user_id: stored.user_id,
            user_name: stored.user_name,
        };
        let shared = Arc::clone(&self.shared);
        let _delivery = shared.delivery.lock().await;
        {
            let mut online = shared.online();
            if online.contains_key(&me.user_id) {
                drop(online);
                let error = format!(
                    "user {} is online already (log out there first)",
                    me.user_id
                );
                return self.reply(res(code::CONFLICT, error));
            }
            online.insert(
                me.user_id,
                Peer {
                    name: me.user_name.clone(),
                    tx: self.tx.clone(),
                    kick: Arc::clone(&self.kick),
                    form: Arc::clone(&self.form),
                },
            );
            let n = online.len() as u64;
            shared.stats.peak_online.fetch_max(n, Ordering::Relaxed);
        }
        shared.stats.logins.fetch_add(1, Ordering::Relaxed);
        self.user = Some(me.clone());
        self.failures = 0;
        shared.log.push(format!(
            "{}: login {} ({})",
            self.peer, me.user_id, me.user_name
        ));
        let stored = match shared.store.offline(me.user_id).await {
            Ok(stored) => stored,
            Err(e) => {
                shared
                    .log
                    .push(format!("cannot read offline messages: {e}"));
                Vec::new()
            }
        };
        let mut users = shared.online_users();
        let users_id = users.iter().map(|u| u.user_id).collect();
        // usersId is complete, as in the notes; names only for the first few, so a
        // login among ten thousand users does not cost a megabyte.
        users.truncate(MAX_NAMED_USERS);
        let flow = self.reply(Message::LoginResMes(LoginResMes {
            code: code::OK,
            users_id,
            users,
            user_name: me.user_name.clone(),
            offline: stored.len() as u32,
            error: String::new(),
        }));
        if let Flow::Close(_) = flow {
            return flow;
        }
        let notify = Message::NotifyUserStatusMes(NotifyUserStatusMes {
            user_id: me.user_id,
            user_name: me.user_name.clone(),
            status: status::ONLINE,
        });
        shared.broadcast(&notify, Some(me.user_id));
        if stored.is_empty() {
            return Flow::Continue;
        }
        // Deliver what waited, oldest first; forget it only once it is queued.
        let n = stored.len();
        for m in stored {
            let frame = Message::OfflineMes(m).to_frame_in(self.form.get());
            let queued = tokio::time::timeout(Duration::from_secs(5), self.tx.send(frame)).await;
            if !matches!(queued, Ok(Ok(()))) {
                return Flow::Close(Message::error(
                    code::GOING_AWAY,
                    "disconnected: you did not read your offline messages",
                ));
            }
        }
        if let Err(e) = shared.store.drop_offline(me.user_id, n).await {
            shared
                .log
                .push(format!("cannot drop delivered offline messages: {e}"));
        }
        shared.log.push(format!(
            "delivered {} to {}",
            plural(n, "offline message", "offline messages"),
            me.user_id
        ));
        Flow::Continue
    }

    /// Answers a failed login; too many on one connection close it.
    fn failed_login(&mut self, answer: Message) -> Flow {
        self.failures += 1;
        let flow = self.reply(answer);
        if self.failures >= self.shared.config.max_login_failures {
            return Flow::Close(Message::error(
                code::TOO_MANY,
                format!(
                    "{} failed logins on this connection: closing; connect again to retry",
                    self.failures
                ),
            ));
        }
        flow
    }

    fn sms(&mut self, mut m: SmsMes) -> Flow {
        let me = match self.me() {
            Ok(me) => me.clone(),
            Err(flow) => return flow,
        };
        let id = me.user_id;
        m.user = Some(me);
        self.shared.broadcast(&Message::SmsMes(m), Some(id));
        Flow::Continue
    }

    async fn private(&mut self, mut m: PrivateMes) -> Flow {
        let me = match self.me() {
            Ok(me) => me.clone(),
            Err(flow) => return flow,
        };
        let to = m.to_user_id;
        let result = |code, error: String| {
            Message::PrivateResMes(PrivateResMes {
                code,
                to_user_id: to,
                error,
            })
        };
        match self.shared.store.user(to).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return self.reply(result(code::UNKNOWN_USER, format!("no user {to}")));
            }
            Err(e) => return self.reply(result(code::STORE_FAILED, e.to_string())),
        }
        let shared = Arc::clone(&self.shared);
        let _delivery = shared.delivery.lock().await;
        m.user = Some(me.clone());
        let delivered = {
            let online = shared.online();
            match online.get(&to) {
                Some(peer) => {
                    let frame = Message::PrivateMes(m.clone()).to_frame_in(peer.form.get());
                    shared.offer(peer, frame);
                    true
                }
                None => false,
            }
        };
        if delivered {
            return self.reply(result(code::OK, String::new()));
        }
        let stored = OfflineMes {
            user: me,
            content: m.content,
            sent_at: now_ms(),
        };
        match shared.store.push_offline(to, &stored).await {
            Ok(()) => self.reply(result(
                code::STORED,
                format!("user {to} is offline: stored"),
            )),
            Err(e) => self.reply(result(code::STORE_FAILED, e.to_string())),
        }
    }

    /// Sends `message` to online user `to`, waiting (a little) for queue room:
    /// file chunks should slow the sender down, not drop the receiver.
    async fn forward(&self, to: u32, message: Message) -> bool {
        let (tx, frame) = match self.shared.online().get(&to) {
            Some(peer) => (peer.tx.clone(), message.to_frame_in(peer.form.get())),
            None => return false,
        };
        let sent = tokio::time::timeout(Duration::from_secs(5), tx.send(frame)).await;
        matches!(sent, Ok(Ok(())))
    }

    /// Leaves the online list (if this session is in it) and tells the others.
    fn go_offline(&mut self) {
        let Some(me) = self.user.take() else {
            return;
        };
        {
            let mut online = self.shared.online();
            // Only remove our own entry.
            if online
                .get(&me.user_id)
                .is_some_and(|p| Arc::ptr_eq(&p.kick, &self.kick))
            {
                online.remove(&me.user_id);
            }
        }
        self.shared.log.push(format!(
            "{}: offline {} ({})",
            self.peer, me.user_id, me.user_name
        ));
        let notify = Message::NotifyUserStatusMes(NotifyUserStatusMes {
            user_id: me.user_id,
            user_name: me.user_name,
            status: status::OFFLINE,
        });
        self.shared.broadcast(&notify, None);
    }
}

/// "64 frames were" for the kick-out line ("1 frame was" for a queue of one).
fn waiting(queue_len: usize) -> String {
    let verb = if queue_len == 1 { "was" } else { "were" };
    format!(
        "{} {verb}",
        crate::output::words::plural(queue_len, "frame", "frames")
    )
}
