//! The chat client as a library: one connection, typed requests
//! (`register`, `login`, `broadcast`, `private`, `send_file`, `logout`) and a
//! stream of everything else the server pushes (`recv`). The terminal menu, the
//! `--script` mode, the lab's scripted clients, the bench and the tests all
//! drive this one type.
//!
//! Server pushes can arrive at any time, also while a request waits for its
//! answer; they are kept in an inbox, in order, for the next [`ChatClient::recv`].
//! The client also keeps what it learns along the way: who is online, the
//! offline messages delivered at login, and files received (reassembled,
//! checked against the offer's size and SHA-256, and answered with `FileResMes`).
//!
//! It sends `data` in the notes' form (a JSON string) unless told otherwise
//! ([`ChatClient::set_form`]) and reads either form, so it also talks to a
//! server written from the notes.

use crate::output::words::plural;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::frame::{Frame, FrameCodec, FrameError};
use super::message::*;

/// File chunk size before base64 (a chunk frame is about 4/3 of it).
pub const CHUNK: usize = 16 * 1024;
/// How long a request waits for its answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the chat server at {addr}: {source} (is `protolab serve chat` running there?)")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("the server sent something that is not a message: {0}")]
    Message(#[from] MessageError),
    #[error("the server closed the connection")]
    Closed,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("server error {code}: {error}")]
    Server { code: u16, error: String },
    #[error("{0}")]
    Local(String),
}

/// A file that arrived, checked against its offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFile {
    pub from: UserInfo,
    pub name: String,
    pub bytes: Vec<u8>,
    /// Size and SHA-256 matched the offer.
    pub ok: bool,
    /// Where it was saved, with a receive folder.
    pub saved: Option<PathBuf>,
    /// Why it was not saved, when it was not.
    pub not_saved: Option<String>,
}

impl ReceivedFile {
    /// One line for the menu (bilingual, as the menu is): saved where, or why not.
    pub fn describe(&self) -> String {
        let head = format!(
            "{:?} ({}) from {}",
            self.name,
            plural(self.bytes.len(), "byte", "bytes"),
            UserInfo::label_of(self.from.user_id, &self.from.user_name)
        );
        match (&self.saved, &self.not_saved) {
            (Some(path), _) => format!("文件已保存 file {head} saved to {}", path.display()),
            (None, Some(why)) => format!("文件未保存 file {head} not saved: {why}"),
            (None, None) => format!("文件未保存 file {head} not saved"),
        }
    }
}

struct Incoming {
    from: UserInfo,
    name: String,
    size: u64,
    sha256: String,
    bytes: Vec<u8>,
    bad_chunk: bool,
}

/// One connection to a chat server.
pub struct ChatClient {
    frames: Framed<TcpStream, FrameCodec>,
    inbox: VecDeque<Message>,
    /// The logged-in user.
    pub user: Option<UserInfo>,
    /// Who is online, as far as this client has heard (id → name).
    pub online: BTreeMap<u32, String>,
    /// Offline messages delivered at login, oldest first (the menu's "read" empties it).
    pub offline: Vec<OfflineMes>,
    /// Files received so far.
    pub received_files: Vec<ReceivedFile>,
    incoming: HashMap<(u32, u32), Incoming>,
    recv_dir: Option<PathBuf>,
    next_file_id: u32,
    form: DataForm,
}

impl ChatClient {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<ChatClient, ClientError> {
        let stream = tokio::time::timeout(REPLY_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(REPLY_TIMEOUT))?
            .map_err(|source| ClientError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        Ok(ChatClient::from_stream(stream))
    }

    /// Wraps a connected stream.
    pub fn from_stream(stream: TcpStream) -> ChatClient {
        ChatClient {
            frames: Framed::new(stream, FrameCodec::default()),
            inbox: VecDeque::new(),
            user: None,
            online: BTreeMap::new(),
            offline: Vec::new(),
            received_files: Vec::new(),
            incoming: HashMap::new(),
            recv_dir: None,
            next_file_id: 1,
            form: DataForm::default(),
        }
    }

