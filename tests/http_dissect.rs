//! The HTTP/1.1 dissector through `protolab inspect` and `report`, cross-checked
//! against Wireshark: for every frame, the requests' methods and URIs and the
//! responses' status codes must equal what tshark's HTTP dissector reports
//! (`-Y http -T fields`), on a recorded `http-hello` run and on a built capture
//! with pipelined requests, split bodies and a chunked answer.
//!
//! Needs tshark (`scripts/setup` installs it) for the cross-check. Without it
//! the check says so and passes, unless `PROTOLAB_REQUIRE_TSHARK=1` (set in CI).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::tcp_conversation::TcpConversation;
use common::tshark::tshark_available;

/// Per frame: its requests' methods, their URIs, its responses' codes.
type Http = BTreeMap<u64, (Vec<String>, Vec<String>, Vec<String>)>;

fn protolab(args: &[&std::ffi::OsStr]) -> String {
    common::stdout_of(Command::new(env!("CARGO_BIN_EXE_protolab")).args(args))
}

/// What `inspect --json` says of HTTP, frame by frame.
fn ours(file: &Path) -> Http {
    let mut map = Http::new();
    let text = protolab(&["inspect".as_ref(), "--json".as_ref(), file.as_os_str()]);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let app = &v["app"];
        if app["proto"] != "http" {
            continue;
        }
        let messages = match app["messages"].as_array() {
            Some(all) => all.clone(),
            None if app["type"].is_string() => vec![app.clone()],
            None => continue,
        };
        let e = map.entry(v["frame"].as_u64().unwrap()).or_default();
        for m in messages {
            if let Some(method) = m["method"].as_str() {
                e.0.push(method.to_string());
                e.1.push(m["uri"].as_str().unwrap().to_string());
            }
            if let Some(code) = m["status"].as_u64() {
                e.2.push(code.to_string());
            }
        }
    }
    map
}

/// What tshark's HTTP dissector says, frame by frame.
fn theirs(file: &Path) -> Http {
    let fields = [
        "frame.number",
        "http.request.method",
        "http.request.uri",
        "http.response.code",
    ];
    common::tshark::fields(file, &["-Y", "http"], &fields)
        .into_iter()
        .map(|mut f| {
            let (code, uri, method) = (f.pop().unwrap(), f.pop().unwrap(), f.pop().unwrap());
            (f[0][0].parse().unwrap(), (method, uri, code))
        })
        .collect()
}

/// Pipelined requests, a body split over segments, a chunked answer, a POST
/// whose body comes in its own segment, a 204.
fn built_capture(dir: &Path) -> std::path::PathBuf {
    let mut c = TcpConversation::new([[198, 18, 0, 1], [198, 18, 0, 2]], [40000, 8080]);
    c.segment(
        0,
        "PA",
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    c.segment(
        1,
        "PA",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123",
    );
    c.segment(
        1,
        "PA",
        b"456789HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
    c.segment(1, "PA", b"2\r\nde\r\n0\r\n\r\n");
    c.segment(
        0,
        "PA",
        b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
    );
    c.segment(0, "PA", b"hello");
    c.segment(1, "PA", b"HTTP/1.1 204 No Content\r\n\r\n");
    let file = dir.join("http.pcap");
    std::fs::write(&file, common::classic_pcap(&c.frames)).unwrap();
    file
}

#[test]
fn recorded_http_hello_reads_as_one_request_and_its_answer() {
    let file = common::capture("recorded_http_hello.pcap");
    let got = ours(&file);
    let want: Http = [
        (4, (vec!["GET".into()], vec!["/".into()], vec![])),
        (6, (vec![], vec![], vec!["200".into()])),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    if tshark_available() {
        assert_eq!(got, theirs(&file));
    }
}

#[test]
fn pipelined_split_and_chunked_messages_match_tshark() {
    let dir = tempfile::tempdir().unwrap();
    let file = built_capture(dir.path());
    let got = ours(&file);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let want: Http = [
        (4, (s(&["GET", "GET"]), s(&["/a", "/b"]), vec![])),
        (6, (vec![], vec![], s(&["200"]))),
        (7, (vec![], vec![], s(&["200"]))),
        (9, (s(&["POST"]), s(&["/c"]), vec![])),
        (10, (vec![], vec![], s(&["204"]))),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    if tshark_available() {
        assert_eq!(got, theirs(&file));
    }
}

#[test]
fn report_lists_the_request_and_response_above_the_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let capture = common::capture("recorded_http_hello.pcap");
    protolab(&[
        "report".as_ref(),
        capture.as_os_str(),
        "-o".as_ref(),
        dir.path().as_os_str(),
    ]);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let seq = md
        .find("#### Message sequence")
        .expect("a message sequence");
    let ladder = md[seq..].find("ladder").expect("a ladder after it");
    assert!(ladder > 0);
    assert!(md.contains("| client → | GET / HTTP/1.1"), "{md}");
    assert!(md.contains("| server ← | HTTP/1.1 200 OK"), "{md}");
}
