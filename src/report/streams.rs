//! The "HTTP/2 streams" part of a connection in the report: one row per
//! stream of the connection — the call its `:path` names, its frames in order
//! (capture frame number, type, direction) and how it ended (`grpc-status`,
//! or the RST_STREAM that cut it off) — so a reader sees one TCP connection
//! carrying several calls at once. In English or Chinese.
//!
//! Its words live here rather than in `text.rs` because each cell is a small
//! function of the stream, like the dynamics' lines.

use serde::Serialize;

use super::table::{heads, Row, Table};
use crate::chart::Lang;
use crate::dissect::http2::streams::{grpc_status_name, Http2Stream};

/// One connection's streams, ready for the templates.
#[derive(Debug, Clone, Serialize)]
pub struct Streams {
    pub heading: &'static str,
    pub intro: &'static str,
    pub table: Table,
}

struct Words {
    heading: &'static str,
    intro: &'static str,
    stream: &'static str,
    call: &'static str,
    frames: &'static str,
    outcome: &'static str,
    connection: &'static str,
    more: &'static str,
    /// Before the RST_STREAM's code, with its punctuation.
    reset_by_client: &'static str,
    reset_by_server: &'static str,
    goaway_by_client: &'static str,
    goaway_by_server: &'static str,
    open: &'static str,
}

const EN: Words = Words {
    heading: "HTTP/2 streams",
    intro: "One TCP connection, many streams: each call is a stream of its own (odd numbers, opened by the client), its frames interleaved with the other streams' on the same connection. Each frame is listed as capture frame number, type and direction (→ client to server, ← server to client). Stream 0 is the connection itself: SETTINGS, PING, WINDOW_UPDATE for the whole connection, GOAWAY.",
    stream: "Stream",
    call: "Call (:path)",
    frames: "Frames in order",
    outcome: "How it ended",
    connection: "the connection (stream 0)",
    more: "more frames",
    reset_by_client: "reset by the client: ",
    reset_by_server: "reset by the server: ",
    goaway_by_client: "closed by the client: ",
    goaway_by_server: "closed by the server: ",
    open: "no end seen in the capture",
};

const ZH: Words = Words {
    heading: "HTTP/2 流",
    intro: "一条 TCP 连接承载多个流：每次调用是一个独立的流（奇数编号，由客户端打开），它的帧与同一连接上其他流的帧交错传输。每一帧列为抓包帧号、帧类型和方向（→ 客户端到服务器，← 服务器到客户端）。流 0 是连接本身：SETTINGS、PING、作用于整个连接的 WINDOW_UPDATE、GOAWAY。",
    stream: "流",
    call: "调用（:path）",
    frames: "帧（按顺序）",
    outcome: "结束方式",
    connection: "连接本身（流 0）",
    more: "帧未列出",
    reset_by_client: "被客户端重置：",
    reset_by_server: "被服务器重置：",
    goaway_by_client: "客户端关闭连接：",
    goaway_by_server: "服务器关闭连接：",
    open: "抓包中未见结束",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// "12 HEADERS →, 14 DATA ←, …".
fn frames_cell(s: &Http2Stream, w: &Words) -> String {
    let mut cell = s
        .frames
        .iter()
        .map(|f| {
            let arrow = if f.from_server { "←" } else { "→" };
            format!("{} {} {arrow}", f.frame, f.kind)
        })
        .collect::<Vec<_>>()
        .join(", ");
    if s.more_frames > 0 {
        cell.push_str(&format!(" (+{} {})", s.more_frames, w.more));
    }
    cell
}

/// "grpc-status 0 (OK)", "reset by the client: RST_STREAM CANCEL (8)", …
fn outcome_cell(s: &Http2Stream, w: &Words) -> String {
    let mut parts = Vec::new();
    if let Some(code) = s.grpc_status {
        let mut p = format!("grpc-status {code} ({})", grpc_status_name(code));
        if let Some(m) = s.grpc_message.as_deref().filter(|m| !m.is_empty()) {
            p.push_str(&format!(" “{m}”"));
        }
        parts.push(p);
    }
    for (kind, end, by_client, by_server) in [
        ("RST_STREAM", &s.reset, w.reset_by_client, w.reset_by_server),
        ("GOAWAY", &s.goaway, w.goaway_by_client, w.goaway_by_server),
    ] {
        if let Some(r) = end {
            let who = if r.by_server { by_server } else { by_client };
            let (name, code) = &r.code;
            parts.push(format!("{who}{kind} {name} ({code}), #{}", r.frame));
        }
    }
    if parts.is_empty() && s.stream != 0 {
        parts.push(match &s.status {
            Some(status) => format!(":status {status}"),
            None => w.open.to_string(),
        });
    }
    parts.join("; ")
}

/// A connection's streams as a table; `None` when it carried no HTTP/2.
pub fn streams(streams: &[Http2Stream], lang: Lang) -> Option<Streams> {
    if streams.is_empty() {
        return None;
    }
    let w = words(lang);
    let rows = streams
        .iter()
        .map(|s| {
            let call = match (&s.path, s.stream) {
                (_, 0) => w.connection.to_string(),
                (Some(p), _) => p.clone(),
                (None, _) => String::new(),
            };
            Row {
                // A call that did not end well is shaded.
                bad: s.reset.is_some() || s.grpc_status.is_some_and(|c| c != 0),
                cells: vec![
                    s.stream.to_string().into(),
                    call.into(),
                    frames_cell(s, w).into(),
                    outcome_cell(s, w).into(),
                ],
            }
        })
        .collect();
    Some(Streams {
        heading: w.heading,
        intro: w.intro,
        table: Table {
            class: Some("streams"),
            head: heads(&[
                (w.stream, true),
                (w.call, false),
                (w.frames, false),
                (w.outcome, false),
            ]),
            rows,
        },
    })
}