    /// Sends `data` in `form` from now on.
    pub fn set_form(&mut self, form: DataForm) {
        self.form = form;
    }

    /// Saves received files into `dir` (created when needed).
    pub fn save_files_to(&mut self, dir: impl Into<PathBuf>) {
        self.recv_dir = Some(dir.into());
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.frames.get_ref().local_addr().ok()
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &Message) -> Result<(), ClientError> {
        self.frames.send(&message.to_json_in(self.form)[..]).await?;
        Ok(())
    }

    /// Writes raw bytes, bypassing the framing (for hostile-input tests and demos).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let stream = self.frames.get_mut();
        stream.write_all(bytes).await.map_err(FrameError::Io)?;
        Ok(())
    }

    /// The next message from the server: the inbox first, then the wire.
    pub async fn recv(&mut self) -> Result<Message, ClientError> {
        if let Some(m) = self.inbox.pop_front() {
            return Ok(m);
        }
        self.read_wire().await
    }

    /// [`ChatClient::recv`] with a time limit.
    pub async fn recv_timeout(&mut self, limit: Duration) -> Result<Message, ClientError> {
        tokio::time::timeout(limit, self.recv())
            .await
            .map_err(|_| ClientError::Timeout(limit))?
    }

    /// Reads one frame from the wire and takes note of what it says.
    async fn read_wire(&mut self) -> Result<Message, ClientError> {
        let frame = match self.frames.next().await {
            None => return Err(ClientError::Closed),
            Some(frame) => frame?,
        };
        let body = match frame {
            Frame::Body(body) => body,
            Frame::Oversize { len, limit } => {
                return Err(ClientError::Local(format!(
                    "the server sent a {len}-byte frame, over our {limit}-byte limit"
                )))
            }
        };
        let message = Message::parse(&body)?;
        self.observe(&message).await?;
        Ok(message)
    }

    /// Reads until `pick` accepts a message; everything else stays in the inbox,
    /// in order. An `ErrorMes` ends the wait as [`ClientError::Server`].
    pub async fn wait_for<T>(
        &mut self,
        mut pick: impl FnMut(&Message) -> Option<T>,
    ) -> Result<T, ClientError> {
        // Look in the inbox first.
        if let Some(i) = self.inbox.iter().position(|m| pick(m).is_some()) {
            let m = self.inbox.remove(i).expect("index from position");
            return Ok(pick(&m).expect("matched before"));
        }
        let wait = async {
            loop {
                let m = self.read_wire().await?;
                if let Some(v) = pick(&m) {
                    return Ok(v);
                }
                if let Message::ErrorMes(e) = &m {
                    return Err(ClientError::Server {
                        code: e.code,
                        error: e.error.clone(),
                    });
                }
                self.inbox.push_back(m);
            }
        };
        tokio::time::timeout(REPLY_TIMEOUT, wait)
            .await
            .map_err(|_| ClientError::Timeout(REPLY_TIMEOUT))?
    }

    /// Registers a user (the notes' menu item 2).
    pub async fn register(
        &mut self,
        id: u32,
        name: &str,
        password: &str,
    ) -> Result<RegisterResMes, ClientError> {
        self.send(&Message::RegisterMes(RegisterMes {
            user: NewUser {
                user_id: id,
                user_pwd: password.into(),
                user_name: name.into(),
            },
        }))
        .await?;
        self.wait_for(|m| match m {
            Message::RegisterResMes(r) => Some(r.clone()),
            _ => None,
        })
        .await
    }

