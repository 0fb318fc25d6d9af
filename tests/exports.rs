//! The exports read by the readers people use on them: DuckDB reads the Parquet,
//! the `communityid` package recomputes every Community ID, a strict reader of
//! Zeek's TSV format parses the conn.log; and many captures at once, one of them
//! corrupt.
//!
//! The Python readers come from `scripts/setup`. Without them these tests skip,
//! unless `PROTOLAB_REQUIRE_PYTHON=1` or `CI` is set, where they fail.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every committed capture, as `captures/NAME` (relative to the crate root).
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .map(|n| format!("captures/{n}"))
        .collect();
    names.sort();
    names
}

fn protolab(args: &[&str]) -> Output {
    common::protolab(args)
}

/// `flows` over every fixture: truncated_file.pcap is damaged, so exit 1 (its whole
/// frames' flows are still written).
fn flows_of_all(extra: &[&str]) -> Output {
    let files = fixtures();
    let mut args: Vec<&str> = vec!["flows"];
    args.extend(extra);
    args.extend(files.iter().map(String::as_str));
    let out = protolab(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("captures/truncated_file.pcap is truncated")
    );
    out
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            // `first_ts` to the nanosecond, from its text (an f64 cannot hold it).
            if let Some(raw) = l.split("\"first_ts\":").nth(1) {
                let digits = raw.split(',').next().unwrap().replace('.', "");
                v["first_ts_ns"] = digits.parse::<u64>().unwrap().into();
            }
            v
        })
        .collect()
}

/// True when python3 can import `modules`; otherwise skips (prints why), or fails
/// where a skip would hide a failure (CI).
fn python_has(modules: &[&str]) -> bool {
    let script = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let ok = Command::new("python3")
        .args(["-c", &script])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    let required = std::env::var("PROTOLAB_REQUIRE_PYTHON").as_deref() == Ok("1")
        || std::env::var("CI").is_ok_and(|v| !v.is_empty());
    if required {
        panic!("python3 with {modules:?} is required (CI / PROTOLAB_REQUIRE_PYTHON=1): run scripts/setup");
    }
    eprintln!("SKIPPED: python3 with {modules:?} not installed; run scripts/setup");
    false
}

