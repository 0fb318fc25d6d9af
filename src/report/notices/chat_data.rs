//! "What to notice" about how chat messages carry their `data`: the notes
//! marshal it twice (a JSON string holding JSON), which surprises everyone who
//! first reads the bytes; a client may also send a nested object, and is then
//! answered in that form. One sentence per form seen, on its first message.

use crate::chart::Lang;
use crate::chat::message::DataForm;
use crate::dissect::chat::ChatEvent;

use super::super::model::Connection;

/// The first message of connection `c` whose `data` had `form`, explained.
pub fn form(c: &Connection, events: &[&ChatEvent], form: DataForm, lang: Lang) -> Option<String> {
    let e = events.iter().find(|e| e.message.data_form == Some(form))?;
    let (n, f) = (c.flow, e.frame);
    let k = e.message.kind.as_deref().unwrap_or("?");
    Some(match (form, lang) {
        (DataForm::String, Lang::En) => format!(
            r#"Connection {n}: the {k} of frame {f} carries its data as a JSON string holding JSON ("data":"{{\"…\":…}}"), as the notes' Go code builds it: it marshals the {k} struct, puts that text into Message.Data, and marshals the Message. The receiver unmarshals twice; this report and the inspector show the inner message decoded."#
        ),
        (DataForm::String, Lang::Zh) => format!(
            r#"连接 {n}：第 {f} 帧的 {k} 把 data 作为一个装着 JSON 的 JSON 字符串发送（"data":"{{\"…\":…}}"），与笔记中的 Go 代码一样：先序列化 {k} 结构体，把这段文本放进 Message.Data，再序列化整个 Message。接收方要反序列化两次；本报告和 inspect 显示的是解开后的内层消息。"#
        ),
        (DataForm::Object, Lang::En) => format!(
            "Connection {n}: the {k} of frame {f} carries its data as a nested JSON object, not as the notes' JSON string. protolab's server answers such a client in the same form; a client written from the notes (Data string) could not read it."
        ),
        (DataForm::Object, Lang::Zh) => format!(
            "连接 {n}：第 {f} 帧的 {k} 把 data 作为嵌套的 JSON 对象发送，而不是笔记中的 JSON 字符串。protolab 的服务器用同样的形式回答这样的客户端；按笔记写的客户端（Data string）读不了这种形式。"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::chat::ChatMessage;

    fn event(frame: u64, data_form: Option<DataForm>) -> ChatEvent {
        ChatEvent {
            frame,
            ts_ns: 0,
            flow: Some(1),
            from_server: false,
            message: ChatMessage {
                kind: Some("LoginMes".into()),
                len: 60,
                summary: String::new(),
                data: None,
                data_form,
                error: None,
            },
        }
    }

    #[test]
    fn each_form_is_explained_on_its_first_message() {
        let c = Connection::for_tests(1);
        let events = [
            event(4, None),
            event(6, Some(DataForm::String)),
            event(9, Some(DataForm::String)),
        ];
        let events: Vec<&ChatEvent> = events.iter().collect();
        let s = form(&c, &events, DataForm::String, Lang::En).unwrap();
        assert!(
            s.starts_with(
                "Connection 1: the LoginMes of frame 6 carries its data as a JSON string"
            ),
            "{s}"
        );
        assert!(form(&c, &events, DataForm::Object, Lang::En).is_none());
        let zh = form(&c, &events, DataForm::String, Lang::Zh).unwrap();
        assert!(zh.contains("第 6 帧"), "{zh}");
    }
}