    /// Logs in (menu item 1). On success the offline messages that follow the
    /// answer are read too and kept in [`ChatClient::offline`].
    pub async fn login(&mut self, id: u32, password: &str) -> Result<LoginResMes, ClientError> {
        self.send(&Message::LoginMes(LoginMes {
            user_id: id,
            user_pwd: password.into(),
            user_name: String::new(),
        }))
        .await?;
        let res = self
            .wait_for(|m| match m {
                Message::LoginResMes(r) => Some(r.clone()),
                _ => None,
            })
            .await?;
        if res.code == code::OK {
            self.user = Some(UserInfo {
                user_id: id,
                user_name: res.user_name.clone(),
            });
            // usersId lists everyone; users names only the first thousand.
            self.online = res.users_id.iter().map(|id| (*id, String::new())).collect();
            for u in &res.users {
                self.online.insert(u.user_id, u.user_name.clone());
            }
            for _ in 0..res.offline {
                self.wait_for(|m| matches!(m, Message::OfflineMes(_)).then_some(()))
                    .await?;
            }
        }
        Ok(res)
    }

    /// Sends to everyone online (`SmsMes`); there is no answer.
    pub async fn broadcast(&mut self, content: &str) -> Result<(), ClientError> {
        self.send(&Message::SmsMes(SmsMes {
            content: content.into(),
            user: None,
        }))
        .await
    }

    /// Sends to one user; the answer says delivered (200), stored (202) or unknown (404).
    pub async fn private(&mut self, to: u32, content: &str) -> Result<PrivateResMes, ClientError> {
        self.send(&Message::PrivateMes(PrivateMes {
            to_user_id: to,
            content: content.into(),
            user: None,
        }))
        .await?;
        self.wait_for(|m| match m {
            Message::PrivateResMes(r) if r.to_user_id == to => Some(r.clone()),
            _ => None,
        })
        .await
    }

    /// Logs out; the connection stays open (log in again, or [`ChatClient::close`]).
    pub async fn logout(&mut self) -> Result<LogoutResMes, ClientError> {
        self.send(&Message::LogoutMes(LogoutMes {})).await?;
        let res = self
            .wait_for(|m| match m {
                Message::LogoutResMes(r) => Some(r.clone()),
                _ => None,
            })
            .await?;
        self.user = None;
        self.online.clear();
        Ok(res)
    }

