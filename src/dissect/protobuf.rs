//! Protobuf messages read out of gRPC payloads. A message is a list of
//! fields, each a key (field number and wire type) and a value whose size the
//! wire type gives: a varint, 8 or 4 fixed bytes, or a length and that many
//! bytes (a string, bytes, a nested message or a packed list — the wire does
//! not say which). Without the `.proto` only that much can be read: the field
//! numbers, wire types and values, which [`wire_fields`] gives for any
//! service. The greeter's own messages are decoded by name and type
//! ([`known`]).
//!
//! The input is a capture, so nothing in it is trusted: lengths are checked
//! against the bytes there are, nesting and the number of fields are bounded,
//! and a message that does not parse is an error, never a panic.

// Generated: kept as prost-build writes it, so the regeneration test can compare.
#[rustfmt::skip]
pub mod greet;
pub mod known;

use prost::encoding::{decode_key, decode_varint, WireType};
use serde::Serialize;

/// Most fields read from one message (nested ones included).
pub const MAX_FIELDS: usize = 256;
/// Deepest nesting tried for a length-delimited value.
pub const MAX_DEPTH: usize = 8;
/// Bytes of a value shown in hex at most.
const MAX_HEX: usize = 32;

/// A decoded message: by the greeter's own types, or as raw wire fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtoMessage {
    /// The message type (`greet.HelloRequest`) when the call is known.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<&'static str>,
    /// Known calls: the message's fields by name (its JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Other calls: the fields as the wire has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<WireField>>,
    /// Why the message could not be decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProtoMessage {
    /// A message that could not be decoded, and why.
    pub fn error(why: String) -> Self {
        ProtoMessage {
            type_name: None,
            value: None,
            fields: None,
            error: Some(why),
        }
    }

    /// One line for `inspect`: `greet.HelloRequest {"name":"world"}`, or
    /// `{1: "world", 2: 150}`, cut at about 100 characters.
    pub fn short(&self) -> String {
        let text = match (&self.value, &self.fields, &self.error) {
            (Some(v), _, _) => format!("{} {v}", self.type_name.unwrap_or("")),
            (_, Some(fields), _) => format!("{{{}}}", short_fields(fields)),
            (_, _, Some(e)) => format!("not decoded: {e}"),
            _ => String::new(),
        };
        cut(&text, 100)
    }
}

/// One field as the wire has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireField {
    pub field: u32,
    /// `VARINT`, `I64`, `LEN`, `I32`, `SGROUP` or `EGROUP` (the names of the
    /// protobuf encoding guide).
    pub wire_type: &'static str,
    /// VARINT, I64 and I32: the number (unsigned; its meaning needs the `.proto`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    /// LEN: the bytes' count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<usize>,
    /// LEN: the bytes as text, when they are printable UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// LEN: the bytes parsed as a nested message, when they are not text and do parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<WireField>>,
    /// LEN otherwise: the first bytes in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

/// The fields of a message whose `.proto` is unknown.
pub fn wire_fields(bytes: &[u8]) -> Result<Vec<WireField>, String> {
    let mut budget = MAX_FIELDS;
    fields(bytes, 0, &mut budget)
}

fn fields(mut buf: &[u8], depth: usize, budget: &mut usize) -> Result<Vec<WireField>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        if *budget == 0 {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        *budget -= 1;
        let at = buf.len();
        let (field, wire) = decode_key(&mut buf).map_err(|e| e.to_string())?;
        let mut f = WireField {
            field,
            wire_type: "",
            value: None,
            len: None,
            string: None,
            message: None,
            hex: None,
        };
        let fixed = |buf: &mut &[u8], n: usize| -> Result<u64, String> {
            let Some((b, rest)) = buf.split_at_checked(n) else {
                return Err(format!(
                    "field {field}: {n} bytes needed, {} left",
                    buf.len()
                ));
            };
            *buf = rest;
            Ok(b.iter().rev().fold(0, |v, &x| v << 8 | u64::from(x)))
        };
        match wire {
            WireType::Varint => {
                f.wire_type = "VARINT";
                f.value = Some(decode_varint(&mut buf).map_err(|e| e.to_string())?);
            }
            WireType::SixtyFourBit => {
                f.wire_type = "I64";
                f.value = Some(fixed(&mut buf, 8)?);
            }
            WireType::ThirtyTwoBit => {
                f.wire_type = "I32";
                f.value = Some(fixed(&mut buf, 4)?);
            }
            WireType::LengthDelimited => {
                f.wire_type = "LEN";
                let len = decode_varint(&mut buf).map_err(|e| e.to_string())?;
                let Some((b, rest)) = usize::try_from(len)
                    .ok()
                    .and_then(|n| buf.split_at_checked(n))
                else {
                    return Err(format!(
                        "field {field}: length {len}, only {} left",
                        buf.len()
                    ));
                };
                buf = rest;
                f.len = Some(b.len());
                len_value(&mut f, b, depth, budget);
            }
            WireType::StartGroup => f.wire_type = "SGROUP",
            WireType::EndGroup => f.wire_type = "EGROUP",
        }
        debug_assert!(buf.len() < at, "every field consumes bytes");
        out.push(f);
    }
    Ok(out)
}

