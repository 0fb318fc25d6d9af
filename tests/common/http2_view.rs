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
    let out = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["inspect".as_ref(), "--json".as_ref(), file.as_os_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
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
    let out = Command::new("tshark")
        .args(["-r".as_ref(), file.as_os_str()])
        .args(["-d", &format!("tcp.port=={port},http2"), "-Y", "http2"])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "aggregator=\u{1}",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "http2.type",
            "-e",
            "http2.streamid",
        ])
        .args(["-e", "http2.header.name", "-e", "http2.header.value"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = |s: &str| -> Vec<String> {
        s.split('\u{1}')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut map = H2::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let types = list(f[1]);
        let streams = list(f[2]);
        let frames = types
            .iter()
            .zip(&streams)
            .map(|(t, s)| (t.parse().unwrap(), s.parse().unwrap()))
            .collect();
        let (names, values) = (list(f[3]), list(f[4]));
        let pick = |want: &str| -> Vec<String> {
            names
                .iter()
                .zip(&values)
                .filter(|(n, _)| *n == want)
                .map(|(_, v)| v.clone())
                .collect()
        };
        map.insert(
            f[0].parse().unwrap(),
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
    let out = Command::new("tshark")
        .args(["-r".as_ref(), file.as_os_str()])
        .args(["-d", &format!("tcp.port=={port},http2"), "-Y", "grpc"])
        .args([
            "-o",
            &format!("uat:protobuf_search_paths:\"{}\",\"TRUE\"", proto.display()),
        ])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "aggregator=\u{1}",
        ])
        .args(["-e", "frame.number", "-e", "protobuf.message.name"])
        .args(["-e", "protobuf.field.name", "-e", "protobuf.field.value"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map = Fields::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let list = |s: &str| -> Vec<String> { s.split('\u{1}').map(str::to_string).collect() };
        let rows = list(f[1])
            .into_iter()
            .zip(list(f[2]))
            .zip(list(f[3]))
            .map(|((t, n), v)| (t, n, v))
            .collect();
        map.insert(f[0].parse().unwrap(), rows);
    }
    map
}
