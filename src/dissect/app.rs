//! Every application dissector behind one call, for `inspect` and `capture`
//! (their lines and `app` objects) and the report's message sequence: each
//! frame is offered to all of them, shown or not, so their streams stay whole,
//! and the one whose connection it is answers.

use serde::Serialize;

use super::chat::{ChatApp, ChatDissector, ChatEvent, ChatMessage};
use super::http1::{Http1Dissector, HttpApp};
use super::http2::streams::{Http2Stream, StreamTable};
use super::http2::{Http2App, Http2Dissector};
use crate::decode::Packet;

/// The `app` shape every dissector shares (docs/json.md): the frame's first
/// message flattened into `app`, and all of them under `messages` only when the
/// segment completed several.
pub(crate) fn first_and_all<T: Clone>(messages: Vec<T>) -> (Option<T>, Vec<T>) {
    let first = messages.first().cloned();
    let all = if messages.len() > 1 {
        messages
    } else {
        Vec::new()
    };
    (first, all)
}

/// A frame's `app` object, whichever protocol it is (each has its `proto`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum App {
    Chat(ChatApp),
    Http(HttpApp),
    Http2(Http2App),
}

impl App {
    /// The notes a frame's text line ends with.
    pub fn line_notes(&self) -> String {
        match self {
            App::Chat(a) => a.line_notes(),
            App::Http(a) => a.line_notes(),
            App::Http2(a) => a.line_notes(),
        }
    }
}

/// The dissectors together: feed it every frame in capture order.
pub struct AppDissector {
    chat: ChatDissector,
    http1: Http1Dissector,
    http2: Http2Dissector,
    /// The HTTP/2 frames [`AppDissector::http_events`] saw, by stream.
    streams: StreamTable,
}

impl AppDissector {
    /// The HTTP dissectors with this chat dissector (its ports as asked).
    pub fn new(chat: ChatDissector) -> Self {
        AppDissector {
            chat,
            http1: Http1Dissector::default(),
            http2: Http2Dissector::default(),
            streams: StreamTable::default(),
        }
    }

    /// What the frame carries, if a dissector follows its direction.
    pub fn frame(&mut self, packet: &Packet, bytes: &[u8]) -> Option<App> {
        let chat = self.chat.frame(packet, bytes).map(App::Chat);
        let http1 = self.http1.frame(packet, bytes).map(App::Http);
        let http2 = self.http2.frame(packet, bytes).map(|(a, _)| App::Http2(a));
        chat.or(http2).or(http1)
    }

    /// The HTTP messages of the frame, as the report's message sequence lists
    /// them (who sent it, the request line or status line); chat messages come
    /// from [`ChatDissector::events`], which the report reads apart because
    /// its notes are about the chat's framing.
    pub fn http_events(
        &mut self,
        packet: &Packet,
        bytes: &[u8],
        flow: Option<u64>,
    ) -> Vec<ChatEvent> {
        let event = |from_server, kind: String, len: usize, summary: String| ChatEvent {
            frame: packet.frame,
            ts_ns: packet.ts_ns,
            flow,
            from_server,
            message: ChatMessage {
                kind: Some(kind),
                len,
                summary,
                data: None,
                data_form: None,
                error: None,
            },
        };
        let mut events = Vec::new();
        if let Some((app, from_server)) = self.http1.frame_from_server(packet, bytes) {
            events.extend(app.all().map(|m| {
                let kind = m.method.clone().or(m.status.map(|s| s.to_string()));
                event(
                    from_server,
                    kind.unwrap_or_default(),
                    m.len as usize,
                    m.summary.clone(),
                )
            }));
        }
        if let Some((app, from_server)) = self.http2.frame(packet, bytes) {
            self.streams.add(flow, packet.frame, &app, from_server);
            events.extend(app.all().map(|f| {
                event(
                    from_server,
                    f.kind.to_string(),
                    f.len as usize,
                    f.summary.clone(),
                )
            }));
        }
        events
    }

    /// The HTTP/2 streams of the frames given to [`AppDissector::http_events`]
    /// so far, each with its frames in order and how it ended.
    pub fn http2_streams(self) -> Vec<Http2Stream> {
        self.streams.into_streams()
    }
}