/// A LEN value as text, a nested message or hex: the wire does not say which,
/// so printable text wins, then a message that parses to its end.
fn len_value(f: &mut WireField, b: &[u8], depth: usize, budget: &mut usize) {
    if let Ok(s) = std::str::from_utf8(b) {
        if s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t') {
            f.string = Some(s.to_string());
            return;
        }
    }
    if depth < MAX_DEPTH && !b.is_empty() {
        let mut trial = *budget;
        if let Ok(nested) = fields(b, depth + 1, &mut trial) {
            *budget = trial;
            f.message = Some(nested);
            return;
        }
    }
    let shown = &b[..b.len().min(MAX_HEX)];
    let mut hex: String = shown.iter().map(|x| format!("{x:02x}")).collect();
    if b.len() > MAX_HEX {
        hex.push('…');
    }
    f.hex = Some(hex);
}

fn short_fields(fields: &[WireField]) -> String {
    fields
        .iter()
        .map(|f| {
            let v = match (&f.value, &f.string, &f.message, &f.hex) {
                (Some(n), ..) => n.to_string(),
                (_, Some(s), ..) => format!("{s:?}"),
                (_, _, Some(m), _) => format!("{{{}}}", short_fields(m)),
                (_, _, _, Some(h)) => format!("0x{h}"),
                _ => f.wire_type.to_string(),
            };
            format!("{}: {v}", f.field)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` cut to at most `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key: field number and wire type.
    fn key(field: u32, wire: u8) -> u8 {
        (field << 3) as u8 | wire
    }

    #[test]
    #[rustfmt::skip]
    fn varint_string_fixed_and_nested_fields() {
        // 1: 150 (the encoding guide's example), 2: "hi", 3: {1: 1}, 4: fixed32 7.
        let bytes = [
            key(1, 0), 0x96, 0x01,
            key(2, 2), 2, b'h', b'i',
            key(3, 2), 2, key(1, 0), 1,
            key(4, 5), 7, 0, 0, 0,
        ];
        let f = wire_fields(&bytes).unwrap();
        assert_eq!(
            f.iter().map(|f| (f.field, f.wire_type)).collect::<Vec<_>>(),
            [(1, "VARINT"), (2, "LEN"), (3, "LEN"), (4, "I32")]
        );
        assert_eq!(f[0].value, Some(150));
        assert_eq!(f[1].string.as_deref(), Some("hi"));
        assert_eq!(f[2].message.as_ref().unwrap()[0].value, Some(1));
        assert_eq!(f[3].value, Some(7));
        let m = ProtoMessage {
            type_name: None,
            value: None,
            fields: Some(f),
            error: None,
        };
        assert_eq!(m.short(), r#"{1: 150, 2: "hi", 3: {1: 1}, 4: 7}"#);
    }

    #[test]
    fn a_length_past_the_end_is_an_error_that_says_so() {
        let bytes = [key(2, 2), 200, 1, b'x'];
        assert_eq!(
            wire_fields(&bytes).unwrap_err(),
            "field 2: length 200, only 1 left"
        );
        assert!(wire_fields(&[key(1, 1), 1, 2])
            .unwrap_err()
            .contains("8 bytes needed"));
        assert!(wire_fields(&[0x80]).is_err(), "a varint cut short");
    }

    #[test]
    fn bytes_that_are_neither_text_nor_a_message_are_hex() {
        let bytes = [key(1, 2), 3, 0xff, 0x00, 0x07];
        let f = wire_fields(&bytes).unwrap();
        assert_eq!(f[0].hex.as_deref(), Some("ff0007"));
    }

    #[test]
    fn deep_nesting_and_many_fields_stay_bounded() {
        // 100 levels of `1: {…}`: parsed to MAX_DEPTH, the rest is hex.
        let mut bytes = vec![key(1, 0), 1];
        for _ in 0..100 {
            let mut outer = vec![key(1, 2), bytes.len() as u8];
            if bytes.len() > 127 {
                break;
            }
            outer.extend(&bytes);
            bytes = outer;
        }
        assert!(wire_fields(&bytes).is_ok());
        let many: Vec<u8> = (0..MAX_FIELDS + 1).flat_map(|_| [key(1, 0), 0]).collect();
        assert_eq!(wire_fields(&many).unwrap_err(), "more than 256 fields");
    }
}
