//! The live lab end to end (needs root: libpcap on `lo`, tracefs, sock_diag).
//!
//! Every scenario runs through `protolab run`'s library entry point: its
//! expectations must hold, the kernel's transitions (tracepoint) must equal the
//! inferred ones for both ends, sock_diag must have seen the active closer's
//! TIME_WAIT, and the capture must replay to the same flows. Without root the test
//! is skipped with a message, unless `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where it fails.

mod common;

use std::time::Duration;

use protolab::analyze::TcpState;
use protolab::lab::run::{run, RunConfig};
use protolab::scenario::{self, Params, ScenarioName};

#[test]
fn every_scenario_runs_and_the_kernel_agrees() {
    if !common::require_root("live lab tests", "libpcap on lo, tracefs, sock_diag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, &name) in ScenarioName::all().iter().enumerate() {
        let info = scenario::info(name);
        let params = Params {
            clients: match name {
                ScenarioName::TcpUpper | ScenarioName::Chat => 3,
                _ => 1,
            },
            recv_dir: dir.path().join("received"),
            ..Params::default()
        };
        let config = RunConfig {
            scenario: name,
            params,
            // Ports of our own, away from the defaults a developer may be using.
            port: Some(28_001 + i as u16),
            out_dir: Some(dir.path().to_path_buf()),
            timeout: Duration::from_secs(30),
            command: format!("protolab run {}", info.id),
            snaplen: None,
            lang: protolab::chart::Lang::En,
            netns: None,
        };
        let outcome = run(&config, &|| false).unwrap_or_else(|e| panic!("{}: {e}", info.id));
        let text = protolab::lab::summary::render(&outcome);
        assert!(
            outcome.mismatches.is_empty(),
            "{}: expectations failed\n{text}",
            info.id
        );
        assert_eq!(
            outcome.kernel.source, "tracepoint+sock_diag",
            "{}\n{text}",
            info.id
        );
        assert!(
            outcome.kernel.agree,
            "{}: kernel disagrees\n{text}",
            info.id
        );
        assert_eq!(outcome.stats.dropped, 0, "{}", info.id);
        let expected_connections = scenario::expectation(name, &config.params)
            .connections
            .len();
        assert_eq!(
            outcome.kernel.connections.len(),
            expected_connections,
            "{}\n{text}",
            info.id
        );

        // The active closer's TIME_WAIT came from the socket table (the tracepoint never shows it).
        for c in &outcome.kernel.connections {
            for e in [&c.client, &c.server] {
                if let Some(tw) = e
                    .rows
                    .iter()
                    .find(|r| r.inferred == Some(TcpState::TimeWait))
                {
                    assert_eq!(
                        tw.kernel,
                        Some(TcpState::TimeWait),
                        "{} {}\n{text}",
                        info.id,
                        e.endpoint
                    );
                }
            }
        }

        // The report folder holds what it promises, and the capture replays to the same flows.
        let html = outcome
            .report
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: no report: {e}", info.id));
        assert!(html.is_file(), "{}", info.id);
        for file in [
            "flows.json",
            "kernel.json",
            "run.json",
            "index.html",
            "report.md",
            "report.json",
        ] {
            assert!(
                outcome.report_dir.join(file).is_file(),
                "{}: {file}",
                info.id
            );
        }
        let run_json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(outcome.report_dir.join("run.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(run_json["scenario"], info.id);
        assert_eq!(run_json["expectation_met"], true);
        let mut reader = protolab::capture::FileReader::open(&outcome.capture_path).unwrap();
        let replayed = protolab::replay::replay(
            &mut reader,
            |_, _, _| -> Result<protolab::replay::Next, ()> {
                Ok(protolab::replay::Next::Continue)
            },
            |_| Ok(()),
        )
        .unwrap();
        assert!(replayed.error.is_none());
        assert_eq!(replayed.analyzer.finish(), outcome.flows, "{}", info.id);
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    if !common::require_root("live lab tests", "libpcap on lo, tracefs, sock_diag") {
        return;
    }
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig {
        scenario: ScenarioName::ServerClose,
        params: Params::default(),
        port: Some(port),
        out_dir: Some(dir.path().to_path_buf()),
        timeout: Duration::from_secs(10),
        command: String::new(),
        snaplen: None,
        lang: protolab::chart::Lang::En,
        netns: None,
    };
    let err = run(&config, &|| false).expect_err("a port in use stops the run");
    assert_eq!(
        err.to_string(),
        format!(
            "port {port} on 127.0.0.1 is in use (another program, or a previous run's socket): \
             choose another with --port, or see who holds it with `ss -tanp 'sport = :{port}'`"
        )
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no half-made run left behind"
    );
}

/// Bug: `run time-wait` showed only the connection's log, never the re-bind
/// attempts the scenario exists for. Also `--port 0`: any free port.
#[test]
fn time_wait_run_notes_show_the_rebind_attempts() {
    if !common::require_root("live lab tests", "libpcap on lo, tracefs, sock_diag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = any_port(ScenarioName::TimeWait, "time-wait", dir.path());
    let outcome = run(&config, &|| false).unwrap();
    let text = protolab::lab::summary::render(&outcome);
    assert!(outcome.mismatches.is_empty(), "{text}");
    let run_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(outcome.report_dir.join("run.json")).unwrap(),
    )
    .unwrap();
    let port = run_json["port"].as_u64().unwrap();
    assert_ne!(port, 0, "the port the server bound, not 0");
    let server = format!("127.0.0.1:{port}");
    let without = format!("server: bind {server} without SO_REUSEADDR: EADDRINUSE");
    let with = format!("server: bind + listen {server} with SO_REUSEADDR: ok");
    // run.json keeps the notes the run printed, the server's among them.
    assert_eq!(run_json["notes"], serde_json::json!(outcome.notes));
    let notes = &outcome.notes;
    let at = |wanted: &str| notes.iter().position(|n| n.starts_with(wanted));
    assert!(
        at(&without) < at(&with) && at(&without).is_some(),
        "{notes:#?}"
    );
    // What `protolab run` prints shows them too.
    assert!(text.contains(&format!("note: {without}")), "{text}");
    assert!(text.contains(&format!("note: {with}")), "{text}");
}

/// Bug: `run udp-daytime` printed an empty "kernel states from …:" header and its
/// report an empty kernel section. Both now say that UDP has no connection state.
#[test]
fn udp_run_says_udp_has_no_connection_state() {
    if !common::require_root("live lab tests", "libpcap on lo, tracefs, sock_diag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = any_port(ScenarioName::UdpDaytime, "udp-daytime", dir.path());
    let outcome = run(&config, &|| false).unwrap();
    let text = protolab::lab::summary::render(&outcome);
    assert!(outcome.mismatches.is_empty(), "{text}");
    let sentence =
        "UDP has no connection state (no handshake, no close, no ESTABLISHED or TIME_WAIT)";
    assert!(text.contains(sentence), "{text}");
    assert!(
        !text.lines().any(|l| l
            .trim_end()
            .ends_with("kernel states from tracepoint+sock_diag:")),
        "a kernel header over nothing\n{text}"
    );
    // Having said the kernel has nothing to compare, it does not then "agree".
    assert!(
        text.contains("OK: the capture shows what the scenario teaches\n")
            && !text.contains("the kernel agrees"),
        "{text}"
    );
    let md = std::fs::read_to_string(outcome.report_dir.join("report.md")).unwrap();
    let kernel = md.find("## Kernel cross-check").expect(&md);
    let section = &md[kernel..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    assert!(section.contains(sentence), "{section}");
    let html = std::fs::read_to_string(outcome.report_dir.join("index.html")).unwrap();
    assert!(html.contains(sentence));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(outcome.report_dir.join("report.json")).unwrap(),
    )
    .unwrap();
    assert!(json["kernel_note"].as_str().unwrap().contains(sentence));
    // One client: "1 client address", not "1 client addresses".
    assert!(
        text.contains("from 1 client address; UDP has no connections"),
        "{text}"
    );
    // The rate in a unit that fits: not "0.9 Mbit/s" but "903 kbit/s".
    let flow = text
        .lines()
        .find(|l| l.contains("flow 1 udp"))
        .expect(&text);
    let (_, rate) = flow.rsplit_once(", ").expect(flow);
    let (number, unit) = rate.split_once(' ').expect(flow);
    assert!(unit.ends_with("bit/s"), "{flow}");
    assert!(number.parse::<f64>().unwrap() >= 1.0, "{flow}");
    // Datagrams, not segments.
    assert!(
        md.contains("datagrams with data") && !md.contains("segments with data"),
        "{md}"
    );
}

/// Bug: `run chat` ran one client by default, so no broadcast, private or offline
/// message happened although the scenario promises them, and "What to notice"
/// said nothing about the length-prefix framing the scenario is about. Through
/// the command line, without `--clients`.
#[test]
fn chat_run_by_default_shows_every_kind_of_message_and_the_framing() {
    if !common::require_root("live lab tests", "libpcap on lo, tracefs, sock_diag") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = common::protolab(&[
        "run",
        "chat",
        "--port",
        "0",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_dir = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("report.json").is_file())
        .expect("a run folder");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["tcp_connections"], 3, "{stdout}");
    let kinds: Vec<String> = report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| m["type"].as_str().unwrap().to_string())
        .collect();
    for kind in ["SmsMes", "PrivateMes", "OfflineMes"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    // The lab's clients speak the notes' form, so the server answers in it too.
    let forms: Vec<&serde_json::Value> = report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["messages"].as_array().unwrap().iter())
        .map(|m| &m["data_form"])
        .collect();
    assert!(
        forms.iter().all(|f| *f == "string"),
        "every message in the notes' form: {forms:?}"
    );
    let notices: Vec<&str> = report["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notices.iter().any(|n| n.contains(
            "every chat message is a 4-byte big-endian length, then that many bytes of JSON"
        )),
        "{notices:#?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("carries its data as a JSON string holding JSON")),
        "{notices:#?}"
    );
}

/// `protolab run NAME --port 0` into `out_dir`: the scenario's defaults on any free port.
fn any_port(scenario: ScenarioName, name: &str, out_dir: &std::path::Path) -> RunConfig {
    RunConfig {
        scenario,
        params: Params::default(),
        port: Some(0),
        out_dir: Some(out_dir.to_path_buf()),
        timeout: Duration::from_secs(30),
        command: format!("protolab run {name} --port 0"),
        snaplen: None,
        lang: protolab::chart::Lang::En,
        netns: None,
    }
}
