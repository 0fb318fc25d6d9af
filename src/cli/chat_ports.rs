//! `--chat-port`: which TCP connections `inspect` and `capture` dissect as the
//! notes' chat protocol, so both show the same `[chat …]` notes for the same frames.

use clap::Args;

use crate::dissect::app::AppDissector;
use crate::dissect::chat::ChatDissector;

#[derive(Debug, Clone, Args)]
pub struct ChatPortArgs {
    /// Dissect TCP connections on PORT as chat frames (repeatable). Connections
    /// on other ports are dissected too from their first chat message; 0 turns
    /// all chat dissection off.
    #[arg(long, value_name = "PORT", default_value = "8889")]
    pub chat_port: Vec<u16>,
}

impl ChatPortArgs {
    /// The application dissectors: chat on these ports, HTTP anywhere (feed
    /// it every frame, shown or not, so the streams it reassembles stay whole).
    pub fn dissector(&self) -> AppDissector {
        AppDissector::new(self.chat_dissector())
    }

    /// The chat dissector for these ports.
    pub fn chat_dissector(&self) -> ChatDissector {
        let ports: Vec<u16> = self.chat_port.iter().copied().filter(|p| *p != 0).collect();
        let chat = ChatDissector::new(ports);
        if self.chat_port.contains(&0) {
            chat.ports_only()
        } else {
            chat
        }
    }
}
