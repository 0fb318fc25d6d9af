//! Password masking for every place protolab shows payload bytes (the layers
//! picture's hex dump and text preview, hence the report and the player).
//!
//! The chat dissector already masks `userPwd` in the messages it decodes, but
//! a hex dump shows the bytes themselves, before any decoding, and students
//! hand their reports in. So the bytes are masked too: each byte of a
//! password's value becomes `*`, keeping the length and every offset, so the
//! dump still lines up with the headers and the lengths the segment claims.
//!
//! Both wire forms of the chat are recognised: the object form
//! `"userPwd":"secret"` and the course notes' form, where `data` is itself a
//! JSON string and the key arrives escaped: `\"userPwd\":\"secret\"`. A value
//! cut off by the end of the bytes (a short snapshot, a segment boundary) is
//! masked to the end. The capture file itself is never changed: it is the
//! wire's evidence.

/// Keys whose string values are secrets.
const SECRET_KEYS: &[&[u8]] = &[b"userPwd"];

/// Masks every secret value in `bytes` in place; returns how many bytes it masked.
pub fn mask_secrets(bytes: &mut [u8]) -> usize {
    let mut masked = 0;
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(at) = find(&bytes[from..], key) {
            let after_key = from + at + key.len();
            from = after_key;
            if let Some((start, escaped)) = value_start(bytes, after_key) {
                let end = value_end(bytes, start, escaped);
                bytes[start..end].fill(b'*');
                masked += end - start;
                from = end;
            }
        }
    }
    masked
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// After the key: its closing quote, a colon, the value's opening quote.
/// Returns where the value's bytes begin, and whether the JSON is escaped
/// inside a string (the notes' form).
fn value_start(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let escaped = b.get(i) == Some(&b'\\');
    if escaped {
        i += 1;
    }
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if escaped {
        if b.get(i) != Some(&b'\\') {
            return None;
        }
        i += 1;
    }
    (b.get(i) == Some(&b'"')).then_some((i + 1, escaped))
}

/// Where the value's closing quote is (or the end of the bytes). In the
/// escaped form the outer string's escapes are undone first, so a quote the
/// password itself holds (`\\\"` on the wire) does not end it early.
fn value_end(b: &[u8], start: usize, escaped: bool) -> usize {
    let mut i = start;
    let mut inner_escape = false;
    while i < b.len() {
        // One character of the value, and the bytes it takes on the wire.
        let (ch, width) = if escaped && b[i] == b'\\' {
            match b.get(i + 1) {
                Some(&c) => (c, 2),
                None => return b.len(),
            }
        } else {
            (b[i], 1)
        };
        // A bare quote in the escaped form ends the outer string itself.
        if ch == b'"' && (!inner_escape || (escaped && width == 1)) {
            return i;
        }
        inner_escape = ch == b'\\' && !inner_escape;
        i += width;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> (String, usize) {
        let mut b = s.as_bytes().to_vec();
        let n = mask_secrets(&mut b);
        (String::from_utf8(b).unwrap(), n)
    }

    #[test]
    fn object_form() {
        let (s, n) =
            masked(r#"{"type":"LoginMes","data":{"userId":1003,"userPwd":"lab-pass-1003"}}"#);
        assert_eq!(
            s,
            r#"{"type":"LoginMes","data":{"userId":1003,"userPwd":"*************"}}"#
        );
        assert_eq!(n, 13);
    }

    #[test]
    fn whitespace_around_the_colon() {
        let (s, _) = masked(r#"{"userPwd" :  "pw", "x":1}"#);
        assert_eq!(s, r#"{"userPwd" :  "**", "x":1}"#);
    }

    #[test]
    fn notes_form_with_escaped_key() {
        let wire = r#"{"type":"LoginMes","data":"{\"userId\":100,\"userPwd\":\"abc\",\"userName\":\"\"}"}"#;
        let (s, n) = masked(wire);
        assert_eq!(
            s,
            r#"{"type":"LoginMes","data":"{\"userId\":100,\"userPwd\":\"***\",\"userName\":\"\"}"}"#
        );
        assert_eq!(n, 3);
        // Still the same JSON shape: the outer and inner documents parse.
        let outer: serde_json::Value = serde_json::from_str(&s).unwrap();
        let inner: serde_json::Value =
            serde_json::from_str(outer["data"].as_str().unwrap()).unwrap();
        assert_eq!(inner["userPwd"], "***");
    }

    #[test]
    fn quotes_and_backslashes_inside_the_password() {
        // Object form: the password is a"b\c
        let (s, _) = masked(r#"{"userPwd":"a\"b\\c","n":1}"#);
        assert_eq!(s, r#"{"userPwd":"*******","n":1}"#);
        // Notes' form: the same password, escaped twice.
        let inner = serde_json::json!({"userPwd": "a\"b\\c", "n": 1}).to_string();
        let wire = serde_json::json!({"data": inner}).to_string();
        let (s, _) = masked(&wire);
        let outer: serde_json::Value = serde_json::from_str(&s).unwrap();
        let inner: serde_json::Value =
            serde_json::from_str(outer["data"].as_str().unwrap()).unwrap();
        assert!(inner["userPwd"].as_str().unwrap().chars().all(|c| c == '*'));
        assert_eq!(inner["n"], 1);
    }

    #[test]
    fn a_value_cut_off_is_masked_to_the_end() {
        let (s, n) = masked(r#"{"userPwd":"lab-pa"#);
        assert_eq!(s, r#"{"userPwd":"******"#);
        assert_eq!(n, 6);
        let (s, _) = masked(r#"\"userPwd\":\"ab\"#);
        assert_eq!(s, r#"\"userPwd\":\"***"#);
    }

    #[test]
    fn several_and_none() {
        let (s, n) = masked(r#"{"userPwd":"a"}{"userPwd":"bb"}"#);
        assert_eq!(s, r#"{"userPwd":"*"}{"userPwd":"**"}"#);
        assert_eq!(n, 3);
        for clean in [
            r#"{"userId":1,"userName":"userPwd"}"#,
            r#"userPwd is not a key here"#,
            r#"{"userPwd":123}"#,
            "",
        ] {
            assert_eq!(masked(clean), (clean.to_string(), 0), "{clean}");
        }
    }
}
