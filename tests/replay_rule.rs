//! The replay rule: replaying `inspect --json`'s per-frame transitions,
//! with every withdrawal applied, gives exactly `flows --json`'s client and server
//! transitions, for every committed capture. So `inspect`, which streams and may
//! learn late, never tells another story than `flows` and the report.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

/// One transition as both outputs write it: frame, from, to, why.
type Record = (u64, String, String, String);

/// Per (flow, endpoint), the transitions in the order they were established.
type Story = BTreeMap<(u64, String), Vec<Record>>;

fn record(v: &Value) -> Record {
    let s = |k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("no {k} in {v}"))
            .to_string()
    };
    (
        v["frame"].as_u64().expect("frame"),
        s("from"),
        s("to"),
        s("why"),
    )
}

fn lines(args: &[&str]) -> Vec<Value> {
    // Exit status aside: a truncated file still yields its whole frames and flows.
    let out = common::protolab(args);
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Replays `inspect --json`: a withdrawal removes the item it names from its
/// endpoint's list; it must name one that was streamed before.
fn replay(capture: &str) -> Story {
    let mut story = Story::new();
    for frame in lines(&["inspect", "--json", capture]) {
        // Another flow's transitions this frame proved (`concluded`) come after the
        // frame's own, as that flow's.
        let own = (frame["flow"].as_u64(), frame["transitions"].as_array());
        let other = (
            frame["concluded"]["flow"].as_u64(),
            frame["concluded"]["transitions"].as_array(),
        );
        for (flow, items) in [own, other] {
            let (Some(flow), Some(items)) = (flow, items) else {
                continue;
            };
            apply(&mut story, capture, flow, items);
        }
    }
    // `flows` lists transitions in frame order (a LISTEN → SYN_RECEIVED learnt
    // from the SYN-ACK belongs to the SYN's earlier frame).
    for list in story.values_mut() {
        list.sort_by_key(|r| r.0);
    }
    story
}

/// Applies one frame's `transitions` of `flow`: a withdrawal removes the item it
/// names, which must have been streamed before.
fn apply(story: &mut Story, capture: &str, flow: u64, items: &[Value]) {
    for item in items {
        let endpoint = item["endpoint"].as_str().expect("endpoint").to_string();
        let list = story.entry((flow, endpoint)).or_default();
        let Some(w) = item.get("withdraws") else {
            list.push(record(item));
            continue;
        };
        let (at, to) = (w["frame"].as_u64(), w["to"].as_str());
        let pos = list
            .iter()
            .rposition(|r| Some(r.0) == at && Some(r.2.as_str()) == to)
            .unwrap_or_else(|| panic!("{capture}: {item} withdraws nothing streamed"));
        list.remove(pos);
    }
}

/// `flows --json`'s transitions, in the same shape.
fn summarised(capture: &str) -> Story {
    let mut story = Story::new();
    for flow in lines(&["flows", "--json", capture]) {
        let id = flow["flow"].as_u64().expect("flow");
        for endpoint in ["client", "server"] {
            let Some(list) = flow[format!("{endpoint}_transitions")].as_array() else {
                continue;
            };
            if !list.is_empty() {
                story.insert((id, endpoint.into()), list.iter().map(record).collect());
            }
        }
    }
    story
}

#[test]
fn replaying_inspect_with_withdrawals_gives_the_flows_transitions() {
    let dir = common::capture("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("captures/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "every committed capture: {names:?}");
    let mut withdrawals = 0;
    for name in &names {
        let path = format!("captures/{name}");
        let streamed = replay(&path);
        assert_eq!(
            streamed,
            summarised(&path),
            "{name}: inspect --json replayed (left) differs from flows --json (right)"
        );
        withdrawals += lines(&["inspect", "--json", &path])
            .iter()
            .filter_map(|f| f["transitions"].as_array())
            .flatten()
            .filter(|t| t.get("withdraws").is_some())
            .count();
    }
    // simultaneous_close.pcap streams a CLOSE_WAIT that its next frame withdraws:
    // the rule is exercised, not vacuously true.
    assert!(withdrawals >= 1, "no capture exercised a withdrawal");
}

#[test]
fn the_reports_transition_table_tells_the_same_story() {
    // The report's table (and its step-through player, which applies the same rows
    // frame by frame) must not show the CLOSE_WAIT that inspect withdrew.
    let capture = "captures/simultaneous_close.pcap";
    let dir = tempfile::tempdir().expect("temp dir");
    let out = common::protolab(&["report", capture, "-o", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let report: Value = serde_json::from_str(&json).expect("JSON");
    let mut table: Vec<(u64, String, String)> = report["connections"][0]["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().expect(k).to_string();
            (t["frame"].as_u64().expect("frame"), s("endpoint"), s("to"))
        })
        .collect();
    let mut flows: Vec<(u64, String, String)> = summarised(capture)
        .into_iter()
        .flat_map(|((_, endpoint), list)| {
            list.into_iter().map(move |r| (r.0, endpoint.clone(), r.2))
        })
        .collect();
    table.sort();
    flows.sort();
    assert_eq!(table, flows);
    assert!(!table.iter().any(|t| t.2 == "CLOSE_WAIT"), "{table:?}");
    // Nor do its charts (the ladder labels each state entered): they are drawn
    // from the frames with the withdrawals applied. (The state diagram draws all
    // eleven states by design; its paths come from the same settled transitions,
    // which tests/diagram.rs checks frame by frame.)
    for entry in std::fs::read_dir(dir.path().join("charts")).expect("charts/") {
        let path = entry.expect("entry").path();
        let diagram = path.to_string_lossy().ends_with("-diagram.svg");
        if path.extension().is_some_and(|e| e == "svg") && !diagram {
            let svg = std::fs::read_to_string(&path).expect("svg");
            assert!(
                !svg.contains("CLOSE_WAIT"),
                "{} shows CLOSE_WAIT",
                path.display()
            );
        }
    }
}

#[test]
fn settled_frames_give_the_flows_transitions_for_drawn_outputs() {
    // Charts are drawn after the whole capture: `settle` applies the withdrawals to
    // the frames, so a ladder built from them tells the flows' story too.
    for name in [
        "simultaneous_close.pcap",
        "handshake_data_client_close.pcap",
        "port_reuse.pcap",
    ] {
        let mut r = common::replay_fixture(name);
        protolab::analyze::settle(r.frames.iter_mut().map(|(_, a)| a));
        let mut drawn = Story::new();
        for (_, a) in &r.frames {
            assert!(a.withdrawals.is_empty(), "{name}: settled");
            for t in &a.transitions {
                let key = (a.flow.expect("flow"), t.endpoint.name().to_string());
                let why = t.why.text().to_string();
                let rec = (t.frame, t.from.name().into(), t.to.name().into(), why);
                drawn.entry(key).or_default().push(rec);
            }
        }
        for list in drawn.values_mut() {
            list.sort_by_key(|r| r.0);
        }
        assert_eq!(drawn, summarised(&format!("captures/{name}")), "{name}");
    }
}

#[test]
fn the_charts_frames_carry_what_the_end_of_the_capture_proved() {
    // No frame streams the connect's timeout: the charts, drawn after the whole
    // capture, put it on the frame `flows` attributes it to (the last SYN).
    let path = common::capture("connect_timeout.pcapng");
    let data = protolab::files::load_capture(&path).expect("loads");
    let mut drawn = Story::new();
    for (flow, frames) in &data.frames {
        for r in frames {
            for t in &r.analysis.transitions {
                let rec = (
                    t.frame,
                    t.from.name().into(),
                    t.to.name().into(),
                    t.why.text().to_string(),
                );
                drawn
                    .entry((*flow, t.endpoint.name().to_string()))
                    .or_default()
                    .push(rec);
            }
        }
    }
    let summary = summarised("captures/connect_timeout.pcapng");
    assert_eq!(drawn, summary);
    assert_eq!(summary[&(1, "client".to_string())][1].0, 13);
}