/// Runs a Python script with `args`, from the crate root; returns its stdout.
fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(root())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python failed:\n{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What both the Parquet and the JSON say of a flow, keyed by (capture, flow).
type Facts = BTreeMap<(String, u64), Value>;

fn facts_of_json(records: &[Value]) -> Facts {
    records
        .iter()
        .map(|r| {
            let key = (
                r["capture"].as_str().unwrap().to_string(),
                r["flow"].as_u64().unwrap(),
            );
            let fact = serde_json::json!({
                "conn_state": r["conn_state"],
                "history": r["history"],
                "client_states": r.get("client_states").cloned().unwrap_or(Value::Null),
                "server_states": r.get("server_states").cloned().unwrap_or(Value::Null),
                "community_id": r["community_id"],
                "client_port": r["client"].as_str().unwrap().rsplit(':').next().unwrap().parse::<u64>().unwrap(),
                "first_ts_ns": r["first_ts_ns"],
            });
            (key, fact)
        })
        .collect()
}

// ---- Parquet, read by DuckDB -------------------------------------------------

#[test]
fn duckdb_reads_the_parquet_of_every_fixture_and_it_says_what_flows_json_says() {
    if !python_has(&["duckdb"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("flows.parquet");
    flows_of_all(&["--format", "parquet", "-o", parquet.to_str().unwrap()]);
    let json = json_lines(&flows_of_all(&["--json"]).stdout);
    assert!(json.len() > 30, "{} flows", json.len());

    let rows = python(
        r#"
import duckdb, json, sys
duckdb.sql("set TimeZone = 'UTC'")
rows = duckdb.sql(f"""
    select capture, flow, conn_state, history, client_states, server_states,
           community_id, client_port,
           epoch_ns(first_ts::timestamp_ns) as first_ts_ns
    from read_parquet('{sys.argv[1]}')""").fetchall()
for r in rows:
    print(json.dumps(list(r)))
"#,
        &[parquet.to_str().unwrap()],
    );
    let from_duckdb: Facts = rows
        .lines()
        .map(|l| {
            let r: Vec<Value> = serde_json::from_str(l).unwrap();
            let key = (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap());
            let fact = serde_json::json!({
                "conn_state": r[2], "history": r[3],
                "client_states": r[4], "server_states": r[5],
                "community_id": r[6], "client_port": r[7], "first_ts_ns": r[8],
            });
            (key, fact)
        })
        .collect();
    assert_eq!(rows.lines().count(), json.len(), "row count");
    let expected = facts_of_json(&json);
    for (key, fact) in &expected {
        assert_eq!(from_duckdb.get(key), Some(fact), "{key:?}");
    }
    assert_eq!(from_duckdb.len(), expected.len());
}

#[test]
fn the_parquet_columns_have_the_documented_types() {
    if !python_has(&["pyarrow"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.parquet");
    let frames = dir.path().join("frames.parquet");
    let out = protolab(&[
        "flows",
        "--format",
        "parquet",
        "-o",
        flows.to_str().unwrap(),
        "captures/ipv6.pcap",
        "captures/udp_exchange.pcap",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = protolab(&[
        "inspect",
        "--format",
        "parquet",
        "-o",
        frames.to_str().unwrap(),
        "captures/fast_retransmit.pcap",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let types = python(
        r#"
import pyarrow.parquet as pq, sys
for path in sys.argv[1:]:
    t = pq.read_table(path)
    print(t.num_rows)
    for f in t.schema:
        print(f.name, f.type)
"#,
        &[flows.to_str().unwrap(), frames.to_str().unwrap()],
    );
    for want in [
        "first_ts timestamp[ns, tz=UTC]",
        "client_addr string",
        "client_port uint16",
        "server_port uint16",
        "client_states list<item: string>",
        "rtt_handshake_ms double",
        "retransmissions uint64",
        "packets_client uint64",
        "ts timestamp[ns, tz=UTC]",
        "tcp_flags list<item: string>",
        "analysis list<item: string>",
        "seq uint32",
        "bytes_in_flight uint32",
    ] {
        assert!(types.lines().any(|l| l == want), "{want} not in\n{types}");
    }
    let inspect = protolab(&["inspect", "--json", "captures/fast_retransmit.pcap"]);
    let frames_json = String::from_utf8_lossy(&inspect.stdout).lines().count();
    assert!(
        types.lines().any(|l| l == frames_json.to_string()),
        "{frames_json} frame rows expected in\n{types}"
    );
    // bytes in flight: frame by frame what inspect --json says.
    let want: Vec<String> = String::from_utf8_lossy(&inspect.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            match v["bytes_in_flight"].as_u64() {
                Some(n) => n.to_string(),
                None => "None".into(),
            }
        })
        .collect();
    assert!(
        want.iter().any(|w| w != "None"),
        "no bytes_in_flight at all"
    );
    let got = python(
        r#"
import pyarrow.parquet as pq, sys
for v in pq.read_table(sys.argv[1]).column("bytes_in_flight").to_pylist():
    print(v)
"#,
        &[frames.to_str().unwrap()],
    );
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
}

// ---- Community ID, against the reference implementation -----------------------

const COMMUNITY_ID: &str = r#"
import communityid, json, sys
cid = communityid.CommunityID()
for line in sys.stdin:
    proto, src, dst, sport, dport = json.loads(line)
    print(cid.calc(communityid.FlowTuple(proto, src, dst, sport, dport)))
"#;

/// The reference's Community IDs of `tuples` (proto, src, dst, sport, dport).
fn reference_ids(tuples: &[(u8, String, String, u16, u16)]) -> Vec<String> {
    let input: String = tuples
        .iter()
        .map(|t| serde_json::to_string(t).unwrap() + "\n")
        .collect();
    let mut child = Command::new("python3")
        .args(["-c", COMMUNITY_ID])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn community_ids_equal_the_reference_implementation_for_every_fixture_flow() {
    if !python_has(&["communityid"]) {
        return;
    }
    let json = json_lines(&flows_of_all(&["--json"]).stdout);
    let tuples: Vec<(u8, String, String, u16, u16)> = json
        .iter()
        .map(|r| {
            let client: std::net::SocketAddr = r["client"].as_str().unwrap().parse().unwrap();
            let server: std::net::SocketAddr = r["server"].as_str().unwrap().parse().unwrap();
            let proto = if r["proto"] == "udp" { 17 } else { 6 };
            (
                proto,
                client.ip().to_string(),
                server.ip().to_string(),
                client.port(),
                server.port(),
            )
        })
        .collect();
    assert!(
        tuples.iter().any(|t| t.1.contains(':')),
        "an IPv6 flow among the fixtures"
    );
    assert!(
        tuples.iter().any(|t| t.0 == 17),
        "a UDP flow among the fixtures"
    );
    let reference = reference_ids(&tuples);
    let ours: Vec<&str> = json
        .iter()
        .map(|r| r["community_id"].as_str().unwrap())
        .collect();
    assert_eq!(ours, reference);
}

/// `flows` has TCP and UDP flows only; ICMP's type/code mapping is checked on the
/// library function with the reference, both address families, both directions.
#[test]
fn icmp_and_icmpv6_community_ids_equal_the_reference_implementation() {
    if !python_has(&["communityid"]) {
        return;
    }
    use protolab::export::community_id::community_id;
    let mut tuples = Vec::new();
    let v4 = ("192.168.0.89", "192.168.0.1");
    let v6 = ("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea");
    // Requests, replies, one-way messages (unreachable, time exceeded, redirect).
    for (t, c) in [
        (8, 0),
        (0, 0),
        (3, 1),
        (11, 0),
        (13, 0),
        (14, 0),
        (10, 0),
        (9, 0),
        (17, 0),
        (18, 0),
        (5, 1),
    ] {
        for (a, b) in [v4, (v4.1, v4.0)] {
            tuples.push((1u8, a.to_string(), b.to_string(), t, c));
        }
    }
    for (t, c) in [
        (128, 0),
        (129, 0),
        (1, 4),
        (3, 0),
        (133, 0),
        (134, 0),
        (135, 0),
        (136, 0),
        (143, 0),
        (130, 0),
        (131, 0),
        (139, 0),
        (145, 0),
    ] {
        for (a, b) in [v6, (v6.1, v6.0)] {
            tuples.push((58u8, a.to_string(), b.to_string(), t, c));
        }
    }
    // TCP and UDP over equal addresses (ports decide the order).
    tuples.push((6, "10.0.0.1".into(), "10.0.0.1".into(), 5000, 80));
    tuples.push((17, "::1".into(), "::1".into(), 53, 40000));
    let reference = reference_ids(&tuples);
    let ours: Vec<String> = tuples
        .iter()
        .map(|(p, a, b, s, d)| community_id(0, *p, a.parse().unwrap(), b.parse().unwrap(), *s, *d))
        .collect();
    for ((t, ours), theirs) in tuples.iter().zip(&ours).zip(&reference) {
        assert_eq!(ours, theirs, "{t:?}");
    }
    assert_eq!(ours.len(), reference.len());
}

// ---- Zeek conn.log, read by a strict reader of the format ----------------------

/// A conn.log as a strict reader sees it: the header checked line by line, every
/// value checked against its column's type. Returns the rows as name → value, with
/// `None` for unset.
fn read_zeek_tsv(text: &str) -> Vec<BTreeMap<String, Option<String>>> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#separator \\x09", "separator line");
    let sep = '\t';
    let header = |i: usize, key: &str| -> &str {
        let line = lines[i];
        let (k, v) = line
            .split_once(sep)
            .unwrap_or_else(|| panic!("header line {i}: {line:?}"));
        assert_eq!(k, format!("#{key}"), "header line {i}");
        v
    };
    assert_eq!(header(1, "set_separator"), ",");
    assert_eq!(header(2, "empty_field"), "(empty)");
    assert_eq!(header(3, "unset_field"), "-");
    assert_eq!(header(4, "path"), "conn");
    let stamp = |s: &str| {
        let parts: Vec<&str> = s.split('-').collect();
        assert_eq!(parts.len(), 6, "{s}");
        assert!(
            parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())),
            "{s}"
        );
    };
    stamp(header(5, "open"));
    let fields: Vec<&str> = header(6, "fields").split(sep).collect();
    let types: Vec<&str> = header(7, "types").split(sep).collect();
    assert_eq!(fields.len(), types.len());
    let last = lines.last().unwrap();
    stamp(
        last.strip_prefix("#close\t")
            .unwrap_or_else(|| panic!("last line {last:?}")),
    );
    let mut rows = Vec::new();
    for line in &lines[8..lines.len() - 1] {
        assert!(!line.starts_with('#'), "a comment among the rows: {line}");
        let values: Vec<&str> = line.split(sep).collect();
        assert_eq!(values.len(), fields.len(), "{line}");
        let mut row = BTreeMap::new();
        for ((name, ty), v) in fields.iter().zip(&types).zip(values) {
            let value = if v == "-" {
                None
            } else {
                check_value(ty, v).unwrap_or_else(|e| panic!("{name} ({ty}) = {v:?}: {e}"));
                Some(v.to_string())
            };
            row.insert(name.to_string(), value);
        }
        rows.push(row);
    }
    rows
}

fn check_value(ty: &str, v: &str) -> Result<(), String> {
    let decimal6 = |v: &str| {
        let (s, frac) = v.split_once('.').ok_or("no decimal point")?;
        s.parse::<u64>().map_err(|e| e.to_string())?;
        if frac.len() != 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err("not 6 decimals".to_string());
        }
        Ok(())
    };
    if v.is_empty() {
        return Err("an empty value must be written (empty)".into());
    }
    match ty {
        "time" | "interval" => decimal6(v),
        "addr" => v
            .parse::<std::net::IpAddr>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        "port" => v.parse::<u16>().map(|_| ()).map_err(|e| e.to_string()),
        "count" => v.parse::<u64>().map(|_| ()).map_err(|e| e.to_string()),
        "bool" => (v == "T" || v == "F").then_some(()).ok_or("not T/F".into()),
        "enum" | "string" => {
            if v == "(empty)" {
                return Err("(empty) in a string column must be escaped".into());
            }
            if v.chars().any(|c| c.is_control()) {
                return Err("unescaped control character".into());
            }
            Ok(())
        }
        t if t.starts_with("set[") || t.starts_with("vector[") => {
            if v == "(empty)" {
                return Ok(());
            }
            if v.split(',').any(|e| e.is_empty() || e == "-") {
                return Err("empty or unset element".into());
            }
            Ok(())
        }
        t => Err(format!("unknown type {t}")),
    }
}

#[test]
fn zeek_tsv_parses_strictly_and_its_codes_equal_flows_json() {
    let tsv = String::from_utf8(flows_of_all(&["--format", "zeek"]).stdout).unwrap();
    let rows = read_zeek_tsv(&tsv);
    let json = json_lines(&flows_of_all(&["--json"]).stdout);
    assert_eq!(rows.len(), json.len());
    let expected_fields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents community_id orig_states resp_states";
    let fields_line = tsv.lines().nth(6).unwrap().replace('\t', " ");
    assert_eq!(fields_line, format!("#fields {expected_fields}"));
    let mut uids = std::collections::HashSet::new();
    for (row, r) in rows.iter().zip(&json) {
        let get = |k: &str| row[k].clone();
        assert_eq!(get("conn_state").as_deref(), r["conn_state"].as_str());
        let history = r["history"].as_str().unwrap();
        assert_eq!(
            get("history"),
            (!history.is_empty()).then(|| history.to_string())
        );
        assert_eq!(get("community_id").as_deref(), r["community_id"].as_str());
        assert_eq!(get("proto").as_deref(), r["proto"].as_str());
        let states = |k: &str| {
            r.get(k).map(|v| {
                let v: Vec<&str> = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                v.join(",")
            })
        };
        assert_eq!(get("orig_states"), states("client_states"));
        assert_eq!(get("resp_states"), states("server_states"));
        assert_eq!(
            get("orig_pkts").unwrap(),
            r["packets"]["client"].to_string()
        );
        assert!(uids.insert(get("uid").unwrap()), "uids are distinct");
    }
    // A uid is the same on every run for the same capture.
    let again = String::from_utf8(flows_of_all(&["--format", "zeek"]).stdout).unwrap();
    let uid_of = |rows: &[BTreeMap<String, Option<String>>]| -> Vec<Option<String>> {
        rows.iter().map(|r| r["uid"].clone()).collect()
    };
    assert_eq!(uid_of(&read_zeek_tsv(&again)), uid_of(&rows));
}

#[test]
fn zeek_json_has_zeeks_names_and_epoch_timestamps() {
    let zj = json_lines(&flows_of_all(&["--format", "zeek-json"]).stdout);
    let json = json_lines(&flows_of_all(&["--json"]).stdout);
    assert_eq!(zj.len(), json.len());
    for (z, r) in zj.iter().zip(&json) {
        assert!(z["ts"].is_f64(), "{z}");
        let ts = z["ts"].as_f64().unwrap();
        assert!((ts - r["first_ts"].as_f64().unwrap()).abs() < 1e-6, "{z}");
        let client: std::net::SocketAddr = r["client"].as_str().unwrap().parse().unwrap();
        assert_eq!(z["id.orig_h"], client.ip().to_string());
        assert_eq!(z["id.orig_p"], client.port());
        assert_eq!(z["conn_state"], r["conn_state"]);
        assert!(z.get("service").is_none(), "unset fields are left out: {z}");
    }
}

// ---- Many captures at once ------------------------------------------------------

#[test]
fn a_directory_with_a_corrupt_capture_writes_the_good_ones_names_the_bad_one_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    std::fs::create_dir_all(class.join("late")).unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(root().join("captures").join(from), class.join(to)).unwrap();
    };
    copy("handshake_data_client_close.pcap", "alice.pcap");
    copy("ipv6.pcap", "late/carol.pcap");
    copy("udp_exchange.pcap", "dave.pcapng.pcap");
    std::fs::write(class.join("bob.pcap"), b"this is not a capture at all").unwrap();
    std::fs::write(class.join("notes.txt"), b"ignored").unwrap();
    let class_arg = class.to_str().unwrap();
    for jobs in ["1", "2"] {
        let out = protolab(&["flows", "--json", "--jobs", jobs, class_arg]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "{class_arg}/bob.pcap is not a pcap or pcapng file"
            )),
            "{err}"
        );
        assert!(err.contains("1 of 4 captures could not be read"), "{err}");
        let captures: Vec<String> = json_lines(&out.stdout)
            .iter()
            .map(|r| r["capture"].as_str().unwrap().to_string())
            .collect();
        // Path order: alice, bob (nothing), dave, late/carol.
        let expected: Vec<String> = ["alice.pcap", "dave.pcapng.pcap", "late/carol.pcap"]
            .iter()
            .map(|n| format!("{class_arg}/{n}"))
            .collect();
        assert_eq!(captures, expected, "jobs {jobs}");
    }
    // The same in every format that writes to a file.
    let parquet = dir.path().join("class.parquet");
    let out = protolab(&[
        "flows",
        "--format",
        "parquet",
        "-o",
        parquet.to_str().unwrap(),
        class_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::metadata(&parquet).unwrap().len() > 0);
}

#[test]
fn many_captures_come_out_in_input_order_whatever_the_workers() {
    let files = fixtures();
    let run = |jobs: &str| {
        let mut args = vec!["flows", "--json", "--jobs", jobs];
        args.extend(files.iter().map(String::as_str));
        protolab(&args).stdout
    };
    let one = run("1");
    assert_eq!(run("3"), one);
    assert_eq!(run("8"), one);
    // Each capture's records as `flows FILE` alone writes them, one after the other.
    let mut alone = Vec::new();
    for f in &files {
        alone.extend(protolab(&["flows", "--json", f]).stdout);
    }
    assert_eq!(
        String::from_utf8(one).unwrap(),
        String::from_utf8(alone).unwrap()
    );
}

#[test]
fn parquet_needs_a_file_and_says_so() {
    for cmd in ["flows", "inspect"] {
        let out = protolab(&[cmd, "--format", "parquet", "captures/ipv6.pcap"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("-o FILE.parquet"));
    }
}

#[test]
fn several_captures_in_text_are_headed_by_their_names_and_an_empty_folder_is_said() {
    let out = protolab(&["flows", "captures/refused.pcap", "captures/arp.pcap"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(heads, ["# captures/refused.pcap", "# captures/arp.pcap"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("captures/arp.pcap: no TCP or UDP flows"));

    let empty = tempfile::tempdir().unwrap();
    let out = protolab(&["flows", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no .pcap or .pcapng files"));
}

/// `protolab flows --json class/ | head`: the reader going away is no failure.
#[test]
fn a_closed_pipe_ends_many_captures_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args([
            "flows", "--json", "captures", "captures", "captures", "captures",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before reading anything: far more than a pipe's buffer is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}
