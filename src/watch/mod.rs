//! `protolab watch`: the state visualizer live, in a browser, while a student
//! types into `nc`. A live capture goes through the same decode → analyse
//! pipeline as `capture` and `run`; a pure model turns each analysed frame and
//! each change of the kernel's socket table into small updates; an HTTP server in
//! the binary sends them to every open page as Server-Sent Events.
//!
//! The capture never waits for a browser: updates go into a bounded broadcast
//! channel, and a page that falls behind skips the updates it missed and gets a
//! fresh snapshot instead, the count of what it skipped shown on the page.
//!
//! # Layout
//!
//! - [`update`] — what the page is told: updates and snapshots (plain data).
//! - [`state`] — the page's model, fed frame by frame (pure, bounded).
//! - [`kernel_table`] — the kernel's socket table beside the inferred states (pure).
//! - [`messages`] — the application messages of a frame, one line each (pure).
//! - [`access`] — who may connect: loopback by default, a token otherwise.
//! - [`hub`] — the model behind a lock and the broadcast channel to the pages.
//! - [`page`] — the page itself, assembled from assets embedded in the binary.
//! - [`server`] — the HTTP server: the page, the event stream, `/stats`.
//! - [`session`] — a running watch: capture, pipeline, kernel watch and server.

pub mod access;
pub mod hub;
pub mod kernel_table;
pub mod messages;
pub mod page;
pub mod server;
pub mod session;
pub mod state;
pub mod update;

pub use access::{Access, AccessError};
pub use session::{Session, WatchConfig};
pub use state::WatchState;
