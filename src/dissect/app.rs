//! Every application dissector behind one call, for `inspect` and `capture`
//! (their lines and `app` objects) and the report's message sequence: each
//! frame is offered to all of them, shown or not, so their streams stay whole,
//! and the one whose connection it is answers.

use serde::Serialize;

use super::chat::{ChatApp, ChatDissector, ChatEvent, ChatMessage};
use super::http1::{Http1Dissector, HttpApp};
use crate::decode::Packet;

/// A frame's `app` object, whichever protocol it is (each has its `proto`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum App {
    Chat(ChatApp),
    Http(HttpApp),
}

impl App {
    /// The notes a frame's text line ends with.
    pub fn line_notes(&self) -> String {
        match self {
            App::Chat(a) => a.line_notes(),
            App::Http(a) => a.line_notes(),
        }
    }
}

/// The dissectors together: feed it every frame in capture order.
pub struct AppDissector {
    chat: ChatDissector,
    http1: Http1Dissector,
}

impl AppDissector {
    /// The HTTP dissectors with this chat dissector (its ports as asked).
    pub fn new(chat: ChatDissector) -> Self {
        AppDissector {
            chat,
            http1: Http1Dissector::default(),
        }
    }

    /// What the frame carries, if a dissector follows its direction.
    pub fn frame(&mut self, packet: &Packet, bytes: &[u8]) -> Option<App> {
        let chat = self.chat.frame(packet, bytes).map(App::Chat);
        let http1 = self.http1.frame(packet, bytes).map(App::Http);
        chat.or(http1)
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
        let Some((app, from_server)) = self.http1.frame_from_server(packet, bytes) else {
            return Vec::new();
        };
        app.all()
            .map(|m| ChatEvent {
                frame: packet.frame,
                ts_ns: packet.ts_ns,
                flow,
                from_server,
                message: ChatMessage {
                    kind: Some(
                        m.method
                            .clone()
                            .or(m.status.map(|s| s.to_string()))
                            .unwrap_or_default(),
                    ),
                    len: m.len as usize,
                    summary: m.summary.clone(),
                    data: None,
                    data_form: None,
                    error: None,
                },
            })
            .collect()
    }
}
