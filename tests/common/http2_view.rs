//! HTTP/2 frame by frame, as `protolab inspect --json` and as tshark see it: the
//! two views the HTTP/2 and gRPC cross-checks compare.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Per frame: (type, stream) of each HTTP/2 frame, its `:path`s, its `grpc-status`es.
pub type H2 = BTreeMap<u64, (Vec<(u64, u64)>, Vec<String>, Vec<String>)>;

fn type_number(name: &str) -> u64 {
    let names = [
        "DATA",
        "HEADERS",
        "PRIORITY",
        "RST_STREAM",
        "SETTINGS",
        "PUSH_PROMISE",
        "PING",
        "GOAWAY",
        "WINDOW_UPDATE",
        "CONTINUATION",
    ];
    names.iter().position(|n| *n == name).unwrap() as u64
}

/// Each frame's object of `protolab inspect --json`.
fn inspect_json(file: &Path) -> Vec<Value> {
    let mut inspect = Command::new(env!("CARGO_BIN_EXE_protolab"));
    inspect.args(["inspect".as_ref(), "--json".as_ref(), file.as_os_str()]);
    super::stdout_of(&mut inspect)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

pub fn ours(file: &Path) -> H2 {
    let mut map = H2::new();
    for v in inspect_json(file) {
        let app = &v["app"];
        if app["proto"] != "http2" {
            continue;
        }
        let frames = match app["messages"].as_array() {
            Some(all) => all.clone(),
            None if app["type"].is_string() => vec![app.clone()],
            // The preface alone: tshark shows it as HTTP/2 with no frame.
            None if app["preface"] == true => Vec::new(),
            None => continue,
        };
        let e = map.entry(v["frame"].as_u64().unwrap()).or_default();
        for f in frames {
            e.0.push((
                type_number(f["type"].as_str().unwrap()),
                f["stream"].as_u64().unwrap(),
            ));
            for h in f["headers"].as_array().into_iter().flatten() {
                match h[0].as_str().unwrap() {
                    ":path" => e.1.push(h[1].as_str().unwrap().to_string()),
                    "grpc-status" => e.2.push(h[1].as_str().unwrap().to_string()),
                    _ => {}
                }
            }
        }
    }
    map
}

pub fn theirs(file: &Path, port: u16) -> H2 {
    let decode_as = format!("tcp.port=={port},http2");
    let table = super::tshark::fields(
        file,
        &["-d", &decode_as, "-Y", "http2"],
        &[
            "frame.number",
            "http2.type",
            "http2.streamid",
            "http2.header.name",
            "http2.header.value",
        ],
    );
    let mut map = H2::new();
    for f in table {
        let frames = f[1]
            .iter()
            .zip(&f[2])
            .map(|(t, s)| (t.parse().unwrap(), s.parse().unwrap()))
            .collect();
        let pick = |want: &str| -> Vec<String> {
            f[3].iter()
                .zip(&f[4])
                .filter(|(n, _)| *n == want)
                .map(|(_, v)| v.clone())
                .collect()
        };
        map.insert(
            f[0][0].parse().unwrap(),
            (frames, pick(":path"), pick("grpc-status")),
        );
    }
    map
}

/// Per frame: (message type, field name, value bytes in hex) of each protobuf
/// field of its gRPC messages, as tshark shows `protobuf.field.value`.
pub type Fields = BTreeMap<u64, Vec<(String, String, String)>>;

/// A varint's bytes, as the wire has them.
fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The decoded gRPC messages of `inspect --json` (`grpc.message`): strings as
/// their bytes, numbers as their varints; proto3 defaults (0, "") are not on
/// the wire, so not listed.
pub fn fields_ours(file: &Path) -> Fields {
    let mut map = Fields::new();
    for v in inspect_json(file) {
        let app = &v["app"];
        let frames = match app["messages"].as_array() {
            Some(all) => all.clone(),
            None => vec![app.clone()],
        };
        for f in frames {
            let messages = match f["grpc_messages"].as_array() {
                Some(all) => all.clone(),
                None => f.get("grpc").into_iter().cloned().collect(),
            };
            for m in messages {
                let m = &m["message"];
                let ty = m["type"].as_str().unwrap_or("?");
                for (name, value) in m["value"].as_object().into_iter().flatten() {
                    let bytes = match value {
                        Value::String(s) => s.as_bytes().to_vec(),
                        Value::Number(n) => varint(n.as_u64().unwrap()),
                        other => panic!("{other} in {m}"),
                    };
                    if !bytes.is_empty() && bytes != [0] {
                        let e = map.entry(v["frame"].as_u64().unwrap()).or_default();
                        e.push((ty.to_string(), name.clone(), hex(&bytes)));
                    }
                }
            }
        }
    }
    map
}

/// The same from tshark, given `proto/` as its protobuf search path.
pub fn fields_theirs(file: &Path, port: u16) -> Fields {
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let decode_as = format!("tcp.port=={port},http2");
    let search = format!("uat:protobuf_search_paths:\"{}\",\"TRUE\"", proto.display());
    let table = super::tshark::fields(
        file,
        &["-d", &decode_as, "-Y", "grpc", "-o", &search],
        &[
            "frame.number",
            "protobuf.message.name",
            "protobuf.field.name",
            "protobuf.field.value",
        ],
    );
    table
        .into_iter()
        .map(|f| {
            let rows = f[1]
                .iter()
                .zip(&f[2])
                .zip(&f[3])
                .map(|((t, n), v)| (t.clone(), n.clone(), v.clone()))
                .collect();
            (f[0][0].parse().unwrap(), rows)
        })
        .collect()
}
