//! What the application dissectors saw in a frame, as the live page lists it:
//! one line a message, led by its protocol — `chat LoginMes user 100`,
//! `http GET / HTTP/1.1`, `h2 HEADERS stream 1 POST /greet.Greeter/SayHello`
//! — so a page shows the messages above the segments that carried them, as
//! the report's message sequence does. A segment that completes several
//! messages (pipelined requests, a SETTINGS and a HEADERS) gives several lines.

use crate::dissect::app::App;

/// The frame's messages, in order; empty when it completed none.
pub fn lines(app: &App) -> Vec<String> {
    match app {
        App::Chat(a) => a
            .all()
            .map(|m| match m.data_form {
                Some(form) => format!("chat {} · data {}", m.summary, form.word()),
                None => format!("chat {}", m.summary),
            })
            .collect(),
        App::Http(a) => a
            .all()
            .map(|m| match m.body_len {
                0 => format!("http {}", m.summary),
                n => format!("http {} · body {n} B", m.summary),
            })
            .collect(),
        App::Http2(a) => a
            .preface
            .then(|| "h2 preface".to_string())
            .into_iter()
            .chain(a.all().map(|f| format!("h2 {}", f.summary)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FileReader;
    use crate::dissect::app::AppDissector;
    use crate::dissect::chat::ChatDissector;
    use crate::replay::{replay, Next};

    /// Every line of every frame of a recorded capture, in order.
    fn all_lines(name: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(name);
        let mut reader = FileReader::open(&path).unwrap();
        let mut dissect = AppDissector::new(ChatDissector::default());
        let mut out = Vec::new();
        replay(
            &mut reader,
            |f, p, _| -> Result<Next, ()> {
                out.extend(dissect.frame(p, &f.bytes).iter().flat_map(lines));
                Ok(Next::Continue)
            },
            |_| Ok(()),
        )
        .unwrap();
        out
    }

    #[test]
    fn http_requests_and_responses_are_one_line_each() {
        assert_eq!(
            all_lines("recorded_http_hello.pcap"),
            ["http GET / HTTP/1.1", "http HTTP/1.1 200 OK · body 12 B"]
        );
    }

    #[test]
    fn http2_frames_name_their_type_and_a_call_its_path() {
        let lines = all_lines("recorded_grpc.pcap");
        assert!(lines.contains(&"h2 preface".to_string()), "{lines:#?}");
        assert!(
            lines.contains(&"h2 HEADERS stream 1 POST /greet.Greeter/SayHello".to_string()),
            "{lines:#?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("h2 SETTINGS stream 0")));
        assert!(lines.iter().any(|l| l.starts_with("h2 RST_STREAM")));
    }

    #[test]
    fn chat_messages_say_how_their_data_travelled() {
        let lines = all_lines("recorded_chat_3clients.pcap");
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|l| l.starts_with("chat ")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains(" · data ")), "{lines:#?}");
    }
}
