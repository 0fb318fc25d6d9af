//! The greeter's calls (`proto/greeter.proto`, the `grpc` scenario's service):
//! each method's `:path` and the message types it sends each way, so the
//! dissector decodes their messages with the very types the scenario uses.

use prost::Message;
use serde::Serialize;

use super::greet::{CountdownRequest, EchoMessage, HelloReply, HelloRequest, Tick};
use super::ProtoMessage;

/// Each method's HTTP/2 `:path`: `/package.Service/Method`.
pub const SAY_HELLO: &str = "/greet.Greeter/SayHello";
pub const COUNTDOWN: &str = "/greet.Greeter/Countdown";
pub const ECHO: &str = "/greet.Greeter/Echo";
pub const SLOW: &str = "/greet.Greeter/Slow";
pub const DEADLINE: &str = "/greet.Greeter/Deadline";

/// Decodes `bytes` as `M` into its JSON.
fn as_json<M: Message + Default + Serialize>(name: &'static str) -> impl Fn(&[u8]) -> ProtoMessage {
    move |bytes| {
        let (value, error) = match M::decode(bytes) {
            Ok(m) => (serde_json::to_value(&m).ok(), None),
            Err(e) => (None, Some(e.to_string())),
        };
        ProtoMessage {
            type_name: Some(name),
            value,
            fields: None,
            error,
        }
    }
}

/// A message of the greeter's call `path`, decoded by its type: the request's
/// from the client, the reply's from the server; `None` for any other call.
pub fn decode(path: &str, from_server: bool, bytes: &[u8]) -> Option<ProtoMessage> {
    Some(match (path, from_server) {
        (SAY_HELLO | SLOW | DEADLINE, false) => {
            as_json::<HelloRequest>("greet.HelloRequest")(bytes)
        }
        (SAY_HELLO | SLOW | DEADLINE, true) => as_json::<HelloReply>("greet.HelloReply")(bytes),
        (COUNTDOWN, false) => as_json::<CountdownRequest>("greet.CountdownRequest")(bytes),
        (COUNTDOWN, true) => as_json::<Tick>("greet.Tick")(bytes),
        (ECHO, _) => as_json::<EchoMessage>("greet.EchoMessage")(bytes),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeter_messages_decode_by_their_calls_types() {
        let hello = HelloRequest {
            name: "world".into(),
        }
        .encode_to_vec();
        let m = decode(SAY_HELLO, false, &hello).unwrap();
        assert_eq!(m.type_name, Some("greet.HelloRequest"));
        assert_eq!(m.value, Some(serde_json::json!({"name": "world"})));
        assert_eq!(m.short(), r#"greet.HelloRequest {"name":"world"}"#);
        let tick = Tick { n: 3 }.encode_to_vec();
        assert_eq!(
            decode(COUNTDOWN, true, &tick).unwrap().value,
            Some(serde_json::json!({"n": 3}))
        );
        assert!(decode("/other.Service/Call", false, &hello).is_none());
        // A string field holding bytes that are not UTF-8.
        let bad = decode(ECHO, true, &[0x0a, 1, 0xff]).unwrap();
        assert!(bad.value.is_none() && bad.error.is_some(), "{bad:?}");
    }
}
