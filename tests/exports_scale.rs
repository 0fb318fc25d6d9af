//! docs/scale.md is run: its SQL, in order, in one DuckDB session, over the
//! Parquet of every committed capture (the capture folder stands for a class).
//!
//! Needs the `duckdb` Python package (`scripts/setup`): skipped without it,
//! unless `PROTOLAB_REQUIRE_PYTHON=1` or `CI` is set, where it fails.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn duckdb_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("PROTOLAB_REQUIRE_PYTHON").as_deref() == Ok("1")
        || std::env::var("CI").is_ok_and(|v| !v.is_empty())
    {
        panic!(
            "python3 with duckdb is required (CI / PROTOLAB_REQUIRE_PYTHON=1): run scripts/setup"
        );
    }
    eprintln!("SKIPPED: python3 with duckdb not installed; run scripts/setup");
    false
}

/// The doc's ```sql blocks, each named by its first line (`-- name`).
fn sql_blocks(doc: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sql") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                let name = lines
                    .first()
                    .and_then(|l| l.strip_prefix("-- "))
                    .unwrap_or_else(|| panic!("a sql block without a `-- name` line: {lines:?}"))
                    .to_string();
                blocks.push((name, lines.join("\n")));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

const RUN: &str = r#"
import duckdb, json, sys
con = duckdb.connect()
out = {}
for name, sql in json.load(sys.stdin):
    rel = con.sql(sql)
    out[name] = None if rel is None else [
        dict(zip(rel.columns, row)) for row in rel.fetchall()]
print(json.dumps(out, default=str))
"#;

#[test]
fn every_sql_example_in_docs_scale_md_runs_on_the_fixtures_parquet() {
    if !duckdb_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(["flows", "--format", "parquet", "-o"])
        .arg(dir.path().join("class.parquet"))
        .arg(root().join("captures"))
        .output()
        .unwrap();
    // captures/truncated_file.pcap is damaged on purpose: named, exit 1, the rest written.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let doc = std::fs::read_to_string(root().join("docs/scale.md")).unwrap();
    let blocks = sql_blocks(&doc);
    let names: Vec<&str> = blocks.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "the flows view",
            "handshake RTT per student",
            "never ESTABLISHED",
            "who has RST"
        ]
    );
    let mut child = Command::new("python3")
        .args(["-c", RUN])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&blocks).unwrap().as_bytes())
        .unwrap();
    let ran = child.wait_with_output().unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let results: BTreeMap<String, Value> = serde_json::from_slice(&ran.stdout).unwrap();
    let rows = |name: &str| -> Vec<Value> { results[name].as_array().unwrap().clone() };
    let by_student = |name: &str| -> BTreeMap<String, Value> {
        rows(name)
            .into_iter()
            .map(|r| (r["student"].as_str().unwrap().to_string(), r))
            .collect()
    };

    let rtt = by_student("handshake RTT per student");
    assert_eq!(rtt["handshake_data_client_close"]["median_ms"], 1.05);
    assert_eq!(rtt["kernel_abort_states"]["connections"], 5);
    assert!(
        rtt["refused"]["median_ms"].is_null(),
        "no handshake in a refused connect"
    );

    let never: Vec<(String, String)> = rows("never ESTABLISHED")
        .iter()
        .map(|r| {
            (
                r["student"].as_str().unwrap().to_string(),
                r["conn_state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("connect_timeout", "S0"),
        ("refused", "REJ"),
        ("syn_restart", "S0"),
    ]
    .map(|(s, c)| (s.to_string(), c.to_string()));
    assert_eq!(never, expected);

    let rst = by_student("who has RST");
    assert_eq!(
        rst.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "kernel_abort_states",
            "kernel_syn_received_abort",
            "refused",
            "rst_abort"
        ]
    );
    assert_eq!(rst["refused"]["reset_by_server"], 1);
    assert_eq!(rst["rst_abort"]["reset_by_client"], 1);
}
