//! What the live page is told: one [`Update`] per change, as JSON, and the
//! [`Snapshot`] a page starts from (or resumes from after its updates were
//! coalesced). Plain data: the page draws these and nothing else.

use std::net::SocketAddr;

use serde::Serialize;

/// One endpoint of a connection as the page shows it: what the packets say, what
/// the kernel's socket table says, and whether the two agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointView {
    pub addr: SocketAddr,
    /// The inferred state (RFC 9293 name); empty for UDP.
    pub state: &'static str,
    /// The kernel's state of the socket `addr` → peer (RFC name), when the kernel
    /// column has it.
    pub kernel: Option<&'static str>,
    /// `Some(true)` when both agree, `Some(false)` when they differ, `None` when
    /// there is nothing to compare (UDP, or no kernel record of the socket).
    pub agree: Option<bool>,
}

/// A connection's header: both endpoints and its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnView {
    pub flow: u64,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    pub client: EndpointView,
    pub server: EndpointView,
    /// Segments (datagrams) seen.
    pub segments: u64,
    /// Of those, how many were only counted, not sent one by one (heavy traffic).
    pub summarized: u64,
    pub bytes: u64,
}

/// One segment or datagram on a connection's ladder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegView {
    pub flow: u64,
    /// Its index on the ladder (0, 1, …), counting summarized segments too.
    pub n: u64,
    pub frame: u64,
    /// Seconds since the first frame the page was shown.
    pub t: f64,
    /// `client` or `server`: who sent it.
    pub from: &'static str,
    /// `[S] seq 0`, as the report's player labels it.
    pub label: String,
    /// The payload's first bytes, printable characters only (`.` for the rest).
    pub text: String,
    /// Both endpoints' inferred states after this segment.
    pub client_state: &'static str,
    pub server_state: &'static str,
    /// State changes it caused, in words.
    pub changes: Vec<String>,
    /// (layer, fields), outermost first: shown when the segment is clicked.
    pub layers: Vec<(String, String)>,
    /// The application messages it completed, one line each, led by their
    /// protocol (`chat …`, `http GET / HTTP/1.1`, `h2 HEADERS stream 1 …`).
    pub app: Vec<String>,
    /// Wireshark's expert flags on it.
    pub flags: Vec<&'static str>,
}

/// One socket of the kernel's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelView {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Its RFC 9293 name (`TIME_WAIT` for a socket handed over to one), or
    /// `(gone)` once it left the table.
    pub state: &'static str,
}

/// A change for the page; `seq` orders them (see [`Envelope`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Update {
    /// A connection appeared, or its states, kernel states or counts changed.
    Conn(ConnView),
    /// A segment or datagram for the ladder.
    Seg(SegView),
    /// A socket of the kernel's table changed.
    Kernel(KernelView),
}

/// An update with its place in the stream: a page ignores updates whose `seq` its
/// snapshot already holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<'a> {
    pub seq: u64,
    #[serde(flatten)]
    pub update: &'a Update,
}

/// Everything a page needs to start: the connections, the last segments of each,
/// the kernel table, and how far the stream is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Always `snapshot`, so the page tells it from an update.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The last update this snapshot holds.
    pub seq: u64,
    pub conns: Vec<ConnView>,
    /// The last segments of each connection, oldest first.
    pub segs: Vec<SegView>,
    pub kernel: Vec<KernelView>,
    /// Where the kernel column comes from, for its label.
    pub kernel_source: String,
    pub frames: u64,
    /// Updates this page missed because it was too slow, replaced by this snapshot.
    pub coalesced: u64,
}
