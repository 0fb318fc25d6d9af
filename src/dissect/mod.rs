//! Dissectors for the lab's own application protocols: they read the TCP
//! payload of a capture back into the messages the programs exchanged, for
//! the `app` object of `inspect --json` and the report's message sequence.
//!
//! # Layout
//!
//! - [`app`] — all of them behind one call, and the `app` object of any protocol.
//! - [`chat`] — the chat's length-prefixed JSON frames, reassembled per direction.
//! - [`http1`] — HTTP/1.x requests and responses, on any port.
//! - [`http2`] — HTTP/2 frames from the connection preface on, HPACK headers, gRPC messages.
//! - [`protobuf`] — protobuf messages in gRPC payloads: the greeter's by type, any other as wire fields.
//! - [`redact`] — passwords masked in payload bytes before anything shows them.
//! - [`tcp_stream`] — one direction of a connection as bytes in order (HTTP's).

pub mod app;
pub mod chat;
pub mod http1;
pub mod http2;
pub mod protobuf;
pub mod redact;
pub mod tcp_stream;
#[cfg(test)]
mod test_segment;
