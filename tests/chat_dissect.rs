//! The chat dissector through `protolab inspect`: a recorded lab run (real
//! loopback capture of `protolab run chat --clients 3`) and a built capture
//! whose segments split one chat frame and carry several in one.

mod common;

use std::process::Command;

use etherparse::PacketBuilder;
use protolab::chat::message::{LoginMes, Message, SmsMes};
use serde_json::Value;

/// Runs protolab with `args`; it must succeed. Returns standard output.
fn protolab(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    String::from_utf8(out.stdout).unwrap()
}

fn inspect_json(file: &std::path::Path) -> Vec<Value> {
    inspect_json_with(file, &[])
}

fn inspect_json_with(file: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["inspect".as_ref(), "--json".as_ref(), file.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    protolab(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every message type in the frame's `app`, in order.
fn types(frame: &Value) -> Vec<String> {
    let app = &frame["app"];
    match app["messages"].as_array() {
        Some(all) => all
            .iter()
            .map(|m| m["type"].as_str().unwrap().to_string())
            .collect(),
        None => app["type"]
            .as_str()
            .map(|t| vec![t.to_string()])
            .unwrap_or_default(),
    }
}

#[test]
fn recorded_lab_run_reads_message_by_message() {
    let frames = inspect_json(&common::capture("recorded_chat_3clients.pcap"));
    let text = serde_json::to_string(&frames).unwrap();
    assert!(
        !text.contains("lab-pass"),
        "passwords never appear in the output"
    );
    // Client → server messages per connection, in order.
    let mut per_flow: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    for f in &frames {
        if f["tcp"]["dport"] == 8888 {
            per_flow
                .entry(f["flow"].as_u64().unwrap())
                .or_default()
                .extend(types(f));
        }
    }
    assert_eq!(per_flow.len(), 3);
    let mut late_user = 0;
    for (flow, sent) in &per_flow {
        assert_eq!(
            sent.first().map(String::as_str),
            Some("RegisterMes"),
            "flow {flow}: {sent:?}"
        );
        assert_eq!(sent[1], "LoginMes", "flow {flow}: {sent:?}");
        assert_eq!(
            sent.last().map(String::as_str),
            Some("LogoutMes"),
            "flow {flow}: {sent:?}"
        );
        if sent.len() == 3 {
            late_user += 1; // registers, logs in late, logs out
        } else {
            assert!(
                sent.contains(&"SmsMes".to_string()),
                "flow {flow}: {sent:?}"
            );
            assert!(
                sent.contains(&"PrivateMes".to_string()),
                "flow {flow}: {sent:?}"
            );
        }
    }
    assert_eq!(late_user, 1);
    // The late user got its two offline messages right after its LoginResMes.
    let to_clients: Vec<String> = frames
        .iter()
        .filter(|f| f["tcp"]["sport"] == 8888)
        .flat_map(types)
        .collect();
    let login = to_clients
        .iter()
        .enumerate()
        .filter(|(_, t)| *t == "LoginResMes")
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    assert_eq!(login.len(), 3);
    assert_eq!(to_clients.iter().filter(|t| *t == "OfflineMes").count(), 2);
    let offline_login = frames
        .iter()
        .find(|f| f["app"]["type"] == "LoginResMes" && f["app"]["data"]["offline"] == 2)
        .expect("a LoginResMes announcing 2 offline messages");
    let flow = &offline_login["flow"];
    let after: Vec<String> = frames
        .iter()
        .filter(|f| f["flow"] == *flow && f["tcp"]["sport"] == 8888)
        .skip_while(|f| f["frame"] != offline_login["frame"])
        .flat_map(types)
        .collect();
    assert_eq!(
        after[..3],
        ["LoginResMes", "OfflineMes", "OfflineMes"],
        "the offline messages follow the login answer: {after:?}"
    );
}

fn segment(seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    segment_between((40000, 8889), seq, syn, payload)
}

/// A segment from port `sport` to `dport`; the lower port is on 198.18.0.2.
fn segment_between((sport, dport): (u16, u16), seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (a, b) = ([198, 18, 0, 1], [198, 18, 0, 2]);
    let (src, dst) = if sport > dport { (a, b) } else { (b, a) };
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535);
    let b = if syn { b.syn() } else { b.ack(1).psh() };
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

#[test]
fn split_frames_and_several_frames_per_segment() {
    let login = Message::LoginMes(LoginMes {
        user_id: 100,
        user_pwd: "123456".into(),
        user_name: String::new(),
    })
    .to_frame();
    let sms = |t: &str| {
        Message::SmsMes(SmsMes {
            content: t.into(),
            user: None,
        })
        .to_frame()
    };
    let two = [sms("one"), sms("two")].concat();
    let frames = vec![
        segment(1000, true, b""),
        segment(1001, false, &login[..2]),
        segment(1003, false, &login[2..20]),
        segment(1021, false, &login[20..]),
        segment(1001 + login.len() as u32, false, &two),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("split.pcap");
    std::fs::write(&file, common::classic_pcap(&frames)).unwrap();
    let got = inspect_json(&file);
    assert!(got[0].get("app").is_none(), "the SYN carries nothing");
    assert_eq!(got[1]["app"]["partial"]["have"], 2);
    assert_eq!(got[1]["app"]["partial"]["need"], 4);
    assert_eq!(got[2]["app"]["partial"]["have"], 20);
    assert_eq!(got[2]["app"]["partial"]["need"], login.len());
    assert_eq!(got[3]["app"]["type"], "LoginMes");
    assert_eq!(got[3]["app"]["data"]["userPwd"], "***");
    assert_eq!(types(&got[4]), ["SmsMes", "SmsMes"]);
    assert_eq!(got[4]["app"]["messages"][1]["data"]["content"], "two");
}

#[test]
fn report_shows_the_message_sequence_above_the_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let capture = common::capture("recorded_chat_3clients.pcap");
    let report = [
        "report".as_ref(),
        capture.as_os_str(),
        "-o".as_ref(),
        dir.path().as_os_str(),
    ];
    protolab(&report);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    // Each of the three connections: its messages, then its ladder.
    let sections: Vec<&str> = md
        .split("\n### ")
        .skip(1)
        .filter(|s| s.contains("8888"))
        .collect();
    assert_eq!(sections.len(), 3, "{md}");
    for s in sections {
        let seq = s.find("#### Message sequence").expect("a message sequence");
        let ladder = s.find("ladder").expect("a ladder chart");
        assert!(seq < ladder, "the sequence comes first:\n{s}");
        assert!(s.contains("| client → | LoginMes user 10"), "{s}");
        assert!(s.contains("| server ← | LoginResMes 200"), "{s}");
        assert!(!s.contains("lab-pass"));
    }
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let seq = html.find("Message sequence (application layer)").unwrap();
    let player = html.find("class=\"player\"").unwrap();
    assert!(seq < player);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let first = &json["connections"][0]["messages"][0];
    assert_eq!(first["sender"], "client", "{first}");
    assert_eq!(first["type"], "RegisterMes", "{first}");
    // This capture was recorded when protolab sent data as objects.
    assert_eq!(first["data_form"], "object", "{first}");
    assert!(md.contains("| LoginResMes 200"), "{md}");
    assert!(md.contains("| data as |"), "{md}");
    assert!(
        md.contains("carries its data as a nested JSON object, not as the notes' JSON string"),
        "{md}"
    );
}

#[test]
fn a_chat_off_its_port_is_found_and_port_0_turns_dissection_off() {
    let capture = common::capture("recorded_chat_3clients.pcap");
    let on_port = inspect_json(&capture);
    // 8888 is no chat port now: each connection is found by its RegisterMes.
    let found = inspect_json_with(&capture, &["--chat-port", "1234"]);
    assert_eq!(on_port.len(), found.len());
    let with_app = on_port.iter().filter(|f| f.get("app").is_some()).count();
    assert!(with_app > 20, "{with_app} frames carry chat");
    for (a, b) in on_port.iter().zip(&found) {
        assert_eq!(a.get("app"), b.get("app"), "frame {}", a["frame"]);
    }
    let off = inspect_json_with(&capture, &["--chat-port", "0"]);
    assert!(off.iter().all(|f| f.get("app").is_none()));
}

#[test]
fn report_finds_a_chat_on_another_port() {
    let login = Message::LoginMes(LoginMes {
        user_id: 100,
        user_pwd: "123456".into(),
        user_name: String::new(),
    })
    .to_frame();
    let answer = Message::LoginResMes(protolab::chat::message::LoginResMes {
        code: 200,
        users_id: vec![100],
        users: Vec::new(),
        user_name: "alice".into(),
        offline: 0,
        error: String::new(),
    })
    .to_frame();
    let (up, down) = ((40000, 9000), (9000, 40000));
    let frames = vec![
        segment_between(up, 1000, true, b""),
        segment_between(down, 5000, true, b""),
        segment_between(up, 1001, false, &login),
        segment_between(down, 5001, false, &answer),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chat9000.pcap");
    std::fs::write(&file, common::classic_pcap(&frames)).unwrap();
    let out = dir.path().join("report");
    protolab(&[
        "report".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("#### Message sequence"), "{md}");
    assert!(md.contains("| client → | LoginMes user 100"), "{md}");
    assert!(md.contains("| server ← | LoginResMes 200"), "{md}");
}
