//! What every server of the crate shares, whatever it serves: an event log that a
//! report keeps and a terminal may print as it happens (`Log`, [`LogSink`]), and
//! the signal that tells a server to stop ([`Shutdown`]).
//!
//! The lab's scenario servers and the chat server both use these; keeping them
//! here, below both, is what lets the chat scenario run the chat server without
//! the chat server knowing about scenarios. This module imports nothing of the
//! crate.

mod log;
mod shutdown;

pub(crate) use log::Log;
pub use log::LogSink;
pub use shutdown::Shutdown;
