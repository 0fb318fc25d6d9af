//! The notes' largest program, 海量用户即时通讯系统 (a chat system for many users):
//! register, log in, see who is online, chat with everyone or with one user,
//! receive what was sent while you were away, send a file — over TCP with
//! length-prefixed JSON frames (docs/chat-protocol.md).
//!
//! # Layout
//!
//! - [`frame`] — the 4-byte length prefix: a decoder that survives any segmentation.
//! - [`message`] — the JSON messages (`LoginMes`, `SmsMes`, …) and their result codes.
//! - [`store`] — users (Argon2 hashes) and offline messages: redb file or Redis.
//! - [`server`] — the tokio server: bounded per-client queues, idle timeout, shutdown.
//! - [`client`] — the library client the menu, the scripts, the lab and the tests use.
//! - [`menu`] — the notes' terminal menu (1 log in, 2 register, 3 exit, …).
//! - [`script`] — `--script FILE`: the client without a terminal, one command a line.

pub mod client;
pub mod frame;
pub mod menu;
pub mod message;
pub mod script;
pub mod server;
pub mod store;
