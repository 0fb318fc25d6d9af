//! HTTP/2 frames grouped by stream: which frames belong to which call. One
//! TCP connection carries many streams, their frames interleaved; this puts
//! each stream's frames back together, in order, with the call its `:path`
//! names and how it ended: the `grpc-status` of its trailers, or the code of
//! the RST_STREAM that cut it off. Stream 0 is the connection's own
//! (SETTINGS, PING, WINDOW_UPDATE, GOAWAY). Pure: frames in, streams out.

use std::collections::HashMap;

use serde::Serialize;

use super::Http2App;

/// Most streams kept per capture, and frames kept per stream.
pub const MAX_STREAMS: usize = 1000;
pub const MAX_FRAMES: usize = 200;

/// One HTTP/2 frame of a stream: in which capture frame, what, and who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamFrame {
    pub frame: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub from_server: bool,
}

/// How a stream was cut off (RST_STREAM), or the connection closed (GOAWAY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reset {
    /// The error code's name (`CANCEL`) and number.
    pub code: (String, u32),
    pub by_server: bool,
    pub frame: u64,
}

/// One stream of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Http2Stream {
    /// The connection (the analyzer's flow number).
    pub flow: Option<u64>,
    pub stream: u32,
    /// The call: the request's `:path`.
    pub path: Option<String>,
    /// The response's `:status`.
    pub status: Option<String>,
    pub frames: Vec<StreamFrame>,
    /// Frames past [`MAX_FRAMES`], counted only.
    pub more_frames: u64,
    /// The `grpc-status` of the trailers (or of a trailers-only response).
    pub grpc_status: Option<u32>,
    pub grpc_message: Option<String>,
    pub reset: Option<Reset>,
    /// Stream 0: the first GOAWAY, which closes the connection.
    pub goaway: Option<Reset>,
}

/// The streams seen so far: feed it every dissected segment in capture order.
#[derive(Debug, Default)]
pub struct StreamTable {
    streams: Vec<Http2Stream>,
    index: HashMap<(Option<u64>, u32), usize>,
}

impl StreamTable {
    /// Adds the frames one segment completed.
    pub fn add(&mut self, flow: Option<u64>, frame: u64, app: &Http2App, from_server: bool) {
        for f in app.all() {
            let i = match self.index.get(&(flow, f.stream)) {
                Some(&i) => i,
                None if self.streams.len() >= MAX_STREAMS => continue,
                None => {
                    self.index.insert((flow, f.stream), self.streams.len());
                    self.streams.push(Http2Stream {
                        flow,
                        stream: f.stream,
                        path: None,
                        status: None,
                        frames: Vec::new(),
                        more_frames: 0,
                        grpc_status: None,
                        grpc_message: None,
                        reset: None,
                        goaway: None,
                    });
                    self.streams.len() - 1
                }
            };
            let s = &mut self.streams[i];
            if s.frames.len() < MAX_FRAMES {
                s.frames.push(StreamFrame {
                    frame,
                    kind: f.kind,
                    from_server,
                });
            } else {
                s.more_frames += 1;
            }
            let header = |name: &str| {
                f.headers
                    .iter()
                    .flatten()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            if s.path.is_none() && !from_server {
                s.path = header(":path");
            }
            if from_server {
                s.status = s.status.take().or_else(|| header(":status"));
                if let Some(code) = header("grpc-status") {
                    s.grpc_status = code.trim().parse().ok();
                    s.grpc_message = header("grpc-message").map(|m| percent_decoded(&m));
                }
            }
            let slot = match f.kind {
                "RST_STREAM" => &mut s.reset,
                "GOAWAY" => &mut s.goaway,
                _ => continue,
            };
            if slot.is_none() {
                *slot = f.error_code.clone().map(|code| Reset {
                    code,
                    by_server: from_server,
                    frame,
                });
            }
        }
    }

    /// The streams, in the order their first frames came.
    pub fn into_streams(self) -> Vec<Http2Stream> {
        self.streams
    }
}

/// `grpc-message` as its sender wrote it: the header is percent-encoded
/// (`the%20server%20gave%20up`); a `%` not followed by two hex digits stays.
pub(crate) fn percent_decoded(value: &str) -> String {
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A gRPC status code's name (grpc/doc/statuscodes.md).
pub fn grpc_status_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn grpc_message_is_percent_decoded() {
        assert_eq!(
            percent_decoded("the%20server%20gave%20up"),
            "the server gave up"
        );
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%+1"), "%+1");
        assert_eq!(percent_decoded("%zz%e4%b8%ad"), "%zz中");
    }
}