    /// Sends `bytes` as file `name` to online user `to` in chunks, and waits for
    /// the receiver's verdict (its size and checksum check).
    pub async fn send_file(
        &mut self,
        to: u32,
        name: &str,
        bytes: &[u8],
    ) -> Result<FileResMes, ClientError> {
        let file_id = self.next_file_id;
        self.next_file_id += 1;
        self.send(&Message::FileOfferMes(FileOfferMes {
            to_user_id: to,
            file_id,
            file_name: name.into(),
            size: bytes.len() as u64,
            sha256: hex_sha256(bytes),
            user: None,
        }))
        .await?;
        for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
            self.send(&Message::FileChunkMes(FileChunkMes {
                to_user_id: to,
                file_id,
                seq: seq as u32,
                data: base64::engine::general_purpose::STANDARD.encode(chunk),
                user: None,
            }))
            .await?;
        }
        self.send(&Message::FileDoneMes(FileDoneMes {
            to_user_id: to,
            file_id,
            user: None,
        }))
        .await?;
        self.wait_for(|m| match m {
            Message::FileResMes(r) if r.file_id == file_id => Some(r.clone()),
            _ => None,
        })
        .await
    }

    /// Sends a file from disk (its own name, without folders).
    pub async fn send_file_path(
        &mut self,
        to: u32,
        path: &Path,
    ) -> Result<FileResMes, ClientError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        self.send_file(to, &name, &bytes).await
    }

    /// Closes like a polite client: our FIN first, then read (and drop) whatever
    /// the server still sends until its FIN, so nothing unread turns the close into
    /// a RST. The client ends in TIME_WAIT.
    pub async fn close(self) -> Result<(), ClientError> {
        let mut stream = self.frames.into_inner();
        stream.shutdown().await.map_err(FrameError::Io)?;
        let mut sink = [0u8; 4096];
        let drain = async {
            loop {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(REPLY_TIMEOUT, drain)
            .await
            .map_err(|_| ClientError::Timeout(REPLY_TIMEOUT))
    }

    /// Updates what the client knows from a message off the wire.
    async fn observe(&mut self, message: &Message) -> Result<(), ClientError> {
        match message {
            Message::NotifyUserStatusMes(n) => {
                if n.status == status::ONLINE {
                    self.online.insert(n.user_id, n.user_name.clone());
                } else {
                    self.online.remove(&n.user_id);
                }
            }
            Message::OfflineMes(m) => self.offline.push(m.clone()),
            Message::FileOfferMes(offer) => {
                let from = offer.user.clone().unwrap_or(UserInfo {
                    user_id: 0,
                    user_name: String::new(),
                });
                self.incoming.insert(
                    (from.user_id, offer.file_id),
                    Incoming {
                        from,
                        name: offer.file_name.clone(),
                        size: offer.size,
                        sha256: offer.sha256.clone(),
                        bytes: Vec::new(),
                        bad_chunk: false,
                    },
                );
            }
            Message::FileChunkMes(chunk) => {
                let from = chunk.user.as_ref().map_or(0, |u| u.user_id);
                if let Some(file) = self.incoming.get_mut(&(from, chunk.file_id)) {
                    match base64::engine::general_purpose::STANDARD.decode(&chunk.data) {
                        Ok(bytes) if (file.bytes.len() + bytes.len()) as u64 <= file.size => {
                            file.bytes.extend_from_slice(&bytes)
                        }
                        _ => file.bad_chunk = true,
                    }
                }
            }
            Message::FileDoneMes(done) => {
                let from = done.user.as_ref().map_or(0, |u| u.user_id);
                if let Some(file) = self.incoming.remove(&(from, done.file_id)) {
                    self.finish_file(file, done.file_id).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn finish_file(&mut self, file: Incoming, file_id: u32) -> Result<(), ClientError> {
        let digest = hex_sha256(&file.bytes);
        let error = if file.bad_chunk {
            "a chunk was not base64 or overran the offered size".to_string()
        } else if file.bytes.len() as u64 != file.size {
            format!(
                "size {} differs from the offered {}",
                file.bytes.len(),
                file.size
            )
        } else if digest != file.sha256 {
            format!("sha256 {digest} differs from the offered {}", file.sha256)
        } else {
            String::new()
        };
        let ok = error.is_empty();
        let (saved, not_saved) = match (&self.recv_dir, ok) {
            (_, false) => (None, Some(format!("it failed the check ({error})"))),
            (None, true) => (None, Some("use --save-files DIR to keep files".to_string())),
            (Some(dir), true) => match save(dir, &file.name, &file.bytes) {
                Ok(path) => (Some(path), None),
                Err(e) => (
                    None,
                    Some(format!("cannot write in {}: {e}", dir.display())),
                ),
            },
        };
        self.send(&Message::FileResMes(FileResMes {
            to_user_id: file.from.user_id,
            file_id,
            code: if ok { code::OK } else { code::CHECK_FAILED },
            error,
            user: None,
        }))
        .await?;
        self.received_files.push(ReceivedFile {
            from: file.from,
            name: file.name,
            bytes: file.bytes,
            ok,
            saved,
            not_saved,
        });
        Ok(())
    }
}

/// Saves under `dir` with the name's last component only (no `../` escapes).
fn save(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let base = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| "file".into());
    std::fs::create_dir_all(dir)?;
    let path = dir.join(base);
    std::fs::write(&path, bytes)?;
    Ok(path)
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Raw frame bytes for a message body (for tests that send frames by hand).
pub fn raw_frame(body: &[u8]) -> Bytes {
    super::frame::encode_frame(body)
}
