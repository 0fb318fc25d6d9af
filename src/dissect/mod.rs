//! Dissectors for the lab's own application protocols: they read the TCP
//! payload of a capture back into the messages the programs exchanged, for
//! the `app` object of `inspect --json` and the report's message sequence.
//!
//! # Layout
//!
//! - [`chat`] — the chat's length-prefixed JSON frames, reassembled per direction.
//! - [`redact`] — passwords masked in payload bytes before anything shows them.

pub mod chat;
pub mod redact;
