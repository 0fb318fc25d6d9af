//! The layering rule of `src/lib.rs`, checked: the pure core imports no I/O edge
//! and touches no file, socket, pcap handle, clock, environment or clap.
//!
//! Every `.rs` file under the core's modules is read and each code line (comments
//! are skipped: they may name an edge to say where the I/O went) is searched for
//! the forbidden paths below. A hit fails the test with the file, line and why.

use std::path::{Path, PathBuf};

/// The pure core: directories and single files under `src/`.
const CORE: [&str; 9] = [
    "decode",
    "analyze",
    "dissect",
    "chart",
    "report",
    "output",
    "frame",
    "model",
    "timestamp.rs",
];

/// What the core may not name, and why.
const FORBIDDEN: [(&str, &str); 22] = [
    (
        "crate::capture",
        "capture is the I/O edge (pcap files, libpcap)",
    ),
    (
        "crate::replay",
        "the replay loop reads sources; the core gets its values",
    ),
    (
        "crate::files",
        "files reads and writes; the core gets and returns values",
    ),
    (
        "crate::lab",
        "lab runs experiments (namespaces, tracefs, netlink)",
    ),
    ("crate::scenario", "scenarios open sockets"),
    (
        "crate::cli",
        "the CLI turns arguments into values for the core",
    ),
    (
        "crate::chat::server",
        "the chat server is a network program",
    ),
    (
        "crate::chat::client",
        "the chat client is a network program",
    ),
    ("crate::chat::store", "the chat store is a database"),
    (
        "crate::{",
        "name each module path in full, so this check can see it",
    ),
    ("clap", "command-line parsing belongs to cli"),
    ("std::fs", "no files in the core"),
    ("fs::", "no files in the core"),
    (
        "std::{",
        "name each std path in full, so this check can see it",
    ),
    ("std::net::TcpStream", "no sockets in the core"),
    ("std::net::UdpSocket", "no sockets in the core"),
    ("std::net::TcpListener", "no sockets in the core"),
    ("pcap::", "no pcap handles in the core"),
    (
        "Instant::now",
        "no clocks: time comes from packet timestamps",
    ),
    ("SystemTime", "no clocks: time comes from packet timestamps"),
    ("std::env", "no environment reads in the core"),
    ("tokio", "no async I/O in the core"),
];

/// Lines allowed despite a forbidden word: (file under src/, text on the line, why).
const ALLOWED: [(&str, &str, &str); 0] = [];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() || p.extension().is_some_and(|x| x == "rs") {
            rust_files(&p, out);
        }
    }
}

/// Every forbidden use in `text` (the source of `name`), one message each.
fn violations(name: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (word, why) in FORBIDDEN {
            let allowed = ALLOWED
                .iter()
                .any(|(file, on_line, _)| *file == name && line.contains(on_line));
            if line.contains(word) && !allowed {
                found.push(format!("src/{name}:{}: `{word}`: {why}\n    {code}", n + 1));
            }
        }
    }
    found
}

#[test]
fn the_pure_core_imports_no_edge_and_does_no_io() {
    let root = src();
    let mut files = Vec::new();
    for module in CORE {
        let path = root.join(module);
        assert!(path.exists(), "{} is gone: update CORE", path.display());
        rust_files(&path, &mut files);
    }
    assert!(files.len() > 40, "only {} files found", files.len());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        let name = file
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy();
        found.extend(violations(&name, &text));
    }
    assert!(
        found.is_empty(),
        "the pure core breaks the layering rule of src/lib.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_forbidden_import() {
    let text =
        "//! Pure.\n// crate::capture in a comment is fine\nuse crate::capture::FileReader;\n";
    let found = violations("chart/x.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/chart/x.rs:3: `crate::capture`"));
    assert_eq!(
        violations("x.rs", "let t = std::time::Instant::now();").len(),
        1
    );
    assert_eq!(violations("x.rs", "#[derive(clap::ValueEnum)]").len(), 1);
}
