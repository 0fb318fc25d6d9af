//! Why a scenario could not do its job: a socket step that failed or timed out
//! (named, so the message says which step), a listener of the wrong kind, bad
//! parameters, or a peer that broke the protocol.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Why a scenario could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{what}: nothing happened within {after:?}")]
    Timeout { what: String, after: Duration },
    #[error("scenario {scenario} needs {expected}, but was given {given}")]
    WrongListener {
        scenario: &'static str,
        expected: &'static str,
        given: &'static str,
    },
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the server refused: {reply}")]
    Refused { reply: String },
    #[error("expected {addr} to refuse the connection, but something accepted it")]
    NotRefused { addr: SocketAddr },
    #[error("expected the connect to {addr} to time out, but something answered its SYN")]
    NotTimedOut { addr: SocketAddr },
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
}

impl ScenarioError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        ScenarioError::Io {
            what: what.into(),
            source,
        }
    }

    /// The peer aborted the connection with RST.
    pub fn is_reset(&self) -> bool {
        matches!(self, ScenarioError::Io { source, .. }
            if source.kind() == io::ErrorKind::ConnectionReset)
    }
}
